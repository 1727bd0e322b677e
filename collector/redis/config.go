package redis

import (
	"crypto/tls"
	"net"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tend-dev/tend/config"
)

// Settings are the keys under a source's `redis:`.
type Settings struct {
	// Addr is the server's host:port. Default 127.0.0.1:6379.
	Addr string `yaml:"addr" default:"127.0.0.1:6379"`
	// Username for Redis 6 ACLs. Default: none.
	Username string `yaml:"username"`
	// Password is a secret: write ${REDIS_PASSWORD}. Default: none.
	Password string `yaml:"password"`
	// DB is the database index selected, 0 to 15 on a stock server.
	// Default 0.
	DB int `yaml:"db"`
	// TLS connects with TLS, checking the server's certificate.
	TLS bool `yaml:"tls"`
	// TLSSkipVerify accepts any certificate. Off by default.
	TLSSkipVerify bool `yaml:"tls_skip_verify"`
	// Timeout bounds dialling and each command. Default 5s.
	Timeout config.Duration `yaml:"timeout" default:"5s"`
}

// parse decodes and checks the settings under node and returns client
// options. It does not connect.
func parse(node config.Node) (Settings, *goredis.Options, error) {
	var s Settings
	if err := node.Decode(&s); err != nil {
		return s, nil, err
	}
	host, _, err := net.SplitHostPort(s.Addr)
	switch {
	case err != nil:
		return s, nil, node.Errorf("addr", "want host:port, such as 127.0.0.1:6379, got %q", s.Addr)
	case s.DB < 0:
		return s, nil, node.Errorf("db", "must not be negative")
	case s.Timeout <= 0:
		return s, nil, node.Errorf("timeout", "must be above 0")
	case s.TLSSkipVerify && !s.TLS:
		return s, nil, node.Errorf("tls_skip_verify", "has no effect without tls: true")
	}

	o := &goredis.Options{
		Addr:         s.Addr,
		Username:     s.Username,
		Password:     s.Password,
		DB:           s.DB,
		DialTimeout:  s.Timeout.D(),
		ReadTimeout:  s.Timeout.D(),
		WriteTimeout: s.Timeout.D(),
		// The collector's deadline must bound every read, not only the
		// client's own timeouts.
		ContextTimeoutEnabled: true,
		PoolSize:              2,
		// One attempt per sample: the collector backs off between samples.
		MaxRetries:      -1,
		DialerRetries:   1,
		DisableIdentity: true,
	}
	if s.TLS {
		o.TLSConfig = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			ServerName:         host,
			InsecureSkipVerify: s.TLSSkipVerify, //nolint:gosec // opted in by config
		}
	}
	return s, o, nil
}
