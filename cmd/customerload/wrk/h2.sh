#!/usr/bin/env bash
# h2.sh [SECONDS] [RUNS]: the outside comparison over cleartext HTTP/2 (h2c), for the protocols
# wrk cannot speak: gRPC and Connect with the binary codec. It builds customerd and customerload,
# starts customerd (durability full) and customerload's echo ceiling (ceiling-server, which
# answers both protocols with a body of the same shape and no database) on free loopback ports,
# seeds customerd with wrk creates (SEED seconds, 8), then drives GetCustomer (id 42) and
# ListCustomers (a page of 50) on each with h2load (2 threads, 64 connections, one stream
# each), RUNS times (3), SECONDS each (5), and prints the medians: req/s, server CPU us per
# request, and customerd's req/s against the ceiling's. h2load sends one fixed body, so creates
# and updates (which need a new body each time) are left to customerload -protocol grpc and
# -protocol connect-proto. Needs h2load (Debian: nghttp2-client) and wrk. See
# docs/performance.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
d=${1:-5} runs=${2:-3}
for tool in h2load wrk; do
  command -v $tool >/dev/null || { echo "h2.sh needs $tool (Debian: apt-get install nghttp2-client wrk)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/customerd" ./cmd/customerd
go build -o "$tmp/customerload" ./cmd/customerload
. "$here/lib.sh"
start customerd "$tmp/customerd" -addr 127.0.0.1:0 -db "$tmp/customerd.db"
start ceiling "$tmp/customerload" ceiling-server
echo "seeding"
"$here/run.sh" "$pid_customerd" "$url_customerd" create ${SEED:-8} >/dev/null
# gRPC errors hide in trailers h2load does not read: make sure the customer asked for is there.
curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"id":"42"}' "$url_customerd/customer.v1.CustomerService/GetCustomer" ||
  { echo "customer 42 is missing after seeding: give SEED more seconds" >&2; exit 1; }

# The request bodies: GetCustomerRequest{id: 42} and ListCustomersRequest{page_size: 50} in the
# protobuf binary encoding, bare for Connect, in a gRPC frame (flag byte, big-endian length).
printf '\x08\x2a' > "$tmp/get.proto"
printf '\x08\x32' > "$tmp/list.proto"
printf '\x00\x00\x00\x00\x02\x08\x2a' > "$tmp/get.grpc"
printf '\x00\x00\x00\x00\x02\x08\x32' > "$tmp/list.grpc"

# drive SERVER PROTOCOL OP: one h2load run; prints "RPS req/s CPU us/req failed=N" (N: requests
# that failed or were answered with a status other than 2xx; a gRPC error travels in a 200's
# trailers, which h2load does not read).
drive() {
  local pid=pid_$1 url=url_$1 proto=$2 op=$3 method headers
  method=$(case $op in get) echo GetCustomer;; list) echo ListCustomers;; esac)
  case $proto in
    grpc) headers=(-H 'content-type: application/grpc' -H 'te: trailers');;
    proto) headers=(-H 'content-type: application/proto');;
  esac
  local t0 t1 out
  t0=$(ticks ${!pid})
  out=$(h2load -t2 -c64 -m1 -D "$d" "${headers[@]}" -d "$tmp/$op.$proto" "${!url}/customer.v1.CustomerService/$method")
  t1=$(ticks ${!pid})
  # "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout" and
  # "status codes: N 2xx, N 3xx, N 4xx, N 5xx" (which also counts the answers still arriving
  # when the time ran out).
  local done rps bad
  done=$(echo "$out" | awk '/^requests:/{print $6}')
  bad=$(echo "$out" | awk '/^requests:/{f=$10+$12+$14} /^status codes:/{s=$5+$7+$9} END {print f+s}')
  rps=$(echo "$out" | awk '/^finished in/{gsub(",", "", $4); print $4}')
  [ "${done:-0}" -gt 0 ] || { echo "$out" >&2; echo "h2load answered no request" >&2; exit 1; }
  echo "$rps req/s $(( (t1-t0) * 1000000 / $(getconf CLK_TCK) / done )) us/req failed=$bad"
}

for run in $(seq "$runs"); do
  for proto in grpc proto; do
    for op in get list; do
      for s in customerd ceiling; do
        echo "run $run $s $proto $op $(drive $s $proto $op)" | tee -a "$tmp/results"
      done
    done
  done
done

echo
echo "medians of $runs runs, h2load -t2 -c64 -m1 -D $d, h2c"
printf '%-6s %-5s %-10s %10s %14s\n' proto op server req/s 'CPU us/req'
for proto in grpc proto; do
  for op in get list; do
    for s in customerd ceiling; do
      rps=$(median 6 $s $proto $op) cpu=$(median 8 $s $proto $op)
      printf '%-6s %-5s %-10s %10s %14s\n' $proto $op $s $rps $cpu
      eval "rps_$s=$rps cpu_$s=$cpu"
    done
    awk -v r=$rps_customerd -v e=$rps_ceiling -v c=$cpu_customerd -v p=$proto -v o=$op 'BEGIN {
      printf "%-6s %-5s customerd: %.0f%% of the ceiling'\''s req/s, %s us of CPU per request\n", p, o, 100*r/e, c }'
  done
done
