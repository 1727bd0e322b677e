package jira

import (
	"net/url"
	"strings"

	"github.com/tend-dev/tend/config"
)

// Config is the settings of a jira integration.
type Config struct {
	// URL is the JIRA base URL, e.g. https://example.atlassian.net. Required.
	URL string `yaml:"url"`
	// Email and APIToken authenticate to JIRA Cloud with basic auth.
	Email    string `yaml:"email"`
	APIToken string `yaml:"api_token"`
	// Token is a personal access token for JIRA Server/Data Center, sent as
	// a bearer token. Give either Token or Email and APIToken.
	Token string `yaml:"token"`

	// Project is the key of the project issues are filed in. Required.
	Project string `yaml:"project"`
	// IssueType names the type of new issues. Default Task.
	IssueType string `yaml:"issue_type" default:"Task"`
	// Priorities maps an alert severity to a priority name; an empty name
	// leaves the project's default. Entries add to and override the
	// defaults: critical Highest, error High, warning Medium, info Low.
	Priorities map[string]string `yaml:"priorities"`
	// Labels are added to every new issue, besides tend's own
	// tend-<fingerprint> label.
	Labels []string `yaml:"labels"`
	// Components are names of project components set on new issues.
	Components []string `yaml:"components"`
	// CustomFields are set on new issues as given, keyed by field id
	// (customfield_10010).
	CustomFields map[string]any `yaml:"custom_fields"`

	// ReopenWithin is how long after an issue was resolved a new firing
	// reopens it instead of filing a new one. 0 never reopens. Default 24h.
	ReopenWithin config.Duration `yaml:"reopen_within" default:"24h"`
	// ReopenTransition names the transition that reopens an issue. Default:
	// the first of "Reopen" and "To Do" the issue offers.
	ReopenTransition string `yaml:"reopen_transition"`
	// DoneTransition names the transition that closes a resolved issue.
	// Default Done.
	DoneTransition string `yaml:"done_transition" default:"Done"`

	// InsecureSkipVerify accepts any TLS certificate. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

var defaultPriorities = map[string]string{
	"critical": "Highest",
	"error":    "High",
	"warning":  "Medium",
	"info":     "Low",
}

// parseConfig decodes and checks the settings without any network I/O.
func parseConfig(node config.Node) (Config, error) {
	var c Config
	if err := node.Decode(&c); err != nil {
		return c, err
	}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return c, node.Errorf("url", "required: the JIRA base URL")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return c, node.Errorf("url", "want an http or https URL")
	case u.User != nil:
		return c, node.Errorf("url", "credentials go in email and api_token or token, not the URL")
	case c.Token != "" && (c.Email != "" || c.APIToken != ""):
		return c, node.Errorf("token", "give either token (Server/DC) or email and api_token (Cloud), not both")
	case c.Token == "" && (c.Email == "" || c.APIToken == ""):
		return c, node.Errorf("api_token", "required with email (Cloud), or give token (Server/DC)")
	case strings.TrimSpace(c.Project) == "":
		return c, node.Errorf("project", "required: the project key issues are filed in")
	case strings.TrimSpace(c.DoneTransition) == "":
		return c, node.Errorf("done_transition", "must not be empty")
	}
	for k := range c.CustomFields {
		if !strings.HasPrefix(k, "customfield_") {
			return c, node.Errorf("custom_fields", "%q: keys are field ids such as customfield_10010", k)
		}
	}
	for _, l := range c.Labels {
		if l == "" || strings.ContainsAny(l, " \t\r\n") {
			return c, node.Errorf("labels", "%q: a JIRA label has no spaces", l)
		}
	}
	prio := make(map[string]string, len(defaultPriorities)+len(c.Priorities))
	for k, v := range defaultPriorities {
		prio[k] = v
	}
	for k, v := range c.Priorities {
		prio[strings.ToLower(k)] = v
	}
	c.Priorities = prio
	return c, nil
}
