package teams

import (
	"net/url"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/integrations/render"
)

// Formats a card may take.
const (
	FormatAdaptive    = "adaptive"
	FormatMessageCard = "messagecard"
)

// Config is the settings of a "teams" integration.
type Config struct {
	// WebhookURL is the Workflows (or legacy connector) webhook. Secret.
	WebhookURL string `yaml:"webhook_url"`
	// Format is adaptive (a Workflows webhook, the default) or messagecard
	// (a legacy Office 365 connector).
	Format string `yaml:"format" default:"adaptive"`
	// MaxBytes bounds the JSON posted, in bytes. Default 27648, under the
	// ~28 KB Teams accepts.
	MaxBytes int `yaml:"max_bytes" default:"27648"`
	// InsecureSkipVerify accepts any TLS certificate. Tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	render.Overrides `yaml:",inline"`
}

func (c *Config) validate(node config.Node) error {
	var errs config.Errors
	if u, err := url.Parse(c.WebhookURL); c.WebhookURL == "" || err != nil ||
		(u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// The URL is a secret: do not echo it.
		errs = append(errs, node.Errorf("webhook_url", "teams needs webhook_url, an http(s) URL"))
	}
	if c.Format != FormatAdaptive && c.Format != FormatMessageCard {
		errs = append(errs, node.Errorf("format", "unknown format %q: use adaptive or messagecard", c.Format))
	}
	if c.MaxBytes < 2048 {
		errs = append(errs, node.Errorf("max_bytes", "must be at least 2048"))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
