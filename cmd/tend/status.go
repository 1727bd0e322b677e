package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/api"
)

func newStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show what the tend server is doing",
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
			var st api.Status
			if err := c.do(cmd.Context(), "GET", "/api/v1/status", nil, &st); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch f {
			case "json":
				return printJSON(out, st)
			case "summary":
				fmt.Fprintf(out, "tend %s on %s: up %s, %d series, %d alerts firing, %d integrations\n",
					st.Version, st.Hub, st.Uptime, st.Series, st.Firing, len(st.Integrations))
				return nil
			}
			names := make([]string, 0, len(st.Integrations))
			for n, t := range st.Integrations {
				names = append(names, n+" ("+t+")")
			}
			sort.Strings(names)
			rows := [][]string{
				{"hub", st.Hub}, {"version", st.Version}, {"uptime", st.Uptime},
				{"config", st.Config}, {"data dir", st.DataDir}, {"bus", st.Bus},
				{"sources", fmt.Sprint(st.Sources)}, {"rules", fmt.Sprint(st.Rules)},
				{"series", fmt.Sprint(st.Series)}, {"last sample", ago(st.LastSample)},
				{"samples published", fmt.Sprint(st.Samples)},
				{"alerts", fmt.Sprintf("%d firing, %d pending", st.Firing, st.Pending)},
				{"optimizer", st.Optimizer},
				{"integrations", strings.Join(names, ", ")},
			}
			return table(out, []string{"FIELD", "VALUE"}, rows)
		},
	}
}
