// The core driven by a fake Proactor: proves base-events talks to backends only through
// the seam (timer arming, keep-alive ref, close), with no I/O at all.
import test from "ava";
import { BaseEventLoop } from "ringloop";

class FakeProactor {
  readonly backend = "fallback" as const;
  readonly clockResolution = 0;
  host: { _runOnce(): void } | null = null;
  timerDeadline: number | null = null;
  log: string[] = [];
  refs = 0;
  closed = false;
  attach(host: { _runOnce(): void }) {
    this.host = host;
  }
  setTimer(when: number | null) {
    this.timerDeadline = when;
    this.log.push(when === null ? "disarm" : "arm");
  }
  /** What a backend does when its wake-up comes: forget the deadline, run an iteration. */
  fire() {
    this.timerDeadline = null;
    this.host!._runOnce();
  }
  pollNow() {
    this.log.push("poll");
  }
  ref() {
    this.refs++;
  }
  unref() {
    this.refs--;
  }
  pendingOps() {
    return 0;
  }
  close() {
    this.closed = true;
  }
  detachedCleanup() {
    return null;
  }
}

test.serial("a fake Proactor drives timers, keep-alive and close", async (t) => {
  const fake = new FakeProactor();
  const loop = new BaseEventLoop(fake as never);
  t.is(fake.host, loop);
  const seen: string[] = [];
  loop.callLater(200, () => seen.push("timer"));
  t.deepEqual(fake.log, [], "no wake-up is armed while the loop is not running");
  const running = loop.runForever();
  t.is(fake.refs, 1, "a running loop refs its backend");
  await new Promise((r) => setImmediate(r));
  t.deepEqual(fake.log, ["arm"], "after the first iteration: one wake-up for the earliest timer");
  const deadline = fake.timerDeadline!;
  t.true(deadline > loop.time() && deadline <= loop.time() + 200);
  loop.callLater(1, () => seen.push("earlier"));
  t.is(fake.timerDeadline! < deadline, true, "an earlier timer moves the wake-up");
  loop.callLater(500, () => seen.push("later"));
  t.is(fake.log.length, 2, "a later timer does not");
  await new Promise((r) => setTimeout(r, 210));
  fake.fire();
  t.deepEqual(seen, ["earlier", "timer"]);
  t.is(fake.timerDeadline! > deadline, true, "re-armed for the next timer");
  loop.stop();
  await running;
  t.is(fake.refs, 0, "a stopped loop unrefs");
  t.is(fake.log.at(-1), "disarm");
  loop.close();
  t.true(fake.closed);
});
