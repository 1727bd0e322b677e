package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/collector/internal/srctest"
)

// testDBIndex keeps this package's keys out of database 0, where other
// tests work.
const testDBIndex = 11

func redisAddr(tb testing.TB) string {
	a := os.Getenv("TEND_TEST_REDIS_ADDR")
	if a == "" {
		tb.Skip("TEND_TEST_REDIS_ADDR is not set; set it to e.g. 127.0.0.1:6379 to run against a real server")
	}
	return a
}

func newSource(tb testing.TB, settings ...string) *Source {
	tb.Helper()
	src, err := collector.New(srctest.Spec(tb, Kind, settings...), collector.Deps{})
	if err != nil {
		tb.Fatalf("new source: %v", err)
	}
	s := src.(*Source)
	tb.Cleanup(func() { s.Close() })
	return s
}

func collect(tb testing.TB, s *Source) []collector.Sample {
	tb.Helper()
	out, err := s.Collect(context.Background())
	if err != nil {
		tb.Fatalf("collect: %v", err)
	}
	return out
}

func value(tb testing.TB, samples []collector.Sample, name, labels string) float64 {
	tb.Helper()
	v, ok := srctest.Value(samples, name, labels)
	if !ok {
		tb.Fatalf("no sample %s{%s}; have %v", name, labels, srctest.Values(samples, name))
	}
	return v
}

// testClient returns a client on the test database and a key prefix of
// this test's own; its keys are deleted when the test ends.
func testClient(t *testing.T, addr string) (*goredis.Client, string) {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr, DB: testDBIndex})
	prefix := fmt.Sprintf("tend:test:%d:", rand.Uint64())
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		c.Close()
	})
	return c, prefix
}

func TestCollect_Load(t *testing.T) {
	addr := redisAddr(t)
	ctx := context.Background()
	c, prefix := testClient(t, addr)
	s := newSource(t, "addr: "+addr, "db: "+strconv.Itoa(testDBIndex))
	start := time.Now()
	first := collect(t, s)

	// Writes: 200 keys of 10 KiB, 100 of which expire at once.
	pad := strings.Repeat("x", 10<<10)
	pipe := c.Pipeline()
	for i := range 200 {
		pipe.Set(ctx, prefix+strconv.Itoa(i), pad, 0)
	}
	for i := range 100 {
		pipe.Set(ctx, prefix+"exp:"+strconv.Itoa(i), "v", time.Millisecond)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// Reading an expired key removes it and counts it as expired.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := c.Exists(ctx, prefix+"exp:99").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || time.Now().After(deadline) {
			break
		}
	}
	pipe = c.Pipeline()
	for i := range 100 {
		pipe.Exists(ctx, prefix+"exp:"+strconv.Itoa(i))
	}
	for range 10 {
		for i := range 200 {
			pipe.Get(ctx, prefix+strconv.Itoa(i))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	// Clients: five more connections, each having said something.
	extra := goredis.NewClient(&goredis.Options{Addr: addr, PoolSize: 5, MinIdleConns: 5})
	defer extra.Close()
	for range 5 {
		if err := extra.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitClients(t, extra, 5)

	hits := collect(t, s)
	elapsed := time.Since(start).Seconds()
	db := "db=db" + strconv.Itoa(testDBIndex)
	checks := []struct {
		name string
		got  float64
		ok   func(float64) bool
	}{
		{"ops_per_second*elapsed >= 2300", value(t, hits, "ops_per_second", "") * elapsed,
			func(v float64) bool { return v >= 2300 }},
		{"expired_keys_per_second*elapsed >= 100", value(t, hits, "expired_keys_per_second", "") * elapsed,
			func(v float64) bool { return v >= 100 }},
		{"evicted_keys_per_second >= 0", value(t, hits, "evicted_keys_per_second", ""),
			func(v float64) bool { return v >= 0 }},
		{"hit_ratio > 0.8 on hits", value(t, hits, "hit_ratio", ""),
			func(v float64) bool { return v > 0.8 }},
		{"used_memory_bytes >= 2 MiB", value(t, hits, "used_memory_bytes", ""),
			func(v float64) bool { return v >= 2<<20 }},
		{"rss_bytes > 0", value(t, hits, "rss_bytes", ""), func(v float64) bool { return v > 0 }},
		{"fragmentation_ratio > 0", value(t, hits, "fragmentation_ratio", ""),
			func(v float64) bool { return v > 0 }},
		{"clients >= 6", value(t, hits, "clients", ""), func(v float64) bool { return v >= 6 }},
		{"keys >= 200 more", value(t, hits, "keys", db) - value(t, first, "keys", db),
			func(v float64) bool { return v >= 200 }},
		{"ping_seconds in (0, 1)", value(t, hits, "ping_seconds", ""),
			func(v float64) bool { return v > 0 && v < 1 }},
	}
	for _, ch := range checks {
		if !ch.ok(ch.got) {
			t.Errorf("%s: got %v", ch.name, ch.got)
		}
	}

	// Misses: lookups of keys that do not exist.
	pipe = c.Pipeline()
	for i := range 2000 {
		pipe.Get(ctx, prefix+"missing:"+strconv.Itoa(i))
	}
	pipe.Exec(ctx)
	misses := collect(t, s)
	if got, was := value(t, misses, "hit_ratio", ""), value(t, hits, "hit_ratio", ""); got >= was || got > 0.2 {
		t.Errorf("hit_ratio after misses = %.3f, want below %.3f and 0.2", got, was)
	}
}

// waitClients polls until the server counts n of extra's connections.
func waitClients(t *testing.T, extra *goredis.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for extra.PoolStats().TotalConns < uint32(n) {
		if time.Now().After(deadline) {
			t.Fatalf("pool never opened %d connections", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCollect_Recovery(t *testing.T) {
	addr := redisAddr(t)
	proxy := srctest.Start(t, addr)
	const secret = "hunter2-not-logged"
	// A server without a password accepts any.
	s := newSource(t, "addr: "+proxy.Addr(), "timeout: 2s", "password: "+secret)

	collect(t, s)
	proxy.Stop()
	_, err := s.Collect(context.Background())
	if err == nil {
		t.Fatal("collect through a stopped proxy succeeded")
	}
	t.Logf("server gone: %v", err)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), proxy.Addr()) {
		t.Errorf("error does not name the server: %v", err)
	}

	// A dropped connection fails at most the one sample that finds it.
	proxy.Restart()
	if _, err := s.Collect(context.Background()); err != nil {
		if _, err := s.Collect(context.Background()); err != nil {
			t.Fatalf("collect after the server came back: %v", err)
		}
	}
}

func TestCollect_TLS(t *testing.T) {
	proxy := srctest.StartTLS(t, redisAddr(t))

	// The test certificate is self-signed: verification must refuse it
	// unless told to skip.
	strict := newSource(t, "addr: "+proxy.Addr(), "tls: true")
	if _, err := strict.Collect(context.Background()); err == nil {
		t.Error("collect trusted a self-signed certificate")
	}
	s := newSource(t, "addr: "+proxy.Addr(), "tls: true", "tls_skip_verify: true")
	if v := value(t, collect(t, s), "ping_seconds", ""); v <= 0 {
		t.Errorf("ping_seconds over TLS = %v", v)
	}
	plain := newSource(t, "addr: "+proxy.Addr(), "timeout: 500ms")
	if _, err := plain.Collect(context.Background()); err == nil {
		t.Error("plain collect from a TLS server succeeded")
	}
}

// TestCollect_Stalled checks a server that accepts and never answers cannot
// hold a sample past its timeout.
func TestCollect_Stalled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := newSource(t, "addr: "+ln.Addr().String(), "timeout: 200ms")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := s.Collect(ctx); err == nil {
		t.Fatal("collect from a silent server succeeded")
	} else {
		t.Logf("silent server: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("collect took %v with a 200ms timeout", d)
	}
}

func TestNew_Settings(t *testing.T) {
	tests := []struct {
		name     string
		settings []string
		wantErr  string
	}{
		{"defaults", nil, ""},
		{"tls", []string{"addr: cache.internal:6380", "tls: true", "password: pw"}, ""},
		{"no port", []string{"addr: 127.0.0.1"}, "addr: want host:port"},
		{"negative db", []string{"db: -1"}, "db: must not be negative"},
		{"skip verify alone", []string{"tls_skip_verify: true"}, "tls_skip_verify"},
		{"unknown key", []string{"database: 1"}, "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collector.New(srctest.Spec(t, Kind, tt.settings...), collector.Deps{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("new: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseInfo(t *testing.T) {
	text := "# Memory\r\nused_memory:1024\r\nmem_fragmentation_ratio:1.50\r\n\r\n" +
		"# Keyspace\r\ndb0:keys=12,expires=1,avg_ttl=0\r\ndb3:keys=4,expires=0,avg_ttl=0\r\n"
	fields, keys := parseInfo(text)
	if fields["used_memory"] != "1024" || fields["mem_fragmentation_ratio"] != "1.50" {
		t.Errorf("fields = %v", fields)
	}
	if keys["db0"] != 12 || keys["db3"] != 4 || len(keys) != 2 {
		t.Errorf("keyspace = %v", keys)
	}
}

func BenchmarkCollect(b *testing.B) {
	addr := redisAddr(b)
	s := newSource(b, "addr: "+addr)
	collect(b, s)

	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
