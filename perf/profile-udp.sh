#!/bin/sh
# Profiles one UDP echo server under udp-load: where its CPU time goes (perf cpu-clock
# samples, JIT frames named through node --perf-basic-prof), by DSO and by symbol.
#   perf/profile-udp.sh uring|fallback|node|cref [senders=32] [secs=4]
# Needs `perf` (apt-get install -y linux-perf) and a built tree (npm run build:ts).
# Server on CPU 0, load on CPU 1, as in udp-bench. Output: perf/bin/profile-udp-<variant>-*.txt
set -eu
variant=${1:?usage: profile-udp.sh uring|fallback|node|cref [senders] [secs]}
senders=${2:-32}
secs=${3:-4}
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/build.sh"
case $variant in
  uring|fallback|node) cmd="node --perf-basic-prof servers/udp-server.mjs $variant" ;;
  cref) cmd="$here/bin/udp-echo-ref" ;;
  *) echo "variant must be uring, fallback, node or cref" >&2; exit 2 ;;
esac
out="$here/bin/profile-udp-$variant-x$senders"
cd "$here"
. "$here/profile-server.sh"
start_server "$out" $cmd
taskset -c 1 "$here/bin/udp-load" --port "$port" --senders "$senders" --duration $((secs + 2)) --warmup 1 --stat-pid "$pid" >"$out.load.json" &
load=$!
sleep 1.5
timeout $((secs + 10)) perf record -q -e cpu-clock -F 1999 -g -p "$pid" -o "$out.data" -- sleep "$secs" 2>/dev/null
wait $load
cat "$out.load.json"
perf report -i "$out.data" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8 | tee "$out.dso.txt"
perf report -i "$out.data" --no-children --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 > "$out.sym.txt"
echo "symbols: $out.sym.txt"
