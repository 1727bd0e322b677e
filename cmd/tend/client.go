package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

const defaultServer = "http://127.0.0.1:9740"

// client calls a running tend's REST API.
type client struct {
	base string
	http *http.Client
}

func newClient(cmd *cobra.Command) (*client, error) {
	base, _ := cmd.Flags().GetString("server")
	if base == "" {
		base = os.Getenv("TEND_SERVER")
	}
	if base == "" {
		base = defaultServer
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("--server %q is not a URL", base)
	}
	return &client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// do calls method path with an optional JSON body and decodes the JSON
// answer into out. A server that is not running becomes one clear line.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if isRefused(err) {
			return c.noServer()
		}
		return fmt.Errorf("call tend at %s: %w", c.base, unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer from %s: %w", c.base, err)
	}
	if resp.StatusCode >= 400 {
		var p struct{ Error, Hint string }
		if json.Unmarshal(data, &p) == nil && p.Error != "" {
			if p.Hint != "" {
				return fmt.Errorf("%s (%s)", p.Error, p.Hint)
			}
			return errors.New(p.Error)
		}
		return fmt.Errorf("tend answered %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer from %s: %w", c.base, err)
	}
	return nil
}

// noServer is the one line a client verb prints when nothing answers.
func (c *client) noServer() error {
	return fmt.Errorf("no tend server at %s: start one with `tend serve`, "+
		"or point --server / TEND_SERVER at it", c.base)
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// format returns the --format flag, checked.
func format(cmd *cobra.Command, allowed ...string) (string, error) {
	f, _ := cmd.Flags().GetString("format")
	if len(allowed) == 0 {
		allowed = []string{"table", "json", "summary"}
	}
	for _, a := range allowed {
		if f == a {
			return f, nil
		}
	}
	return "", fmt.Errorf("--format %q: use %s", f, strings.Join(allowed, ", "))
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") == nil {
			buf.WriteByte('\n')
			_, err := w.Write(buf.Bytes())
			return err
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02 15:04")
}

// view prints what a client verb fetched, in the --format asked for: JSON
// as it is, a one-line summary, or a table.
type view[T any] struct {
	summary func(w io.Writer, v T)
	header  []string
	rows    func(v T) [][]string
}

// show checks --format, GETs path into a T and prints it with v.
func show[T any](cmd *cobra.Command, path string, v view[T]) error {
	f, err := format(cmd)
	if err != nil {
		return err
	}
	c, err := newClient(cmd)
	if err != nil {
		return err
	}
	var data T
	if err := c.do(cmd.Context(), http.MethodGet, path, nil, &data); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch f {
	case "json":
		return printJSON(out, data)
	case "summary":
		v.summary(out, data)
		return nil
	}
	return table(out, v.header, v.rows(data))
}
