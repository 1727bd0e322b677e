package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/history"
)

func init() {
	extraCommands = append(extraCommands, newReportCmd, newImportCmd)
}

// isTerminal reports whether f is a terminal, where progress is shown.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints "what… elapsed" on stderr every half second while a long
// call runs, when stderr is a terminal. The returned func stops it.
func progress(what string, detail func() string) func() {
	if !isTerminal(os.Stderr) {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case <-t.C:
				extra := ""
				if detail != nil {
					extra = ", " + detail()
				}
				fmt.Fprintf(os.Stderr, "\r\033[K%s… %s%s", what, time.Since(start).Round(time.Second), extra)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func newReportCmd() *cobra.Command {
	var since, out, metrics string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Report a period: metrics, trends, anomalies, alerts, runs, delivery health, recommendations",
		Long: `Report a period: per metric avg/min/max/p95 and trend, anomalies, alerts (count, time
firing, MTTR), optimization runs with their measured effects, delivery health and
recommendations. --format is table, json, summary, markdown or html (one self-contained
file with sparklines; use --out).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := format(cmd, "table", "json", "summary", "markdown", "html")
			if err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			q := url.Values{"since": {since}, "format": {f}, "metrics": {metrics}}
			stop := progress("building the report", nil)
			var body json.RawMessage
			err = c.do(cmd.Context(), http.MethodGet, "/api/v1/report?"+q.Encode(), nil, &body)
			stop()
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			if err := os.WriteFile(out, body, 0o644); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			abs, _ := filepath.Abs(out)
			fmt.Fprintf(cmd.ErrOrStderr(), "report written to %s\n", abs)
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "24h", "period to report, ending now")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	cmd.Flags().StringVar(&metrics, "metrics", "", "comma-separated metrics (default: all)")
	return cmd
}

// countingReader counts bytes read, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func newImportCmd() *cobra.Command {
	var inFormat string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load history (JSON Lines or CSV) through the collector's path",
		Long: `Load samples from another monitor. JSON Lines, one object a line:
  {"name":"host.cpu.percent","value":12.5,"time":"2026-03-01T10:00:00Z","host":"web-1","labels":{}}
or CSV: time,name,value[,host]. Malformed lines are skipped and counted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := format(cmd)
			if err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			file, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer file.Close()
			st, _ := file.Stat()
			if inFormat == "" {
				switch strings.ToLower(filepath.Ext(args[0])) {
				case ".csv":
					inFormat = history.FormatCSV
				case ".jsonl", ".ndjson", ".json":
					inFormat = history.FormatJSONLines
				}
			}

			cr := &countingReader{r: file}
			stop := progress("importing "+filepath.Base(args[0]), func() string {
				if st == nil || st.Size() == 0 {
					return ""
				}
				return fmt.Sprintf("%.0f%% sent", 100*float64(cr.n.Load())/float64(st.Size()))
			})
			res, err := postImport(cmd.Context(), c, cr, inFormat)
			stop()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f == "json" {
				return printJSON(out, res)
			}
			fmt.Fprintf(out, "imported %d samples from %d lines in %s (%d rollups); skipped %d malformed, %d late\n",
				res.Imported, res.Lines, res.Elapsed.Round(time.Millisecond), res.Rollups, res.Skipped, res.Late)
			for _, e := range res.Errors {
				fmt.Fprintf(out, "  %s\n", e)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&inFormat, "input", "", "csv or jsonl (default: from the file name, else guessed)")
	return cmd
}

func postImport(ctx context.Context, c *client, body io.Reader, inFormat string) (history.ImportResult, error) {
	var res history.ImportResult
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		c.base+"/api/v1/import?format="+url.QueryEscape(inFormat), body)
	if err != nil {
		return res, err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		if isRefused(err) {
			return res, c.noServer()
		}
		return res, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 400 {
		var p struct{ Error, Hint string }
		_ = json.Unmarshal(data, &p)
		if p.Error == "" {
			p.Error = resp.Status
		}
		if p.Hint != "" {
			return res, fmt.Errorf("%s (%s)", p.Error, p.Hint)
		}
		return res, fmt.Errorf("import: %s", p.Error)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return res, fmt.Errorf("decode import result: %w", err)
	}
	return res, nil
}
