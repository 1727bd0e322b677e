package smtp

import (
	"crypto/x509"
	"fmt"
	"net/mail"
	"os"
	"strings"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/integrations/render"
)

// STARTTLS modes.
const (
	StartTLSRequired      = "required"
	StartTLSOpportunistic = "opportunistic"
	StartTLSNone          = "none"
)

// Config is the settings of an "smtp" integration.
type Config struct {
	// Host is the SMTP server's name or address. Required.
	Host string `yaml:"host"`
	// Port defaults to 465 with tls: implicit, 587 otherwise.
	Port int `yaml:"port"`
	// StartTLS is required (the default), opportunistic or none. Ignored
	// with tls: implicit.
	StartTLS string `yaml:"starttls" default:"required"`
	// TLS set to implicit speaks TLS from the first byte (port 465).
	TLS string `yaml:"tls"`
	// Username and Password enable SMTP AUTH. Password is a secret.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Auth is the AUTH mechanism: plain (the default), login, cram-md5 or
	// auto (the strongest the server offers).
	Auth string `yaml:"auth" default:"plain"`
	// From is the sender address, e.g. "tend <tend@example.com>". Required.
	From string `yaml:"from"`
	// To lists the recipients. At least one.
	To []string `yaml:"to"`
	// HELO is the name given in EHLO. Default: the machine's host name.
	HELO string `yaml:"helo"`
	// CAFile adds PEM certificates to trust, e.g. a private CA.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify accepts any certificate. Tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	render.Overrides `yaml:",inline"`

	roots *x509.CertPool
}

func (c *Config) validate(node config.Node) error {
	var errs config.Errors
	bad := func(key, format string, args ...any) { errs = append(errs, node.Errorf(key, format, args...)) }

	if c.Host == "" {
		bad("host", "smtp needs host")
	}
	switch c.TLS {
	case "":
	case "implicit":
		c.StartTLS = StartTLSNone
	default:
		bad("tls", "unknown tls %q: use implicit, or leave it out and set starttls", c.TLS)
	}
	switch c.StartTLS {
	case StartTLSRequired, StartTLSOpportunistic, StartTLSNone:
	default:
		bad("starttls", "unknown starttls %q: use required, opportunistic or none", c.StartTLS)
	}
	if c.Port == 0 {
		c.Port = 587
		if c.TLS == "implicit" {
			c.Port = 465
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("port", "port %d is out of range", c.Port)
	}
	if (c.Username == "") != (c.Password == "") {
		bad("password", "give username and password together")
	}
	switch c.Auth {
	case "plain", "login", "cram-md5", "auto":
	default:
		bad("auth", "unknown auth %q: use plain, login, cram-md5 or auto", c.Auth)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		bad("from", "from %q is not an address: %v", c.From, err)
	}
	if len(c.To) == 0 {
		bad("to", "smtp needs at least one recipient in to")
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			bad(fmt.Sprintf("to[%d]", i), "%q is not an address: %v", to, err)
		}
	}
	if c.CAFile != "" {
		if err := c.loadCA(); err != nil {
			bad("ca_file", "%v", err)
		}
	}
	if strings.ContainsAny(c.HELO, " \r\n") {
		bad("helo", "helo must be one name")
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// loadCA reads CAFile into a pool holding the system roots and its own.
func (c *Config) loadCA() error {
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return fmt.Errorf("read ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("ca_file %s holds no PEM certificate", c.CAFile)
	}
	c.roots = pool
	return nil
}
