package e2e

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Receiver is a webhook endpoint that counts deliveries by webhook-id and
// can be switched down (503) and up.
type Receiver struct {
	*httptest.Server

	mu       sync.Mutex
	down     bool
	failures int
	got      map[string]int
}

// NewReceiver starts a receiver, up.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{got: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down {
			r.failures++
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		r.got[id]++
	}))
	t.Cleanup(r.Close)
	return r
}

// SetDown makes the receiver answer 503 (true) or 200 (false).
func (r *Receiver) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// Failures is how many calls were refused while down.
func (r *Receiver) Failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures
}

// Got returns deliveries per webhook-id.
func (r *Receiver) Got() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}
