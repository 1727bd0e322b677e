package inbound

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tend-dev/tend/config"
)

// Defaults of [Settings].
const (
	DefaultMaxBody        = 1 << 20
	DefaultPublishTimeout = 800 * time.Millisecond
	// maxBodyCeiling keeps a typo such as 1GiB from letting one request
	// hold a gigabyte of memory.
	maxBodyCeiling = 64 << 20
)

// Settings is the `inbound:` section of the configuration. A part left out
// is switched off: its endpoint is not mounted.
//
//	inbound:
//	  max_body: 1MiB
//	  github: {secret: ${GH_SECRET}, branches: [main]}
//	  slack: {signing_secret: ${SLACK_SIGNING_SECRET}}
//	  alerts:
//	    - {name: am, token: ${AM_TOKEN}}
type Settings struct {
	// MaxBody caps a request body; a larger one is answered 413. Bytes, or
	// a number with KiB, MiB, KB or MB. Default 1MiB, at most 64MiB.
	MaxBody Size `yaml:"max_body" default:"1MiB"`
	// PublishTimeout bounds storing one request's events on the bus; past
	// it the sender gets 503 and tries again. Default 800ms, so GitHub and
	// Slack hear back within a second.
	PublishTimeout config.Duration `yaml:"publish_timeout" default:"800ms"`

	GitHub *GitHub       `yaml:"github"`
	Slack  *Slack        `yaml:"slack"`
	Alerts []AlertSource `yaml:"alerts"`
}

// GitHub configures POST /hooks/github.
type GitHub struct {
	// Secret is the webhook secret; required. Requests must carry its
	// HMAC-SHA256 in X-Hub-Signature-256.
	Secret Secret `yaml:"secret"`
	// Branches whose pushes and completed workflow runs start a run.
	// Default [main]; an empty list switches those triggers off.
	Branches []string `yaml:"branches" default:"main"`
	// Events lists the GitHub events acted on: issue_comment, push,
	// workflow_run, repository_dispatch. Default: all of them. ping is
	// always answered.
	Events []string `yaml:"events"`
	// Workflows limits workflow_run triggers to these workflow names.
	// Default: any workflow.
	Workflows []string `yaml:"workflows"`
	// Repos limits triggers to these repositories ("owner/name", any
	// case), for a webhook set on a whole organisation. Default: any.
	Repos []string `yaml:"repos"`
}

// Slack configures POST /hooks/slack, the /tend slash command.
type Slack struct {
	// SigningSecret is the Slack app's signing secret; required.
	SigningSecret Secret `yaml:"signing_secret"`
	// AllowedUsers lists the Slack user ids (U…) that may start an
	// optimization. Default: anyone who can run the command.
	AllowedUsers []string `yaml:"allowed_users"`
	// ResponseHosts are the hosts (with port, if not 443) a response_url
	// may point at; it must be https. Default [hooks.slack.com].
	ResponseHosts []string `yaml:"response_hosts" default:"hooks.slack.com"`
}

// AlertSource is one system allowed to POST /hooks/alerts/{name}. It needs
// a token, an HMAC secret, or both; a request passes with either.
type AlertSource struct {
	// Name is the last path segment: letters, digits, '-' and '_'.
	Name string `yaml:"name"`
	// Token is expected as "Authorization: Bearer <token>".
	Token Secret `yaml:"token"`
	// HMACSecret keys "X-Tend-Signature: sha256=<hex>" of the body.
	HMACSecret Secret `yaml:"hmac_secret"`
}

// Secret is a credential read from the configuration. It prints, logs and
// encodes as *** so it cannot leak through a dump of the settings.
type Secret string

func (Secret) String() string                 { return "***" }
func (Secret) GoString() string               { return `"***"` }
func (Secret) LogValue() slog.Value           { return slog.StringValue("***") }
func (Secret) MarshalJSON() ([]byte, error)   { return []byte(`"***"`), nil }
func (Secret) MarshalYAML() (any, error)      { return "***", nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Size is a byte count written as 1048576, 512KiB or 1MiB.
type Size string

// Bytes returns the size in bytes, or an error naming what to write.
func (s Size) Bytes() (int64, error) {
	text := strings.TrimSpace(string(s))
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"KB", 1000}, {"MB", 1000 * 1000}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(text, u.suffix); ok {
			text, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q: write e.g. 1MiB, 512KiB or 65536", string(s))
	}
	if n > maxBodyCeiling/mult {
		return 0, fmt.Errorf("size %q is over the 64MiB ceiling", string(s))
	}
	return n * mult, nil
}

// githubEvents are the events a trigger can come from.
var githubEvents = []string{"issue_comment", "push", "workflow_run", "repository_dispatch"}

var sourceName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// problem is a setting mistake at a key path such as github.secret or
// alerts[1].name.
type problem struct {
	path []any // string keys and int indexes
	msg  string
}

// check returns every mistake in s.
func (s Settings) check() []problem {
	var ps []problem
	add := func(msg string, path ...any) { ps = append(ps, problem{path, msg}) }

	if s.MaxBody != "" {
		if _, err := s.MaxBody.Bytes(); err != nil {
			add(err.Error(), "max_body")
		}
	}
	if g := s.GitHub; g != nil {
		if g.Secret == "" {
			add("is required: the webhook secret set on GitHub", "github", "secret")
		}
		for i, e := range g.Events {
			if !contains(githubEvents, e) {
				add(fmt.Sprintf("unknown event %q; known: %s", e,
					strings.Join(githubEvents, ", ")), "github", "events", i)
			}
		}
	}
	if sl := s.Slack; sl != nil {
		if sl.SigningSecret == "" {
			add("is required: the Slack app's signing secret", "slack", "signing_secret")
		}
	}
	seen := map[string]bool{}
	for i, a := range s.Alerts {
		switch {
		case !sourceName.MatchString(a.Name):
			add("want letters, digits, '-' or '_' (at most 64)", "alerts", i, "name")
		case seen[a.Name]:
			add(fmt.Sprintf("%q is used twice", a.Name), "alerts", i, "name")
		}
		seen[a.Name] = true
		if a.Token == "" && a.HMACSecret == "" {
			add("needs a token or an hmac_secret", "alerts", i)
		}
	}
	return ps
}

// Decode reads the `inbound:` node into Settings and checks them. Errors
// name the file, line and key of every mistake.
func Decode(n config.Node) (Settings, error) {
	var s Settings
	if err := n.Decode(&s); err != nil {
		return Settings{}, err
	}
	var errs config.Errors
	for _, p := range s.check() {
		errs = append(errs, &config.Error{
			File: n.File,
			Line: lineOf(n.Node, p.path),
			Key:  keyPath(n.Path, p.path),
			Msg:  p.msg,
		})
	}
	if len(errs) > 0 {
		return Settings{}, errs
	}
	return s, nil
}

// lineOf finds the line of path under root, or the deepest part found.
func lineOf(root *yaml.Node, path []any) int {
	if root == nil {
		return 0
	}
	n := root
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

func keyPath(base string, path []any) string {
	var b strings.Builder
	b.WriteString(base)
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
