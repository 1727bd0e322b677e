//go:build tools

// Package deps pins modules that tend's packages adopt over time, so that
// `go mod tidy` keeps them in go.mod while the code using them is written.
package deps

import (
	_ "github.com/andygrunwald/go-jira"
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/emersion/go-sasl"
	_ "github.com/emersion/go-smtp"
	_ "github.com/google/go-github/v60/github"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/shirou/gopsutil/v4/cpu"
	_ "github.com/slack-go/slack"
	_ "github.com/spf13/cobra"
	_ "github.com/wneessen/go-mail"
	_ "golang.org/x/time/rate"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
