#!/usr/bin/env bash
# compare.sh [SECONDS] [RUNS]: the outside comparison in one command. It builds customerd and
# customerload, starts customerd (durability full), customerload's hand-written server
# (handwritten-server: net/http + encoding/json + database/sql, synchronous=NORMAL) and its echo
# ceiling (ceiling-server: decodes and encodes the same JSON, no database) on free loopback
# ports with fresh databases, seeds both databases with creates, then drives create, get, list
# and update on each server with wrk through run.sh, RUNS times (3), SECONDS each (5), in turn,
# and prints every run and the medians: req/s, server CPU us per request, customerd's CPU per
# request against the hand-written server's, and its req/s against the ceiling's. Needs wrk
# (Debian's package wrk). See docs/performance.md.
# CUSTOMERD_ARGS adds flags to customerd (for example -audit-reads=false).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
d=${1:-5} runs=${2:-3}
command -v wrk >/dev/null || { echo "compare.sh needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/customerd" ./cmd/customerd
go build -o "$tmp/customerload" ./cmd/customerload

. "$here/lib.sh"
start customerd "$tmp/customerd" -addr 127.0.0.1:0 -db "$tmp/customerd.db" ${CUSTOMERD_ARGS:-}
start handwritten "$tmp/customerload" handwritten-server -db "$tmp/handwritten.db"
start ceiling "$tmp/customerload" ceiling-server
servers="customerd handwritten ceiling"
# BASELINE=DIR adds another hand-written server, built from the Go module in DIR and started with
# -addr and -db (as the team's reference server takes them), to the comparison.
if [ -n "${BASELINE:-}" ]; then
  go build -C "$BASELINE" -o "$tmp/baseline" .
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  start baseline "$tmp/baseline" -addr 127.0.0.1:$port -db "$tmp/baseline.db"
  "$here/run.sh" "$pid_baseline" "$url_baseline" create ${SEED:-8} >/dev/null
  servers="$servers baseline"
fi

echo "seeding (get and update pick customers 1 to 20,000)"
"$here/run.sh" "$pid_customerd" "$url_customerd" create ${SEED:-8} >/dev/null
"$here/run.sh" "$pid_handwritten" "$url_handwritten" create ${SEED:-8} >/dev/null

for run in $(seq "$runs"); do
  for op in create get list update; do
    for s in $servers; do
      pid=pid_$s url=url_$s
      echo "run $run $s $("$here/run.sh" "${!pid}" "${!url}" "$op" "$d")" | tee -a "$tmp/results"
    done
  done
done

# Lines: run N SERVER OP RPS req/s CPU us/req non2xx=E
echo
echo "medians of $runs runs, wrk -t2 -c64 -d${d}s, Connect JSON over HTTP/1.1"
printf '%-7s %-12s %10s %14s\n' op server req/s 'CPU us/req'
for op in create get list update; do
  for s in $servers; do
    rps=$(median 5 $s $op)
    cpu=$(median 7 $s $op)
    printf '%-7s %-12s %10s %14s\n' $op $s $rps $cpu
    eval "rps_${s}_$op=$rps cpu_${s}_$op=$cpu"
  done
  c=cpu_customerd_$op h=cpu_handwritten_$op r=rps_customerd_$op e=rps_ceiling_$op
  awk -v c=${!c} -v h=${!h} -v r=${!r} -v e=${!e} -v op=$op 'BEGIN {
    printf "%-7s customerd: %.2fx the hand-written server'\''s CPU per request, %.0f%% of the ceiling'\''s req/s\n", op, c/h, 100*r/e }'
  if [ -n "${BASELINE:-}" ]; then
    b=cpu_baseline_$op
    awk -v c=${!c} -v b=${!b} -v op=$op 'BEGIN { printf "%-7s customerd: %.2fx BASELINE'\''s CPU per request\n", op, c/b }'
  fi
done
