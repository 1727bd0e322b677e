package confluence

import (
	"net/url"
	"strings"

	"github.com/tend-dev/tend/config"
)

// API versions.
const (
	APIAuto = "auto"
	APIv1   = "v1"
	APIv2   = "v2"
)

// Page groupings for runs and alerts.
const (
	PerIncident = "incident"
	PerDay      = "day"
)

// Config is the settings of a confluence integration.
type Config struct {
	// URL is the Confluence base URL, with its context path, e.g.
	// https://example.atlassian.net/wiki. Required.
	URL string `yaml:"url"`
	// Email and APIToken authenticate to Confluence Cloud with basic auth.
	Email    string `yaml:"email"`
	APIToken string `yaml:"api_token"`
	// Token is a personal access token for Server/Data Center, sent as a
	// bearer token. Give either Token or Email and APIToken.
	Token string `yaml:"token"`

	// Space is the key of the space pages go in. Required.
	Space string `yaml:"space"`
	// Parent is the id of the page new pages are created under. Default:
	// the space's top level.
	Parent string `yaml:"parent"`
	// PagePer groups run reports, and alerts if enabled: "incident" (one
	// page per fingerprint; runs without one go to the day's page) or
	// "day". Default incident.
	PagePer string `yaml:"page_per" default:"incident"`
	// Alerts also writes alert state changes to the pages. Default false.
	Alerts bool `yaml:"alerts"`
	// TitlePrefix starts the title of every page tend makes. Default tend.
	TitlePrefix string `yaml:"title_prefix" default:"tend"`
	// API picks the REST API: "v1" (/rest/api/content, Server/Data Center
	// and older Cloud sites), "v2" (/api/v2/pages, Confluence Cloud) or
	// "auto", which starts with v1 and moves to v2 for good when v1 answers
	// 410 Gone. Default auto.
	API string `yaml:"api" default:"auto"`
	// InsecureSkipVerify accepts any TLS certificate. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

func parseConfig(node config.Node) (Config, error) {
	var c Config
	if err := node.Decode(&c); err != nil {
		return c, err
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return c, node.Errorf("url", "required: the Confluence base URL, e.g. https://example.atlassian.net/wiki")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return c, node.Errorf("url", "want an http or https URL")
	case u.User != nil:
		return c, node.Errorf("url", "credentials go in email and api_token or token, not the URL")
	case c.Token != "" && (c.Email != "" || c.APIToken != ""):
		return c, node.Errorf("token", "give either token (Server/DC) or email and api_token (Cloud), not both")
	case c.Token == "" && (c.Email == "" || c.APIToken == ""):
		return c, node.Errorf("api_token", "required with email (Cloud), or give token (Server/DC)")
	case strings.TrimSpace(c.Space) == "":
		return c, node.Errorf("space", "required: the key of the space pages go in")
	case c.PagePer != PerIncident && c.PagePer != PerDay:
		return c, node.Errorf("page_per", "want incident or day, got %q", c.PagePer)
	case c.API != APIAuto && c.API != APIv1 && c.API != APIv2:
		return c, node.Errorf("api", "want auto, v1 or v2, got %q", c.API)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	return c, nil
}
