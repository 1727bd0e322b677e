// Package e2e runs the real tend binary in tests: it builds it once, starts
// `tend serve` with a config in a temporary directory on a free port, runs
// CLI verbs against it, and kills it (gracefully or with SIGKILL) to prove
// what survives. Other packages' end-to-end tests use it too.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds tend once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tend-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tend")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/tend")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreeAddr returns a 127.0.0.1 address with a port free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Hub is one running `tend serve`.
type Hub struct {
	t       testing.TB
	Dir     string // working directory: config, data, files
	Config  string
	DataDir string
	Addr    string
	Args    []string // extra serve flags
	Env     []string

	mu   sync.Mutex
	last *os.ProcessState
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// NewHub writes config (with {{DIR}} replaced by the hub's directory) and
// returns a hub ready to Start. It is stopped when the test ends.
func NewHub(t testing.TB, config string) *Hub {
	t.Helper()
	dir := t.TempDir()
	h := &Hub{t: t, Dir: dir, DataDir: filepath.Join(dir, "data"), Addr: FreeAddr(t)}
	h.Config = filepath.Join(dir, "tend.yaml")
	h.WriteFile("tend.yaml", strings.ReplaceAll(config, "{{DIR}}", dir))
	t.Cleanup(h.Stop)
	return h
}

// Path returns a path inside the hub's directory.
func (h *Hub) Path(name string) string { return filepath.Join(h.Dir, name) }

// WriteFile writes a file in the hub's directory.
func (h *Hub) WriteFile(name, content string) {
	h.t.Helper()
	if err := os.WriteFile(h.Path(name), []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// Start runs `tend serve` and waits until /healthz answers.
func (h *Hub) Start() {
	h.t.Helper()
	args := append([]string{"serve", "--config", h.Config, "--data-dir", h.DataDir,
		"--listen", h.Addr, "--log-level", "debug"}, h.Args...)
	cmd := exec.Command(Binary(h.t), args...)
	cmd.Env = append(os.Environ(), h.Env...)
	logs := &bytes.Buffer{}
	cmd.Stdout = &lockedWriter{w: logs, mu: &h.mu}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()

	h.mu.Lock()
	h.cmd, h.logs, h.done = cmd, logs, done
	h.mu.Unlock()

	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			h.t.Fatalf("tend serve exited early:\n%s", h.Logs())
		default:
		}
		resp, err := http.Get("http://" + h.Addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("tend serve not ready in 20s:\n%s", h.Logs())
}

// Logs returns everything the hub printed so far.
func (h *Hub) Logs() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.logs == nil {
		return ""
	}
	return h.logs.String()
}

// Stop sends SIGTERM and waits up to 10 s for a clean exit.
func (h *Hub) Stop() {
	h.signal(syscall.SIGTERM, 10*time.Second)
}

// Kill sends SIGKILL: nothing is flushed, nothing is closed.
func (h *Hub) Kill() {
	h.signal(syscall.SIGKILL, 5*time.Second)
}

func (h *Hub) signal(sig syscall.Signal, wait time.Duration) {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
	default:
		_ = cmd.Process.Signal(sig)
		select {
		case <-done:
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			<-done
			h.t.Errorf("tend did not stop within %s after %v", wait, sig)
		}
	}
	h.mu.Lock()
	h.last = cmd.ProcessState
	h.cmd = nil
	h.mu.Unlock()
}

// ExitCode returns the exit code of the last stopped process, or -1.
func (h *Hub) ExitCode() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		return -1
	}
	return h.last.ExitCode()
}

// Run runs a tend CLI verb against the hub and returns its output and error.
func (h *Hub) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(h.t), append(args, "--server", "http://"+h.Addr)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustRun is Run that fails the test on error.
func (h *Hub) MustRun(args ...string) string {
	h.t.Helper()
	out, err := h.Run(args...)
	if err != nil {
		h.t.Fatalf("tend %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Eventually polls cond every 50 ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
