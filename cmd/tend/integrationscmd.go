package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/api"
	"github.com/tend-dev/tend/router"
)

func newIntegrationsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "integrations",
		Short: "Show each integration's delivery analytics and health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, "/api/v1/integrations", view[[]router.Stats]{
				summary: func(w io.Writer, list []router.Stats) {
					var parts []string
					for _, s := range list {
						parts = append(parts, fmt.Sprintf("%s %s (%d delivered, %d dead)",
							s.Integration, s.Health, s.Delivered, s.DeadLettered))
					}
					fmt.Fprintln(w, strings.Join(parts, "; "))
				},
				header: []string{"NAME", "TYPE", "HEALTH", "DELIVERED", "FAILED", "RETRIED", "DEAD",
					"P50", "P95", "P99", "LAST OK", "LAST ERROR"},
				rows: integrationRows,
			})
		},
	}
}

func integrationRows(list []router.Stats) [][]string {
	rows := make([][]string, 0, len(list))
	for _, s := range list {
		lastErr := "-"
		if s.LastError != "" {
			lastErr = ago(s.LastErrorAt) + ": " + s.LastError
			if len(lastErr) > 60 {
				lastErr = lastErr[:60] + "…"
			}
		}
		rows = append(rows, []string{s.Integration, s.Type, s.Health, fmt.Sprint(s.Delivered),
			fmt.Sprint(s.FailedAttempts), fmt.Sprint(s.Retried), fmt.Sprint(s.DeadLettered),
			ms(s.P50), ms(s.P95), ms(s.P99), ago(s.LastSuccess), lastErr})
	}
	return rows
}

func ms(sec float64) string {
	if sec == 0 {
		return "-"
	}
	return (time.Duration(sec * float64(time.Second))).Round(10 * time.Microsecond).String()
}

func newTestCmd() *cobra.Command {
	var level string
	cmd := &cobra.Command{
		Use:   "test [TASK...]",
		Short: "Test integrations or optimization tasks without side effects on your services",
		Long: `tend test [TASK...] checks each optimization task's preconditions and shows
the steps it would take at the current level or --level, touching nothing.
tend test integration NAME sends a test event to one integration.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return testTasks(cmd, args, level)
		},
	}
	cmd.Flags().StringVar(&level, "level", "", "level to plan at (default: current)")
	cmd.AddCommand(&cobra.Command{
		Use:   "integration NAME",
		Short: "Send a test event through the real delivery path and show the outcome",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := format(cmd)
			if err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			stop := progress("sending a test event to "+args[0], nil)
			var res api.TestResult
			path := "/api/v1/integrations/" + url.PathEscape(args[0]) + "/test"
			err = c.do(cmd.Context(), "POST", path, nil, &res)
			stop()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f == "json" {
				return printJSON(out, res)
			}
			switch res.Outcome {
			case router.OutcomeDelivered:
				fmt.Fprintf(out, "%s: delivered in %s\n", res.Integration, res.Latency)
			case router.OutcomeRetry:
				fmt.Fprintf(out, "%s: not delivered yet: the first attempt failed after %s\n",
					res.Integration, res.Latency)
			case router.OutcomeDeadLettered:
				fmt.Fprintf(out, "%s: dead-lettered after %s\n", res.Integration, res.Latency)
			default:
				fmt.Fprintf(out, "%s: no attempt seen yet (%s)\n", res.Integration, res.Outcome)
			}
			for _, a := range res.Attempts {
				if a.Error == "" {
					continue
				}
				fmt.Fprintf(out, "  attempt %d: %s: %s\n", a.Attempt, a.Outcome, a.Error)
				if a.Outcome == router.OutcomeRetry {
					fmt.Fprintf(out, "  tend retries it in %s; see tend deliveries --integration %s\n",
						a.NextDelay.Round(time.Millisecond), res.Integration)
				}
			}
			if res.Outcome != router.OutcomeDelivered {
				return exitError{fmt.Errorf("test of %s: %s", res.Integration, res.Outcome)}
			}
			return nil
		},
	})
	return cmd
}
