#!/usr/bin/env bash
# run.sh PID URL OP [SECONDS]: drives the Connect JSON call OP (create, get, list or update) of
# the server at URL with wrk (2 threads, 64 connections) for SECONDS (5), and prints req/s, the
# server's CPU µs per request (utime+stime of process PID from /proc over the run) and how many
# answers were not 2xx. See docs/performance.md.
set -euo pipefail
pid=$1 url=$2 op=$3 d=${4:-5}
here=$(dirname "$0")
method=$(case $op in get) echo GetCustomer;; list) echo ListCustomers;; update) echo UpdateCustomer;; create) echo CreateCustomer;; esac)
. "$here/lib.sh"
t0=$(ticks $pid)
out=$(wrk -t2 -c64 -d${d}s -s "$here/$op.lua" "$url/customer.v1.CustomerService/$method")
t1=$(ticks $pid)
reqs=$(echo "$out" | awk '/requests in/{print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
errs=$(echo "$out" | awk '/Non-2xx/{print $NF}')
hz=$(getconf CLK_TCK)
echo "$op $rps req/s $(( (t1-t0) * 1000000 / hz / reqs )) us/req non2xx=${errs:-0}"
