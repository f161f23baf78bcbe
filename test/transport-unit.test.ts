// The stream transport alone, against a FAKE StreamEndpoint and a fake loop stepped by
// hand: write coalescing, the caller's Buffer, flow-control marks, close/abort ordering,
// connectionLost exactly once, quiet vs reported errors, protocol exceptions, pauseReading,
// EOF and half-close, BufferedProtocol memory.
import test from "ava";
import { Protocol, BufferedProtocol, type ExceptionContext } from "ringloop";
import type { StreamEndpoint, StreamSink } from "../src/proactor.js";
import type { SockAddr } from "../src/events.js";
import { StreamTransport } from "../src/transports/stream.js";
import { systemError, errno } from "../src/system-error.js";
import { heldRegions, STAGE_SIZE } from "../src/transports/write-stage.js";

class FakeLoop {
  ready: Array<() => void> = [];
  flushes: Array<{ _flush(): void }> = [];
  exceptions: ExceptionContext[] = [];
  callSoon(cb: (...a: unknown[]) => unknown, ...args: unknown[]) {
    this.ready.push(() => cb(...args));
    return { cancel() {} } as never;
  }
  callExceptionHandler(ctx: ExceptionContext) {
    this.exceptions.push(ctx);
  }
  getDebug() {
    return false;
  }
  _requestFlush(f: { _flush(): void }) {
    this.flushes.push(f);
  }
  /** One iteration: the ready callbacks, then the flushes (as BaseEventLoop._runIteration). */
  iterate() {
    for (const f of this.ready.splice(0)) f();
    for (const f of this.flushes.splice(0)) f._flush();
  }
}

class FakeEndpoint implements StreamEndpoint {
  fd = 42;
  sink!: StreamSink;
  log: string[] = [];
  writes: Buffer[][] = [];
  /** The chunks exactly as handed over (the transport's staging memory). */
  raw: Uint8Array[][] = [];
  readIntoBufs: Uint8Array[] = [];
  setSink(sink: StreamSink) {
    this.sink = sink;
  }
  startReading() {
    this.log.push("startReading");
  }
  stopReading() {
    this.log.push("stopReading");
  }
  readInto(buf: Uint8Array) {
    this.log.push("readInto");
    this.readIntoBufs.push(buf);
  }
  write(chunks: Uint8Array[]) {
    this.log.push(`write(${chunks.length})`);
    this.writes.push(chunks.map((c) => Buffer.from(c)));
    this.raw.push(chunks);
  }
  shutdownWrite() {
    this.log.push("shutdownWrite");
  }
  close() {
    this.log.push("close");
  }
  abort() {
    this.log.push("abort");
  }
  sockname(): SockAddr {
    return { host: "127.0.0.1", port: 1, family: 4 };
  }
  peername(): SockAddr {
    return { host: "127.0.0.1", port: 2, family: 4 };
  }
  setNoDelay() {}
}

class Recorder extends Protocol {
  calls: string[] = [];
  data: Buffer[] = [];
  lost: Array<Error | null> = [];
  keepOpen = false;
  override connectionMade() {
    this.calls.push("made");
  }
  override dataReceived(d: Buffer) {
    this.calls.push("data");
    this.data.push(d);
  }
  override eofReceived() {
    this.calls.push("eof");
    return this.keepOpen;
  }
  override pauseWriting() {
    this.calls.push("pause");
  }
  override resumeWriting() {
    this.calls.push("resume");
  }
  override connectionLost(exc: Error | null) {
    this.calls.push("lost");
    this.lost.push(exc);
  }
}

function setup(protocol: Protocol | BufferedProtocol = new Recorder()) {
  const loop = new FakeLoop();
  const ep = new FakeEndpoint();
  const tr = new StreamTransport(loop, ep, protocol, StreamTransport.extraFor(ep));
  return { loop, ep, tr, p: protocol as Recorder };
}

test("connectionMade runs via callSoon, then reading starts", (t) => {
  const { loop, ep, p } = setup();
  t.deepEqual(p.calls, []);
  t.deepEqual(ep.log, []);
  loop.iterate();
  t.deepEqual(p.calls, ["made"]);
  t.deepEqual(ep.log, ["startReading"]);
});

test("writes in one iteration are one endpoint write; writes while one is in flight are coalesced into the next", (t) => {
  const { loop, ep, tr } = setup();
  loop.iterate();
  tr.write(Buffer.from("a"));
  tr.write(Buffer.from("b"));
  tr.writelines([Buffer.from("c"), Buffer.from("d")]);
  t.is(ep.writes.length, 0, "nothing sent before the end of the iteration");
  loop.iterate();
  t.deepEqual(ep.writes.map((w) => Buffer.concat(w).toString()), ["abcd"]);
  tr.write(Buffer.from("e"));
  tr.write(Buffer.from("f"));
  loop.iterate();
  t.is(ep.writes.length, 1, "one write in flight at a time");
  ep.sink.onWriteDone(null);
  t.deepEqual(ep.writes.map((w) => Buffer.concat(w).toString()), ["abcd", "ef"]);
  t.is(ep.writes[1].length, 1, "both queued writes in ONE contiguous chunk of ONE endpoint write");
});

test("the caller may change its Buffer right after write()", (t) => {
  const { loop, ep, tr } = setup();
  loop.iterate();
  const b = Buffer.from("hello");
  tr.write(b);
  b.fill(0x78);
  loop.iterate();
  t.is(Buffer.concat(ep.writes[0]).toString(), "hello");
});

test("pauseWriting above the high mark, resumeWriting at the low mark, size counts in-flight bytes", (t) => {
  const { loop, ep, tr, p } = setup();
  loop.iterate();
  tr.setWriteBufferLimits(100, 20);
  t.deepEqual(tr.getWriteBufferLimits(), [20, 100]);
  tr.write(Buffer.alloc(100));
  t.false(p.calls.includes("pause"), "exactly high is not above it");
  tr.write(Buffer.alloc(1));
  t.is(p.calls.filter((c) => c === "pause").length, 1);
  tr.write(Buffer.alloc(10));
  t.is(p.calls.filter((c) => c === "pause").length, 1, "paused once");
  t.is(tr.getWriteBufferSize(), 111);
  loop.iterate();
  t.is(tr.getWriteBufferSize(), 111, "in flight still counts");
  tr.write(Buffer.alloc(30));
  ep.sink.onWriteDone(null);
  t.is(tr.getWriteBufferSize(), 30);
  t.false(p.calls.includes("resume"), "30 > low");
  ep.sink.onWriteDone(null);
  t.is(tr.getWriteBufferSize(), 0);
  t.deepEqual(p.calls.filter((c) => c === "pause" || c === "resume"), ["pause", "resume"]);
});

test("setWriteBufferLimits follows asyncio's rules and errors", (t) => {
  const { tr } = setup();
  t.deepEqual(tr.getWriteBufferLimits(), [16384, 65536]);
  tr.setWriteBufferLimits(1000);
  t.deepEqual(tr.getWriteBufferLimits(), [250, 1000]);
  tr.setWriteBufferLimits(undefined, 100);
  t.deepEqual(tr.getWriteBufferLimits(), [100, 400]);
  tr.setWriteBufferLimits();
  t.deepEqual(tr.getWriteBufferLimits(), [16384, 65536]);
  t.throws(() => tr.setWriteBufferLimits(10, 20), { instanceOf: RangeError, message: /high \(10\) must be >= low \(20\)/ });
  t.throws(() => tr.setWriteBufferLimits(-1), { instanceOf: RangeError, message: /"high"/ });
  t.throws(() => tr.setWriteBufferLimits("1" as never), { instanceOf: TypeError, message: /"high"/ });
  t.throws(() => tr.setWriteBufferLimits(undefined, NaN), { instanceOf: TypeError, message: /"low"/ });
});

test("close() flushes queued writes, then closes the endpoint; connectionLost(null) exactly once", (t) => {
  const { loop, ep, tr, p } = setup();
  loop.iterate();
  tr.write(Buffer.from("x"));
  tr.close();
  t.true(tr.isClosing());
  t.false(tr.isReading());
  tr.close();
  loop.iterate();
  t.deepEqual(ep.log, ["startReading", "stopReading", "write(1)"]);
  ep.sink.onWriteDone(null);
  t.deepEqual(ep.log.slice(-1), ["close"]);
  t.false(p.calls.includes("lost"), "connectionLost waits for the endpoint to be closed");
  ep.sink.onClosed();
  ep.sink.onClosed();
  t.deepEqual(p.lost, [null]);
  t.deepEqual(loop.exceptions, []);
});

test("abort() drops queued data, aborts the endpoint, connectionLost(null) once", (t) => {
  const { loop, ep, tr, p } = setup();
  loop.iterate();
  tr.write(Buffer.from("x"));
  tr.abort();
  tr.abort();
  tr.close();
  loop.iterate();
  t.deepEqual(ep.writes, []);
  t.deepEqual(ep.log, ["startReading", "abort"]);
  t.is(tr.getWriteBufferSize(), 0);
  ep.sink.onClosed();
  t.deepEqual(p.lost, [null]);
});

test("ECONNRESET / EPIPE close quietly with connectionLost(err); other errors reach the exception handler", (t) => {
  for (const [code, quiet] of [["ECONNRESET", true], ["EPIPE", true], ["EIO", false]] as const) {
    const { loop, ep, tr, p } = setup();
    loop.iterate();
    const err = systemError(errno[code], code === "EPIPE" ? "write" : "read");
    if (code === "EPIPE") {
      tr.write(Buffer.from("x"));
      loop.iterate();
      ep.sink.onWriteDone(err);
    } else {
      ep.sink.onReadError(err);
    }
    t.deepEqual(ep.log.slice(-1), ["abort"], code);
    ep.sink.onClosed();
    t.deepEqual(p.lost, [err], code);
    t.is(loop.exceptions.length, quiet ? 0 : 1, code);
    if (!quiet) {
      t.is(loop.exceptions[0].exception, err);
      t.is(loop.exceptions[0].transport, tr);
      t.is(loop.exceptions[0].protocol, p);
    }
  }
});

test("an exception in dataReceived goes to the exception handler with asyncio's keys and aborts the transport", (t) => {
  const boom = new Error("boom");
  class Bad extends Recorder {
    override dataReceived() {
      throw boom;
    }
  }
  const { loop, ep, tr, p } = setup(new Bad());
  loop.iterate();
  ep.sink.onData(Buffer.from("x"));
  t.is(loop.exceptions.length, 1);
  const ctx = loop.exceptions[0];
  t.regex(String(ctx.message), /dataReceived/);
  t.is(ctx.exception, boom);
  t.is(ctx.transport, tr);
  t.is(ctx.protocol, p);
  t.deepEqual(ep.log.slice(-1), ["abort"]);
  ep.sink.onClosed();
  t.deepEqual(p.lost, [boom]);
});

test("an exception in connectionLost is reported, not thrown", (t) => {
  class Bad extends Recorder {
    override connectionLost() {
      throw new Error("late");
    }
  }
  const { loop, ep, tr } = setup(new Bad());
  loop.iterate();
  tr.close();
  t.notThrows(() => ep.sink.onClosed());
  t.is(loop.exceptions.length, 1);
  t.regex(String(loop.exceptions[0].message), /connectionLost/);
});

test("pauseReading stops the endpoint and holds data still arriving until resumeReading", (t) => {
  const { loop, ep, tr, p } = setup();
  loop.iterate();
  tr.pauseReading();
  t.false(tr.isReading());
  t.deepEqual(ep.log, ["startReading", "stopReading"]);
  ep.sink.onData(Buffer.from("late"));
  t.deepEqual(p.data, [], "nothing delivered while paused");
  tr.resumeReading();
  t.true(tr.isReading());
  t.deepEqual(p.data, [], "replayed from the loop, not inside resumeReading()");
  loop.iterate();
  t.deepEqual(p.data.map(String), ["late"]);
  t.deepEqual(ep.log.slice(-1), ["startReading"]);
});

test("data arriving between resumeReading() and the replay of held data keeps its order", (t) => {
  const { loop, ep, tr, p } = setup();
  loop.iterate();
  tr.pauseReading();
  ep.sink.onData(Buffer.from("first"));
  tr.resumeReading();
  // A backend may still deliver before the replay runs (node:net can): it goes behind.
  ep.sink.onData(Buffer.from("second"));
  ep.sink.onEof();
  t.deepEqual(p.data, []);
  loop.iterate();
  t.deepEqual(p.data.map(String), ["first", "second"]);
  t.deepEqual(p.calls.slice(-3), ["data", "data", "eof"]);
});

test("eofReceived falsy closes; truthy keeps the write side; writeEof shuts down after the queue drains, then closes", (t) => {
  {
    const { loop, ep, p } = setup();
    loop.iterate();
    ep.sink.onEof();
    t.deepEqual(p.calls, ["made", "eof"]);
    t.deepEqual(ep.log.slice(-1), ["close"]);
  }
  {
    const r = new Recorder();
    r.keepOpen = true;
    const { loop, ep, tr, p } = setup(r);
    loop.iterate();
    ep.sink.onEof();
    t.false(tr.isClosing());
    tr.write(Buffer.from("bye"));
    tr.writeEof();
    t.throws(() => tr.write(Buffer.from("more")), { message: /writeEof/ });
    loop.iterate();
    t.deepEqual(ep.log.slice(-1), ["write(1)"], "shutdown waits for the write");
    ep.sink.onWriteDone(null);
    t.deepEqual(ep.log.slice(-1), ["shutdownWrite"]);
    ep.sink.onShutdownDone(null);
    t.deepEqual(ep.log.slice(-1), ["close"], "both directions done");
    ep.sink.onClosed();
    t.deepEqual(p.lost, [null]);
  }
});

test("BufferedProtocol: reads go straight into getBuffer() memory, then bufferUpdated(n)", (t) => {
  const mem = Buffer.alloc(16);
  const updates: number[] = [];
  class BP extends BufferedProtocol {
    override getBuffer() {
      return mem;
    }
    override bufferUpdated(n: number) {
      updates.push(n);
    }
  }
  const { loop, ep } = setup(new BP());
  loop.iterate();
  t.deepEqual(ep.log, ["readInto"]);
  t.is(ep.readIntoBufs[0], mem, "the protocol's own memory, no copy");
  mem.write("abc");
  ep.sink.onReadInto(3);
  t.deepEqual(updates, [3]);
  t.deepEqual(ep.log, ["readInto", "readInto"], "the next read is armed");
});

test("bad arguments: TypeErrors naming the argument", (t) => {
  const { tr } = setup();
  t.throws(() => tr.write("text" as never), { instanceOf: TypeError, message: /"data"/ });
  t.throws(() => tr.writelines(null as never), { instanceOf: TypeError, message: /"list"/ });
  t.throws(() => tr.setProtocol(null as never), { instanceOf: TypeError, message: /"protocol"/ });
  t.is(tr.getExtraInfo("nope", 7), 7);
  t.deepEqual(tr.getExtraInfo("peername"), { host: "127.0.0.1", port: 2, family: 4 });
  t.is((tr.getExtraInfo("socket") as { fileno(): number }).fileno(), 42);
});

test("staging memory of a write in flight is never reused before onWriteDone (or onClosed), then released", (t) => {
  const a = setup();
  const b = setup();
  a.loop.iterate();
  b.loop.iterate();
  a.tr.write(Buffer.alloc(1000, "a"));
  a.loop.iterate();
  const inFlight = a.ep.raw[0][0];
  const heldBefore = heldRegions();
  // Another transport writes and completes many times meanwhile: it must write elsewhere.
  for (let i = 0; i < 10; i++) {
    b.tr.write(Buffer.alloc(1000, "b"));
    b.loop.iterate();
    b.ep.sink.onWriteDone(null);
  }
  t.is(heldRegions(), heldBefore, "b's regions released at each onWriteDone");
  t.true(Buffer.from(inFlight).equals(Buffer.alloc(1000, "a")), "in-flight bytes unchanged");
  a.ep.sink.onWriteDone(null);
  t.is(heldRegions(), heldBefore - 1, "released after onWriteDone");
  // A write whose completion never comes is released at onClosed.
  a.tr.write(Buffer.alloc(10, "c"));
  a.loop.iterate();
  a.tr.abort();
  const beforeClosed = heldRegions();
  a.ep.sink.onClosed();
  t.is(heldRegions(), beforeClosed - 1, "released after onClosed");
});

test("transports share staging memory: 1,000 small writes in flight fill 3 stages at most, not one each", (t) => {
  const all = Array.from({ length: 1000 }, () => setup());
  const held = heldRegions();
  for (const [i, x] of all.entries()) {
    x.loop.iterate();
    x.tr.write(Buffer.alloc(100, i % 251));
  }
  for (const x of all) x.loop.iterate();
  const memory = new Set(all.map((x) => x.ep.raw[0][0].buffer));
  t.true(memory.size <= 3, `${memory.size} stages`);
  for (const [i, x] of all.entries()) t.true(Buffer.concat(x.ep.raw[0]).equals(Buffer.alloc(100, i % 251)));
  // One region per chunk (the write that crosses into the next stage has two).
  t.is(heldRegions(), held + all.reduce((n, x) => n + x.ep.raw[0].length, 0));
  for (const x of all) x.ep.sink.onWriteDone(null);
  t.is(heldRegions(), held, "every region released");
});

test("writes of two transports interleaved: each transport's bytes stay in order, one endpoint write each", (t) => {
  const a = setup();
  const b = setup();
  a.loop.iterate();
  b.loop.iterate();
  a.tr.write(Buffer.from("a1"));
  b.tr.write(Buffer.from("b1"));
  a.tr.write(Buffer.from("a2"));
  a.tr.write(Buffer.from("a3"));
  b.tr.write(Buffer.from("b2"));
  a.loop.iterate();
  b.loop.iterate();
  t.deepEqual(a.ep.writes.map((w) => w.map((c) => c.toString())), [["a1", "a2a3"]], "a2 and a3 contiguous");
  t.deepEqual(b.ep.writes.map((w) => w.map((c) => c.toString())), [["b1", "b2"]]);
  // A later write must not overwrite bytes still in flight.
  const c = setup();
  c.loop.iterate();
  c.tr.write(Buffer.alloc(5000, "c"));
  c.loop.iterate();
  t.deepEqual(Buffer.concat(a.ep.raw[0]).toString(), "a1a2a3");
  t.deepEqual(Buffer.concat(b.ep.raw[0]).toString(), "b1b2");
  for (const x of [a, b, c]) x.ep.sink.onWriteDone(null);
});

test("a write larger than a stage is split across stages, in order, as one endpoint write", (t) => {
  const { loop, ep, tr } = setup();
  loop.iterate();
  const big = Buffer.alloc(3 * STAGE_SIZE + 100);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  tr.write(Buffer.from("head"));
  tr.write(big);
  loop.iterate();
  t.is(ep.writes.length, 1);
  const sizes = ep.writes[0].map((c) => c.length);
  t.true(sizes.length === 4 || sizes.length === 5, `${sizes.length} chunks`);
  t.true(sizes.slice(1, -1).every((n) => n === STAGE_SIZE), "whole stages between the first and the last");
  t.true(Buffer.concat(ep.writes[0]).equals(Buffer.concat([Buffer.from("head"), big])));
  t.is(tr.getWriteBufferSize(), big.length + 4);
});
