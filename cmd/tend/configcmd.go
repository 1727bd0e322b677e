package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/integrations"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check or show a configuration file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Validate a config file: every mistake with file, line and key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := checkConfig(args[0])
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return exitError{err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d sources, %d rules, %d integrations, %d routes)\n",
				args[0], len(cfg.Collector.Sources), len(cfg.Rules), len(cfg.Integrations), len(cfg.Routes))
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show [FILE]",
		Short: "Print a config with ${ENV} expanded and secrets as ***",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			b, err := config.Show(path)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	})
	return cmd
}

// checkConfig loads path and builds every source, integration and hub part
// without starting any, so settings owned by those packages (and their
// templates) are checked too.
func checkConfig(path string) (*config.Config, error) {
	cfg, err := config.LoadPartial(path)
	if cfg == nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	errs := []error{err}
	for _, s := range cfg.Collector.Sources {
		if _, err := collector.New(s, collector.Deps{Logger: log}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, in := range cfg.Integrations {
		deps := integrations.Deps{Logger: log, Refs: integrations.NewMemRefs()}
		if _, err := integrations.New(in, deps); err != nil {
			errs = append(errs, err)
		}
	}
	for _, check := range configChecks {
		if err := check(cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configChecks let other files validate their config sections.
var configChecks []func(cfg *config.Config) error
