package github

import (
	"net/url"
	"strings"

	"github.com/tend-dev/tend/config"
)

// Config is the settings of a github integration.
type Config struct {
	// Token is a personal access token or an installation token with
	// issues and commit statuses write access. Required.
	Token string `yaml:"token"`
	// URL is a GitHub Enterprise Server base URL, e.g.
	// https://github.example.com (/api/v3/ is added). Empty means github.com.
	URL string `yaml:"url"`
	// Repo is "owner/name" of the repository alert issues are filed in.
	// Required when alerts are routed here.
	Repo string `yaml:"repo"`
	// Labels are added to every alert issue, besides tend-<fingerprint>.
	Labels []string `yaml:"labels"`
	// Assignees are logins assigned to new alert issues.
	Assignees []string `yaml:"assignees"`
	// ReopenWithin is how long after an issue was closed a new firing
	// reopens it instead of filing a new one. 0 never reopens. Default 24h.
	ReopenWithin config.Duration `yaml:"reopen_within" default:"24h"`
	// RunRepos lists further "owner/name" repositories whose optimization
	// triggers may be answered; Repo is always allowed. A trigger naming
	// any other repository is refused, so a forged trigger cannot make tend
	// write where it was not asked to.
	RunRepos []string `yaml:"run_repos"`
	// StatusContext names the commit status of optimization runs. Default
	// tend/optimize.
	StatusContext string `yaml:"status_context" default:"tend/optimize"`
	// TargetURL is linked from commit statuses, e.g. the dashboard.
	TargetURL string `yaml:"target_url"`
	// InsecureSkipVerify accepts any TLS certificate. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

func parseConfig(node config.Node) (Config, error) {
	var c Config
	if err := node.Decode(&c); err != nil {
		return c, err
	}
	if c.Token == "" {
		return c, node.Errorf("token", "required: a token with issues and statuses write access")
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, node.Errorf("url", "want the http or https base URL of GitHub Enterprise")
		}
		if u.User != nil {
			return c, node.Errorf("url", "credentials go in token, not the URL")
		}
	}
	if c.Repo != "" && !validRepo(c.Repo) {
		return c, node.Errorf("repo", "want owner/name, got %q", c.Repo)
	}
	for _, r := range c.RunRepos {
		if !validRepo(r) {
			return c, node.Errorf("run_repos", "want owner/name, got %q", r)
		}
	}
	if c.Repo == "" && len(c.RunRepos) == 0 {
		return c, node.Errorf("repo", "required: owner/name for alert issues (or give run_repos)")
	}
	return c, nil
}

func validRepo(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.ContainsAny(name, "/ ") &&
		!strings.ContainsAny(owner, " ")
}
