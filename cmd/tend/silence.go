package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/alerting"
	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
)

func init() {
	extraCommands = append(extraCommands, newSilenceCmd)
	hubHooks = append(hubHooks, alertingHook)
	configChecks = append(configChecks, func(cfg *config.Config) error {
		_, err := alerting.Load(cfg)
		return err
	})
}

// alertingHook puts the alerting stage between the rule engine and the
// router, and serves the silence endpoints.
func alertingHook(h *hub, cfg *config.Config, mounts *[]func(*http.ServeMux)) error {
	set, err := alerting.Load(cfg)
	if err != nil {
		return err
	}
	n := alerting.New(cfg, set, h.bus, h.log)
	// The consumer exists before the hub says it is ready, so no alert
	// stored after that is missed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Open(ctx); err != nil {
		return err
	}
	h.extras = append(h.extras, n.Run)
	*mounts = append(*mounts, alerting.Mount(alerting.Silences{KV: bus.KV{Bucket: h.bus.State}}))
	return nil
}

func newSilenceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "silence",
		Short: "Mute alerts for a while: add, list and expire silences",
	}
	var match []string
	var dur, comment string
	add := &cobra.Command{
		Use:   "add --match key=value[,...] --for 2h --comment TEXT",
		Short: "Silence the alerts the matchers select (key=value, key!=value, key=~regex)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := format(cmd)
			if err != nil {
				return err
			}
			if len(match) == 0 {
				return fmt.Errorf("--match is required, e.g. --match host=db1,rule=~disk_.*")
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			by := os.Getenv("USER")
			var sil alerting.Silence
			body := alerting.AddSilence{Matchers: match, Duration: dur, Comment: comment, CreatedBy: by}
			if err := c.do(cmd.Context(), "POST", "/api/v1/silences", body, &sil); err != nil {
				return err
			}
			if f == "json" {
				return printJSON(cmd.OutOrStdout(), sil)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "silence %s: %s until %s\n", sil.ID,
				strings.Join(sil.Matchers, ","), sil.EndsAt.Local().Format("2006-01-02 15:04:05"))
			return nil
		},
	}
	add.Flags().StringSliceVar(&match, "match", nil, "matchers, comma-separated or repeated")
	add.Flags().StringVar(&dur, "for", "2h", "how long the silence lasts")
	add.Flags().StringVar(&comment, "comment", "", "why (required)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List silences: active, and expired within the last day",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := format(cmd)
			if err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			var list []alerting.Silence
			if err := c.do(cmd.Context(), "GET", "/api/v1/silences", nil, &list); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			now := time.Now()
			switch f {
			case "json":
				return printJSON(out, list)
			case "summary":
				n := map[string]int{}
				for _, s := range list {
					n[s.State(now)]++
				}
				fmt.Fprintf(out, "%d active, %d expired\n", n["active"], n["expired"])
				return nil
			}
			rows := make([][]string, 0, len(list))
			for _, s := range list {
				rows = append(rows, []string{s.ID, s.State(now), strings.Join(s.Matchers, ","),
					s.EndsAt.Local().Format("01-02 15:04:05"), s.CreatedBy, s.Comment})
			}
			return table(out, []string{"ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"}, rows)
		},
	}
	expire := &cobra.Command{
		Use:   "expire ID",
		Short: "End a silence now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			var sil alerting.Silence
			path := "/api/v1/silences/" + url.PathEscape(args[0])
			if err := c.do(cmd.Context(), "DELETE", path, nil, &sil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "silence %s expired\n", sil.ID)
			return nil
		},
	}
	cmd.AddCommand(add, list, expire)
	return cmd
}
