package main

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/api"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations/render"
)

func newMetricsCmd() *cobra.Command {
	var since string
	cmd := &cobra.Command{
		Use:   "metrics [NAME]",
		Short: "Show the latest value of every metric, or one metric's history",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := format(cmd)
			if err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(args) == 0 {
				var ms []events.Metric
				if err := c.do(cmd.Context(), "GET", "/api/v1/metrics", nil, &ms); err != nil {
					return err
				}
				switch f {
				case "json":
					return printJSON(out, ms)
				case "summary":
					names := map[string]bool{}
					for _, m := range ms {
						names[m.Name] = true
					}
					fmt.Fprintf(out, "%d series of %d metrics\n", len(ms), len(names))
					return nil
				}
				rows := make([][]string, 0, len(ms))
				for _, m := range ms {
					rows = append(rows, []string{m.Name, labelText(m.Labels), render.Number(m.Value),
						m.Unit, m.Host, ago(m.Time)})
				}
				return table(out, []string{"METRIC", "LABELS", "VALUE", "UNIT", "HOST", "AT"}, rows)
			}

			var h struct {
				Metric string      `json:"metric"`
				Points []api.Point `json:"points"`
			}
			path := "/api/v1/metrics/" + url.PathEscape(args[0]) + "?since=" + url.QueryEscape(since)
			if err := c.do(cmd.Context(), "GET", path, nil, &h); err != nil {
				return err
			}
			switch f {
			case "json":
				return printJSON(out, h)
			case "summary":
				if len(h.Points) == 0 {
					fmt.Fprintf(out, "%s: no data in the last %s\n", args[0], since)
					return nil
				}
				lo, hi, sum := h.Points[0].Value, h.Points[0].Value, 0.0
				for _, p := range h.Points {
					lo, hi, sum = min(lo, p.Value), max(hi, p.Value), sum+p.Value
				}
				fmt.Fprintf(out, "%s: %d samples in %s, min %s, avg %s, max %s, last %s\n",
					args[0], len(h.Points), since,
					render.Number(lo), render.Number(sum/float64(len(h.Points))), render.Number(hi),
					render.Number(h.Points[len(h.Points)-1].Value))
				return nil
			}
			rows := make([][]string, 0, len(h.Points))
			for _, p := range h.Points {
				rows = append(rows, []string{p.Time.Local().Format("2006-01-02 15:04:05"),
					render.Number(p.Value), p.Host, labelText(p.Labels)})
			}
			return table(out, []string{"TIME", "VALUE", "HOST", "LABELS"}, rows)
		},
	}
	cmd.Flags().StringVar(&since, "since", "1h", "how far back to read a metric's history")
	return cmd
}

func labelText(l map[string]string) string {
	if len(l) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += k + "=" + strconv.Quote(l[k])[1:len(strconv.Quote(l[k]))-1]
	}
	return s
}
