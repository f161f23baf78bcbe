// uring only: the native sendfile path, each strategy forced in turn (splice through a
// pooled pipe, sendfile(2) on writability): exact ranges by hash, the EAGAIN -> POLLOUT
// path with a reader that stalls, a 64-bit offset (> 4 GiB, sparse file), pipe reuse
// from the pool and no pipe fd left after the loop closes, truncation / reset / abort
// with ops in flight (every op completes before the file and the pipe are released), and
// the "auto" choice by page-cache state.
import test, { type ExecutionContext } from "ava";
import type { AbstractEventLoop } from "ringloop";
import * as fs from "node:fs";
import type * as net from "node:net";
import { spawnSync } from "node:child_process";
import type { UringProactor } from "../../src/uring/proactor.js";
import { _setSendfileStrategy, fileSendStats, type Strategy } from "../../src/uring/sendfile.js";
import { uringOnlyTest, sleep } from "../helpers/backends.js";
import { inLoop } from "../streams/_streams.js";
import { makeFile, hashRange, Reader, stallingReader, connect, closeAndWait, within, deferred, MiB } from "./_sendfile.js";

const file = makeFile(24 * MiB);
test.after.always(() => file.remove());

/** Forces loop.sendfile's native strategy for the rest of test `t`. */
function forceStrategy(t: ExecutionContext, strategy: Strategy): void {
  _setSendfileStrategy(strategy);
  t.teardown(() => _setSendfileStrategy("auto"));
}

function pipes(loop: AbstractEventLoop) {
  return (loop as unknown as { _proactor: UringProactor })._proactor.pipes();
}

for (const strategy of ["splice", "syscall"] as const) {
  uringOnlyTest(`sendfile ${strategy}: exact ranges, and a reader that stalls (EAGAIN -> POLLOUT)`, async (t, { loop }) => {
    const before = { ...fileSendStats };
    // The second connection's reader stops for 300 ms after its first data: the socket fills.
    let n = 0;
    const reader = await new Reader((s) => {
      if (++n !== 2) return;
      s.once("data", () => {
        s.pause();
        setTimeout(() => s.resume(), 300);
      });
    }).listen();
    try {
      forceStrategy(t, strategy);
      await inLoop(loop, async () => {
        for (const [offset, count] of [[1, 3 * MiB + 7], [4093, 20 * MiB + 1], [24 * MiB - 5, 5]]) {
          const [tr, p] = await connect(loop, reader.port);
          t.is(await within(20000, loop.sendfile(tr, file.path, offset, count), "sendfile"), count);
          t.is(await closeAndWait(tr, p), null);
          const r = await within(10000, reader.received(), "reader");
          t.is(r.bytes, count);
          t.is(r.hash, hashRange(file.path, offset, count));
        }
      });
    } finally {
      await reader.close();
    }
    t.is(fileSendStats[strategy] - before[strategy], 3, `3 sends took the ${strategy} path`);
    const polls = strategy === "splice" ? fileSendStats.splicePolls - before.splicePolls : fileSendStats.syscallPolls - before.syscallPolls;
    t.true(polls > 0, "the stalled reader never made the socket full: EAGAIN path not exercised");
  });

  uringOnlyTest(`sendfile ${strategy}: offsets beyond 4 GiB (sparse file) are carried in 64 bits`, async (t, { loop }) => {
    const sparse = makeFile(MiB, "sparse");
    const base = 4 * 1024 * MiB + 12345; // > 2^32
    try {
      const fd = fs.openSync(sparse.path, "r+");
      try {
        fs.writeSync(fd, fs.readFileSync(file.path).subarray(0, 2 * MiB), 0, 2 * MiB, base);
      } finally {
        fs.closeSync(fd);
      }
      const reader = await new Reader().listen();
      try {
        forceStrategy(t, strategy);
        await inLoop(loop, async () => {
          const [tr, p] = await connect(loop, reader.port);
          t.is(await within(20000, loop.sendfile(tr, sparse.path, base + 3, 2 * MiB - 3), "sendfile"), 2 * MiB - 3);
          t.is(await closeAndWait(tr, p), null);
        });
        const r = await within(10000, reader.received(), "reader");
        t.is(r.hash, hashRange(file.path, 3, 2 * MiB - 3));
      } finally {
        await reader.close();
      }
    } finally {
      sparse.remove();
    }
  });

  uringOnlyTest(`sendfile ${strategy}: abort and peer reset with ops in flight release everything`, async (t, { loop }) => {
    const stalled = deferred<net.Socket>();
    let n = 0;
    const reader = await new Reader((s) => {
      n++;
      if (n === 1) {
        // abort: stall so ops are in flight, resumed by the test
        s.once("data", () => {
          s.pause();
          stalled.resolve(s);
        });
      } else {
        // reset after the first bytes
        s.once("data", () => s.resetAndDestroy());
      }
    }).listen();
    try {
      forceStrategy(t, strategy);
      await inLoop(loop, async () => {
        const [tr, p] = await connect(loop, reader.port);
        const sending = loop.sendfile(tr, file.path);
        sending.catch(() => {});
        const s = await within(10000, stalled.promise, "stalled reader");
        await sleep(50);
        tr.abort();
        s.resume();
        await t.throwsAsync(within(10000, sending, "sendfile after abort"), { code: "ERR_TRANSPORT_CLOSED" });
        t.is(await within(10000, p.lost.promise, "connectionLost"), null);

        const [tr2, p2] = await connect(loop, reader.port);
        const err = (await within(20000, loop.sendfile(tr2, file.path).then(() => null, (e: NodeJS.ErrnoException) => e), "sendfile after reset"))!;
        t.truthy(err, "sendfile resolved despite the reset");
        t.true(["EPIPE", "ECONNRESET"].includes(err?.code ?? ""), String(err));
        await within(10000, p2.lost.promise, "connectionLost after reset");
        if (strategy === "splice") t.is(pipes(loop).idleCount, 0, "a pipe that may hold bytes is closed, not pooled");
      });
    } finally {
      await reader.close();
    }
  });
}

uringOnlyTest("sendfile splice: pipes are reused from the pool and closed with the loop", async (t, { loop }) => {
  const reader = await new Reader().listen();
  let created = -1;
  let idle = -1;
  try {
    forceStrategy(t, "splice");
    await inLoop(loop, async () => {
      for (let i = 0; i < 5; i++) {
        const [tr, p] = await connect(loop, reader.port);
        t.is(await within(20000, loop.sendfile(tr, file.path, i * 1000, MiB + i), "sendfile"), MiB + i);
        t.is(await closeAndWait(tr, p), null);
        const r = await within(10000, reader.received(), "reader");
        t.is(r.hash, hashRange(file.path, i * 1000, MiB + i));
      }
      // Two at once need two pipes.
      const conns = await Promise.all([connect(loop, reader.port), connect(loop, reader.port)]);
      await within(20000, Promise.all(conns.map(([tr]) => loop.sendfile(tr, file.path, 0, 4 * MiB))), "two sendfiles");
      await Promise.all(conns.map(([tr, p]) => closeAndWait(tr, p)));
      created = pipes(loop).created;
      idle = pipes(loop).idleCount;
    });
  } finally {
    await reader.close();
  }
  t.is(created, 2, "one pipe for the five sequential sends, a second for the concurrent one");
  t.is(idle, 2);
});

uringOnlyTest("sendfile: truncation with the native path rejects ERR_FILE_TRUNCATED for both strategies", async (t, { loop }) => {
  for (const strategy of ["splice", "syscall"] as const) {
    const own = makeFile(16 * MiB, "trunc");
    const { reader, stalled } = await stallingReader();
    try {
      forceStrategy(t, strategy);
      await inLoop(loop, async () => {
        const [tr, p] = await connect(loop, reader.port);
        const sending = loop.sendfile(tr, own.path, 0, 16 * MiB);
        sending.catch(() => {});
        const s = await within(10000, stalled(), "stalled reader");
        fs.truncateSync(own.path, 0);
        s.resume();
        const err = (await within(20000, sending.then((n) => new Error(`resolved ${n}`), (e: Error) => e), "sendfile")) as Error & { code?: string; bytesSent?: number };
        t.is(err.code, "ERR_FILE_TRUNCATED", `${strategy}: ${err.message}`);
        tr.write(Buffer.from("z"));
        t.is(await closeAndWait(tr, p), null);
        const r = await within(10000, reader.received(), "reader");
        t.is(r.bytes, err.bytesSent! + 1, `${strategy}: bytesSent matches what arrived`);
      });
    } finally {
      await reader.close();
      own.remove();
    }
  }
});

/** Drops `file` from the page cache (fsync first: dirty pages stay). False where it cannot. */
function evict(file: string, offsets: number[] = [0]): boolean {
  const fd = fs.openSync(file, "r+");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  // DONTNEED skips pages something still holds (a socket buffer of the previous send may
  // still reference them for a moment): drop again until mincore(2) finds none of the pages
  // the test depends on resident, for up to 2 s. (mincore, not a RWF_NOWAIT read: that read
  // starts readahead of the very page it finds missing.)
  const script = [
    "import ctypes, mmap, os, sys, time",
    "libc = ctypes.CDLL(None, use_errno=True)",
    "libc.mmap.restype = ctypes.c_void_p",
    "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]",
    "libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]",
    "libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]",
    "fd = os.open(sys.argv[1], os.O_RDONLY)",
    "size = os.fstat(fd).st_size",
    "page = mmap.PAGESIZE",
    "pages = (size + page - 1) // page",
    "offsets = [int(x) for x in sys.argv[2:]]",
    "addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)",
    "vec = (ctypes.c_ubyte * pages)()",
    "def resident():",
    "    if libc.mincore(addr, size, vec) != 0: sys.exit(4)",
    "    return any(vec[o // page] & 1 for o in offsets)",
    "for _ in range(100):",
    "    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)",
    "    if not resident(): sys.exit(0)",
    "    time.sleep(0.02)",
    "sys.exit(3)",
  ].join("\n");
  const r = spawnSync("python3", ["-c", script, file, ...offsets.map(String)]);
  return r.status === 0;
}

uringOnlyTest("sendfile auto: sendfile(2) for cached data, splice when the first page is not cached, no check below 64 KiB", async (t, { loop }) => {
  const reader = await new Reader().listen();
  const cold = makeFile(4 * MiB, "cold");
  try {
    forceStrategy(t, "auto");
    await inLoop(loop, async () => {
      const send = async (offset: number, count: number): Promise<void> => {
        const [tr, p] = await connect(loop, reader.port);
        t.is(await within(20000, loop.sendfile(tr, cold.path, offset, count), "sendfile"), count);
        t.is(await closeAndWait(tr, p), null);
        t.is((await within(10000, reader.received(), "reader")).hash, hashRange(cold.path, offset, count));
      };
      fs.readFileSync(cold.path); // cached
      let before = { ...fileSendStats };
      await send(0, 2 * MiB);
      t.is(fileSendStats.syscall - before.syscall, 1, "cached: sendfile(2)");
      t.true(evict(cold.path, [MiB]), "posix_fadvise(DONTNEED) through python3, the page at 1 MiB gone");
      before = { ...fileSendStats };
      await send(MiB, 2 * MiB);
      t.is(fileSendStats.splice - before.splice, 1, "not cached: splice");
      t.true(evict(cold.path, [0]));
      before = { ...fileSendStats };
      await send(0, 4096);
      t.is(fileSendStats.syscall - before.syscall, 1, "small: sendfile(2) without a check");
    });
  } finally {
    cold.remove();
    await reader.close();
  }
});
