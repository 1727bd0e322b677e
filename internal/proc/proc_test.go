package proc_test

import (
	"context"
	"testing"
	"time"

	"github.com/tend-dev/tend/internal/proc"
)

// TestCommand_TimeoutEndsChildren: a shell whose child sleeps for 30 s ends
// at the deadline, its output pipe closed, rather than after the child.
func TestCommand_TimeoutEndsChildren(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := proc.Command(ctx, "sh", "-c", "sleep 30; echo late").Output()
	if err == nil {
		t.Fatal("want an error after the deadline")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s: the child outlived the deadline", took)
	}
}
