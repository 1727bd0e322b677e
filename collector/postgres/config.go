package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tend-dev/tend/config"
)

// Settings are the keys under a source's `postgres:`.
type Settings struct {
	// DSN is the connection string, as a URL (postgres://user@host:5432/db)
	// or key=value pairs. ${ENV} references are expanded by the config
	// loader; the DSN is a secret and never shown. Required.
	DSN string `yaml:"dsn"`
	// Databases limits per-database metrics and the oldest transaction and
	// longest query to these names. Default: every database that accepts
	// connections, templates excepted.
	Databases []string `yaml:"databases"`
	// TopTables is how many tables with the highest dead-tuple ratio are
	// reported. 0 turns it off. Default 5.
	TopTables int `yaml:"top_tables" default:"5"`
	// TopStatements is how many statements with the highest total time are
	// reported when pg_stat_statements is loaded. 0 turns it off. Default 5.
	TopStatements int `yaml:"top_statements" default:"5"`
	// ProbeQuery, when set, is run and timed each sample, all rows read, as
	// probe_seconds; the optimizer's database task times it before and after
	// its work. It runs with the DSN's privileges: give it a read-only user.
	// Default: none.
	ProbeQuery string `yaml:"probe_query"`
	// Timeout bounds connecting and, as statement_timeout, each query.
	// The collector's own timeout still bounds the whole sample. Default 5s.
	Timeout config.Duration `yaml:"timeout" default:"5s"`
	// MaxConns caps the pool shared with optimization tasks. Default 2.
	MaxConns int32 `yaml:"max_conns" default:"2"`
}

// parse decodes and checks the settings under node and builds the pool
// config. It does not connect.
func parse(node config.Node) (Settings, *pgxpool.Config, error) {
	var s Settings
	if err := node.Decode(&s); err != nil {
		return s, nil, err
	}
	if s.DSN == "" {
		return s, nil, node.Errorf("dsn", "required: a connection string such as "+
			"postgres://tend@127.0.0.1:5432/app or ${PG_DSN}")
	}
	switch {
	case s.TopTables < 0:
		return s, nil, node.Errorf("top_tables", "must not be negative")
	case s.TopStatements < 0:
		return s, nil, node.Errorf("top_statements", "must not be negative")
	case s.Timeout <= 0:
		return s, nil, node.Errorf("timeout", "must be above 0")
	case s.MaxConns < 1:
		return s, nil, node.Errorf("max_conns", "must be at least 1")
	}

	// The parser's own message quotes the connection string, so a typo
	// could print a password: say only what shape is expected.
	pc, err := pgxpool.ParseConfig(s.DSN)
	if err != nil {
		return s, nil, node.Errorf("dsn", "cannot parse the connection string: write a URL "+
			"(postgres://user@host:5432/db?sslmode=disable) or key=value pairs (host=... dbname=...)")
	}
	pc.MaxConns = s.MaxConns
	pc.MinConns = 0
	pc.MaxConnIdleTime = 5 * time.Minute
	pc.ConnConfig.ConnectTimeout = s.Timeout.D()
	rp := pc.ConnConfig.RuntimeParams
	if rp["application_name"] == "" {
		rp["application_name"] = "tend"
	}
	if rp["statement_timeout"] == "" {
		rp["statement_timeout"] = fmt.Sprint(s.Timeout.D().Milliseconds())
	}
	return s, pc, nil
}

// target names the server in errors without credentials.
func target(pc *pgxpool.Config) string {
	cc := pc.ConnConfig
	return fmt.Sprintf("%s:%d/%s", cc.Host, cc.Port, cc.Database)
}
