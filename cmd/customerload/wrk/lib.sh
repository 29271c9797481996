# lib.sh: what run.sh, compare.sh and h2.sh share. start and median use tmp
# (a temporary directory the sourcing script owns).

# start NAME COMMAND...: runs a server in the background and waits (30 s at most) for the
# address it says it listens on; sets pid_NAME and url_NAME.
start() {
  local name=$1; shift
  "$@" 2> "$tmp/$name.log" &
  local pid=$!
  for _ in $(seq 300); do
    url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$tmp/$name.log" | head -1 | sed 's/listening on //') || true
    if [ -n "$url" ]; then eval "pid_$name=$pid url_$name=$url"; return; fi
    kill -0 $pid 2>/dev/null || { cat "$tmp/$name.log" >&2; echo "$name did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name did not say where it listens within 30 s" >&2; exit 1
}

# median COLUMN MATCH...: the median of field COLUMN over the lines of $tmp/results whose
# fields 3, 4 (and 5) are MATCH.
median() {
  local col=$1; shift
  awk -v c=$col -v a="$1" -v b="$2" -v d="${3:-}" '$3==a && $4==b && (d=="" || $5==d) {print $c}' "$tmp/results" |
    sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

# ticks PID: the CPU time (user and system, in clock ticks) process PID has used.
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
