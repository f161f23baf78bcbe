#!/bin/sh
# Builds the C helpers into perf/bin/ (gitignored): the echo load generator, the page-cache
# copy ceiling and the C liburing echo reference server, the UDP load generator and the C
# recvmmsg/sendmmsg UDP echo reference, the TCP sink of zc-bench. Idempotent; run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/bin"
cc -O2 -Wall -Wextra -o "$here/bin/echo-load" "$here/echo-load.c"
cc -O2 -Wall -Wextra -pthread -o "$here/bin/read-ceiling" "$here/read-ceiling.c"
cc -O2 -Wall -Wextra -o "$here/bin/uring-echo-ref" "$here/uring-echo-ref.c" -luring
cc -O2 -Wall -Wextra -o "$here/bin/udp-load" "$here/udp-load.c"
cc -O2 -Wall -Wextra -o "$here/bin/udp-echo-ref" "$here/udp-echo-ref.c"
cc -O2 -Wall -Wextra -o "$here/bin/tcp-sink" "$here/tcp-sink.c"
