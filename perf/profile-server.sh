# Sourced by perf/profile-*.sh: start_server OUT CMD... starts the server CMD pinned to CPU 0
# (stdout to OUT.port, stderr to OUT.stderr), kills it on exit, waits until it printed its
# {"port":P} line, and sets $pid and $port.
start_server() {
  out=$1
  shift
  rm -f "$out.port"  # the background redirect truncates it only later
  taskset -c 0 "$@" >"$out.port" 2>"$out.stderr" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true; rm -f /tmp/perf-$pid.map' EXIT
  i=0
  while [ ! -s "$out.port" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "server did not start: $(cat "$out.stderr")" >&2; exit 1; fi
    sleep 0.1
  done
  port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$out.port")
}
