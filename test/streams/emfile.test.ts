// Accept under EMFILE: a child with RLIMIT_NOFILE 96 (prlimit; Node cannot lower its own)
// takes every free fd, then gets 3 connections ("early"); 1 s later it frees 16 fds and
// gets 3 more ("late"). Every backend: no spinning (under 250 ms of CPU in the second at
// EMFILE) and the late connections are served. uring (ringloop's own accept): the early
// connections wait in the backlog and are served once fds are free, and the error reaches
// the exception handler once for the episode (one report, EMFILE). fallback: libuv
// answers EMFILE by accepting and closing pending connections (its reserve-fd trick), and
// node:net does not report it, so early connections are closed unserved there.
import test from "ava";
import * as net from "node:net";
import { spawn } from "node:child_process";
import { BACKENDS, uringUnavailableReason, fixture } from "../helpers/backends.js";
import { within } from "./_streams.js";

const CLIENTS = 3;

interface ChildReport {
  cpuMs: number;
  acceptedWhileFull: number;
  accepted: number;
  lost: number;
  exceptions: { message: string; code?: string }[];
  backend: string;
  error?: string;
}

function runClient(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("connect", () => s.write("ping"));
    s.on("data", (d) => {
      got += d.toString();
      if (got.length >= 4) s.end();
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
    s.on("close", () => resolve(got));
    s.setTimeout(12_000, () => s.destroy());
  });
}

for (const backend of BACKENDS) {
  const reason = backend === "uring" ? uringUnavailableReason() : null;
  const register = reason !== null && process.env.RINGLOOP_REQUIRE_URING !== "1" ? test.serial.skip : test.serial;
  register(`[${backend}] streams: accept under EMFILE does not spin and serves again once fds are free`, async (t) => {
    const expected = backend === "uring" ? 2 * CLIENTS : CLIENTS;
    const child = spawn("prlimit", ["--nofile=96:96", process.execPath, fixture("streams-emfile.js"), String(expected)], {
      env: { ...process.env, RINGLOOP_BACKEND: backend },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const early: Promise<string>[] = [];
    const late: Promise<string>[] = [];
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const lines = out.split("\n");
      const { port } = lines.length > 1 ? (JSON.parse(lines[0]) as { port: number }) : { port: 0 };
      if (lines.length > 1 && early.length === 0) for (let i = 0; i < CLIENTS; i++) early.push(runClient(port));
      if (lines.length > 2 && late.length === 0) for (let i = 0; i < CLIENTS; i++) late.push(runClient(port));
    });
    const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
    try {
      const code = await within(20_000, exited, "EMFILE child exit");
      t.is(code, 0, err);
      const lines = out.trim().split("\n");
      t.is(lines.length, 3, out);
      const report = JSON.parse(lines[2]) as ChildReport;
      t.is(report.error, undefined);
      t.is(report.backend, backend);
      t.is(report.acceptedWhileFull, 0);
      t.true(report.cpuMs < 250, `CPU ${report.cpuMs} ms in the second at EMFILE`);
      t.deepEqual(await Promise.all(late), Array(CLIENTS).fill("ping"), "connections after the fds were freed are served");
      await Promise.all(early);
      if (backend === "uring") {
        t.deepEqual(await Promise.all(early), Array(CLIENTS).fill("ping"), "connections made at EMFILE are served once fds are free");
        t.is(report.exceptions.length, 1, JSON.stringify(report.exceptions));
        t.is(report.exceptions[0]?.code, "EMFILE");
      }
      t.is(report.accepted, expected);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
}
