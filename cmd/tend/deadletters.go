package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/router"
)

func newDeadLettersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deadletters",
		Aliases: []string{"dl"},
		Short:   "List, show, replay or purge deliveries that failed for good",
	}
	var integration string
	var all bool

	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := "/api/v1/deadletters?integration=" + url.QueryEscape(integration)
			return show(cmd, path, view[[]router.DeadLetter]{
				summary: func(w io.Writer, dls []router.DeadLetter) {
					n := map[string]int{}
					for _, d := range dls {
						n[d.Integration]++
					}
					fmt.Fprintf(w, "%d dead letters", len(dls))
					for k, v := range n {
						fmt.Fprintf(w, ", %s: %d", k, v)
					}
					fmt.Fprintln(w)
				},
				header: []string{"ID", "INTEGRATION", "EVENT TYPE", "EVENT ID", "ATTEMPTS", "DEAD", "REASON"},
				rows: func(dls []router.DeadLetter) [][]string {
					rows := make([][]string, 0, len(dls))
					for _, d := range dls {
						rows = append(rows, []string{fmt.Sprint(d.ID), d.Integration, d.Event.Type, d.Event.ID,
							fmt.Sprint(d.Attempts), ago(d.DeadAt), d.Reason})
					}
					return rows
				},
			})
		},
	}
	list.Flags().StringVar(&integration, "integration", "", "only this integration's")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one dead letter with its event and errors (--format json for all of it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(cmd, "/api/v1/deadletters/"+url.PathEscape(args[0]), view[router.DeadLetter]{
				summary: func(w io.Writer, d router.DeadLetter) {
					fmt.Fprintf(w, "dead letter %d: %s to %s, %d attempt(s), %s\n",
						d.ID, d.Event.Type, d.Integration, d.Attempts, d.Reason)
				},
				header: []string{"FIELD", "VALUE"},
				rows: func(d router.DeadLetter) [][]string {
					return [][]string{
						{"id", fmt.Sprint(d.ID)}, {"integration", d.Integration},
						{"event", d.Event.ID + " (" + d.Event.Type + ")"},
						{"attempts", fmt.Sprint(d.Attempts)}, {"reason", d.Reason},
						{"first attempt", d.FirstAttempt.Local().Format(time.RFC3339)},
						{"first error", d.FirstError},
						{"last attempt", d.LastAttempt.Local().Format(time.RFC3339)},
						{"last error", d.LastError},
						{"event data", string(d.Event.Data)},
					}
				},
			})
		},
	}

	replay := &cobra.Command{
		Use:   "replay [ID | --integration NAME | --all]",
		Short: "Put dead letters back through the normal delivery path, once",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			var path string
			switch {
			case len(args) == 1:
				path = "/api/v1/deadletters/" + url.PathEscape(args[0]) + "/replay"
			case integration != "":
				path = "/api/v1/deadletters/replay?integration=" + url.QueryEscape(integration)
			case all:
				path = "/api/v1/deadletters/replay?all=true"
			default:
				return errors.New("say what to replay: an ID, --integration NAME or --all")
			}
			var res struct {
				Replayed []router.DeadLetter `json:"replayed"`
			}
			if err := c.do(cmd.Context(), "POST", path, nil, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replayed %d dead letter(s)\n", len(res.Replayed))
			return nil
		},
	}
	replay.Flags().StringVar(&integration, "integration", "", "replay every dead letter of this integration")
	replay.Flags().BoolVar(&all, "all", false, "replay every dead letter")

	purge := &cobra.Command{
		Use:   "purge",
		Short: "Delete dead letters for good",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			var res struct {
				Purged uint64 `json:"purged"`
			}
			path := "/api/v1/deadletters?integration=" + url.QueryEscape(integration)
			if err := c.do(cmd.Context(), "DELETE", path, nil, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "purged %d dead letter(s)\n", res.Purged)
			return nil
		},
	}
	purge.Flags().StringVar(&integration, "integration", "", "only this integration's")

	cmd.AddCommand(list, show, replay, purge)
	return cmd
}

func newDeliveriesCmd() *cobra.Command {
	var integration, fingerprint, since string
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "Show the delivery log: every attempt, its outcome and latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"integration": {integration}, "fingerprint": {fingerprint}, "since": {since}}
			return show(cmd, "/api/v1/deliveries?"+q.Encode(), view[[]router.Attempt]{
				summary: func(w io.Writer, list []router.Attempt) {
					n := map[string]int{}
					for _, a := range list {
						n[a.Outcome]++
					}
					fmt.Fprintf(w, "%d attempts: %d delivered, %d retried, %d dead-lettered\n", len(list),
						n[router.OutcomeDelivered], n[router.OutcomeRetry], n[router.OutcomeDeadLettered])
				},
				header: []string{"TIME", "INTEGRATION", "EVENT", "ATTEMPT", "OUTCOME", "STATUS",
					"LATENCY", "REF", "ERROR"},
				rows: deliveryRows,
			})
		},
	}
	cmd.Flags().StringVar(&integration, "integration", "", "only this integration")
	cmd.Flags().StringVar(&fingerprint, "fingerprint", "", "only this alert fingerprint")
	cmd.Flags().StringVar(&since, "since", "24h", "how far back")
	return cmd
}

func deliveryRows(list []router.Attempt) [][]string {
	rows := make([][]string, 0, len(list))
	for _, a := range list {
		status, ref := "-", "-"
		if a.Status != 0 {
			status = fmt.Sprint(a.Status)
		}
		if a.Ref != "" {
			ref = a.Ref
		}
		rows = append(rows, []string{a.Time.Local().Format("01-02 15:04:05"), a.Integration,
			a.EventID, fmt.Sprint(a.Attempt), a.Outcome, status, a.Latency.Round(10_000).String(), ref, a.Error})
	}
	return rows
}
