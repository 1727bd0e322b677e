// Package proc runs the commands users configure (exec sources, exec
// tasks) so that a timeout ends the whole process group: a shell script's
// children must not outlive the deadline as orphans.
package proc

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// Command is exec.CommandContext whose cancellation kills the command's
// process group, not only the command itself.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// A negative pid signals the group the command leads.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = time.Second
	return cmd
}
