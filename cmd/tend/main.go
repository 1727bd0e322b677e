// Command tend watches hosts and services, turns breaches into alerts,
// runs measured optimizations, and tells people where they already work.
// `tend serve` runs the hub; the other verbs are clients of its REST API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var exit exitError
		if !errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, "tend:", err)
		}
		os.Exit(1)
	}
}

// exitError ends the program with status 1 after its message was printed.
type exitError struct{ error }

// run executes one tend command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "tend",
		Short:         "tend watches your services, tunes them, and tells your team",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().String("server", "",
		"tend server URL (env TEND_SERVER, default http://127.0.0.1:9740)")
	root.PersistentFlags().String("format", "table", "output format: table, json or summary")

	root.AddCommand(
		newServeCmd(),
		newStatusCmd(),
		newMetricsCmd(),
		newAlertsCmd(),
		newConfigCmd(),
		newIntegrationsCmd(),
		newDeadLettersCmd(),
		newDeliveriesCmd(),
		newTestCmd(),
	)
	for _, add := range extraCommands {
		root.AddCommand(add())
	}
	return root
}

// extraCommands lets other files add verbs without editing newRoot.
var extraCommands []func() *cobra.Command
