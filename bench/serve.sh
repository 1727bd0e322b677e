#!/usr/bin/env bash
# Prints tend serve's footprint: time to ready and idle RSS with the
# built-in default config, CPU share of one core with host metrics every
# second, and the samples/s the collector-to-JetStream path sustains.
#
#   bash bench/serve.sh [seconds]     (default 30 s of CPU measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/tend" ./cmd/tend
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tick=$(getconf CLK_TCK)

ready() { # addr → ms until /healthz answers
  local start=$1 addr=$2
  until curl -sf "http://$addr/healthz" >/dev/null 2>&1; do sleep 0.005; done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# 1. Built-in default: time to ready, idle RSS after 20 s.
addr="127.0.0.1:$(port)"
start=$(date +%s%N)
"$work/tend" serve --data-dir "$work/d1" --listen "$addr" --log-level warn >/dev/null 2>&1 &
pid=$!
echo "time to ready (default config): $(ready "$start" "$addr") ms"
sleep 20
echo "idle RSS (default config, after 20 s): $(rss_mb $pid) MB"
kill $pid; wait $pid 2>/dev/null || true

# 2. Host metrics every second: CPU share of one core.
cat > "$work/host1s.yaml" <<YAML
collector:
  interval: 1s
  sources:
    - name: host
      host: {}
rules:
  - {name: cpu_high, metric: host.cpu.percent, above: 90, for: 5m, severity: warning}
integrations:
  - {name: console, type: console}
routes:
  - {match: {type: alert}, to: [console]}
YAML
addr="127.0.0.1:$(port)"
start=$(date +%s%N)
"$work/tend" serve --config "$work/host1s.yaml" --data-dir "$work/d2" --listen "$addr" --log-level warn >/dev/null 2>&1 &
pid=$!
ready "$start" "$addr" >/dev/null
sleep 5
t0=$(cpu_ticks $pid); s0=$(date +%s%N)
sleep "$secs"
t1=$(cpu_ticks $pid); s1=$(date +%s%N)
awk -v t="$((t1 - t0))" -v hz="$tick" -v ns="$((s1 - s0))" \
  'BEGIN {printf "CPU share of one core (host source every 1 s, %d s): %.2f %%\n", ns/1e9, 100*(t/hz)/(ns/1e9)}'
echo "RSS (host source every 1 s): $(rss_mb $pid) MB"
kill $pid; wait $pid 2>/dev/null || true

# 3. Collector-to-JetStream throughput.
go test ./bus -run '^$' -bench PublishMetrics -benchtime 3s | awk '/samples\/s/ {print "collector to JetStream:", $(NF-1), "samples/s"}'
