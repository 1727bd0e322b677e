package integrations

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Error is a failed delivery attempt, classified. The router reads it with
// errors.As: a permanent error goes straight to dead letters; a retryable one
// is tried again after the backoff delay, or after RetryAfter if larger.
type Error struct {
	Permanent bool
	// Reason is a short, secret-free cause, e.g. "http 503" or "channel_not_found".
	Reason string
	// Status is the HTTP or SMTP status, if any.
	Status int
	// RetryAfter is the receiver's own wish, from a Retry-After header or
	// a rate limit reset.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	kind := "retryable"
	if e.Permanent {
		kind = "permanent"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s (%s): %v", e.Reason, kind, e.Err)
	}
	return fmt.Sprintf("%s (%s)", e.Reason, kind)
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent returns an error the router must not retry.
func Permanent(reason string, err error) *Error {
	return &Error{Permanent: true, Reason: reason, Err: err}
}

// Retryable returns an error the router retries with backoff.
func Retryable(reason string, err error) *Error {
	return &Error{Reason: reason, Err: err}
}

// Classify returns err as an [*Error], classifying plain errors: timeouts,
// network failures and context deadlines are retryable; a canceled context
// is retryable too (the hub is stopping and another attempt will follow).
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Retryable("timeout", err)
	case errors.Is(err, context.Canceled):
		return Retryable("canceled", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Retryable("timeout", err)
	}
	return Retryable("error", err)
}

// StatusError classifies an HTTP answer: 408, 425, 429 and 5xx are
// retryable, other 4xx permanent. Retry-After, in seconds or as an HTTP
// date, is kept. body is a short excerpt for the reason; it must hold no
// secret.
func StatusError(resp *http.Response, body string) *Error {
	e := &Error{
		Status:     resp.StatusCode,
		Reason:     "http " + strconv.Itoa(resp.StatusCode),
		RetryAfter: RetryAfter(resp.Header, time.Now()),
	}
	if body != "" {
		e.Err = errors.New(truncate(body, 300))
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode == http.StatusTooEarly,
		resp.StatusCode >= 500:
		e.Permanent = false
	default:
		e.Permanent = resp.StatusCode >= 400
	}
	return e
}

// RetryAfter parses a Retry-After header given in seconds or as an HTTP date.
// It returns 0 when the header is absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
