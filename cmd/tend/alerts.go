package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/alerting"
	"github.com/tend-dev/tend/integrations/render"
	"github.com/tend-dev/tend/optimizer"
)

func newAlertsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "alerts",
		Short: "List pending, firing and recently resolved alerts",
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
			var alerts []struct {
				optimizer.AlertState
				Muted []alerting.Mute `json:"muted,omitempty"`
			}
			if err := c.do(cmd.Context(), "GET", "/api/v1/alerts", nil, &alerts); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch f {
			case "json":
				return printJSON(out, alerts)
			case "summary":
				n := map[string]int{}
				for _, a := range alerts {
					n[a.Status]++
					if len(a.Muted) > 0 {
						n["muted"]++
					}
				}
				fmt.Fprintf(out, "%d firing (%d muted), %d pending, %d resolved in the last day\n",
					n["firing"], n["muted"], n["pending"], n["resolved"])
				return nil
			}
			rows := make([][]string, 0, len(alerts))
			for _, a := range alerts {
				status, why := a.Status, "-"
				if len(a.Muted) > 0 {
					status += " (muted)"
					why = alerting.Why(a.Muted)
				}
				rows = append(rows, []string{status, a.Severity, a.Rule, a.Host,
					render.Number(a.Value), ago(a.Since), a.Fingerprint, a.Summary, why})
			}
			return table(out, []string{"STATUS", "SEVERITY", "RULE", "HOST", "VALUE", "SINCE", "FINGERPRINT",
				"SUMMARY", "NOT SENT BECAUSE"}, rows)
		},
	}
}
