package main

// Source kinds and integration types built into tend register themselves
// from init; each import below adds one. Keep one import per line.
import (
	_ "github.com/tend-dev/tend/collector"
	_ "github.com/tend-dev/tend/collector/httpcheck"
	_ "github.com/tend-dev/tend/collector/postgres"
	_ "github.com/tend-dev/tend/collector/redis"
	_ "github.com/tend-dev/tend/collector/sqlite"
	_ "github.com/tend-dev/tend/integrations/api"
	_ "github.com/tend-dev/tend/integrations/confluence"
	_ "github.com/tend-dev/tend/integrations/console"
	_ "github.com/tend-dev/tend/integrations/file"
	_ "github.com/tend-dev/tend/integrations/github"
	_ "github.com/tend-dev/tend/integrations/jira"
	_ "github.com/tend-dev/tend/integrations/slack"
	_ "github.com/tend-dev/tend/integrations/smtp"
	_ "github.com/tend-dev/tend/integrations/teams"
	_ "github.com/tend-dev/tend/integrations/webhook"
)
