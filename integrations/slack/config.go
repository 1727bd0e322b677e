package slack

import (
	"net/url"
	"strings"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/integrations/render"
)

// DefaultAPIURL is Slack's Web API base.
const DefaultAPIURL = "https://slack.com/api/"

// Config is the settings of a "slack" integration. Give either Token and
// Channel, or WebhookURL.
type Config struct {
	// Token is a bot token (xoxb-...), sent only in the Authorization
	// header. Secret.
	Token string `yaml:"token"`
	// Channel is a channel ID (C0123...) or #name to post to with Token.
	Channel string `yaml:"channel"`
	// APIURL is the Web API base, for proxies and tests. Default
	// https://slack.com/api/.
	APIURL string `yaml:"api_url" default:"https://slack.com/api/"`
	// WebhookURL is an incoming webhook; messages cannot be updated or
	// threaded in this mode. Secret.
	WebhookURL string `yaml:"webhook_url"`
	// InsecureSkipVerify accepts any TLS certificate. Tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	render.Overrides `yaml:",inline"`
}

// validate checks c, reporting each mistake at its key in node.
func (c *Config) validate(node config.Node) error {
	var errs config.Errors
	switch {
	case c.Token == "" && c.WebhookURL == "":
		errs = append(errs, node.Errorf("", "slack needs token and channel, or webhook_url"))
	case c.Token != "" && c.WebhookURL != "":
		errs = append(errs, node.Errorf("webhook_url", "give token or webhook_url, not both"))
	case c.Token != "" && c.Channel == "":
		errs = append(errs, node.Errorf("channel", "channel is required with token"))
	}
	if c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") ||
			u.Host == "" {
			// The URL itself is a secret: do not echo it.
			errs = append(errs, node.Errorf("webhook_url", "want an http(s) URL"))
		}
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, node.Errorf("api_url", "want an http(s) URL, got %q", config.RedactURL(c.APIURL)))
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
