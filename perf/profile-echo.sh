#!/bin/sh
# Profiles one echo server under load: where its CPU time goes (perf cpu-clock samples,
# JIT frames named through node --perf-basic-prof), plus user vs sys time per message from /proc.
#   perf/profile-echo.sh uring|ubuf|fallback|net|cref [size=64] [conns=100] [secs=4]
# Needs `perf` (apt-get install -y linux-perf) and a built tree (npm run build:ts).
# Server on CPU 0, load on CPU 1, as in net-bench. Output: perf/bin/profile-<variant>-*.txt
set -eu
variant=${1:?usage: profile-echo.sh uring|ubuf|fallback|net|cref [size] [conns] [secs]}
size=${2:-64}
conns=${3:-100}
secs=${4:-4}
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/build.sh"
case $variant in
  uring|fallback) cmd="node --perf-basic-prof servers/ringloop-server.mjs $variant echo" ;;
  ubuf) cmd="node --perf-basic-prof servers/ringloop-server.mjs uring buffered" ;;
  net) cmd="node --perf-basic-prof servers/net-server.mjs echo" ;;
  cref) cmd="$here/bin/uring-echo-ref" ;;
  *) echo "variant must be uring, ubuf, fallback, net or cref" >&2; exit 2 ;;
esac
out="$here/bin/profile-$variant-$size-x$conns"
cd "$here"
. "$here/profile-server.sh"
start_server "$out" $cmd
stat() { awk '{ sub(/.*\) /, ""); print $12, $13 }' "/proc/$pid/stat"; }
taskset -c 1 "$here/bin/echo-load" --port "$port" --conns "$conns" --size "$size" --duration 1 --warmup 0 >/dev/null
before=$(stat)
timeout $((secs + 10)) perf record -q -e cpu-clock -F 1999 -g -p "$pid" -o "$out.data" -- sleep "$secs" 2>/dev/null &
rec=$!
taskset -c 1 "$here/bin/echo-load" --port "$port" --conns "$conns" --size "$size" --duration "$secs" --warmup 0 --stat-pid "$pid" | tee "$out.load.json"
after=$(stat)
wait $rec || true
ops=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' "$out.load.json")
tck=$(getconf CLK_TCK)
echo "$before $after $ops $tck" | awk '{ u = $3-$1; s = $4-$2; k = 1e6 / $6 / $5
  printf "server user %d ticks, sys %d ticks (%.0f%% sys): %.2f us user + %.2f us sys per message\n", u, s, 100*s/(u+s+1e-9), u*k, s*k }' | tee "$out.txt"
perf report -i "$out.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep '%' | head -12 | tee -a "$out.txt"
perf report -i "$out.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep '%' | head -40 | tee -a "$out.txt"
