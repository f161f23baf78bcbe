// Loop time: CLOCK_MONOTONIC in milliseconds (asyncio's time.monotonic(), in ms).
// process.hrtime is CLOCK_MONOTONIC on Linux (uv_hrtime), so io_uring's absolute
// timeouts (IORING_TIMEOUT_ABS, CLOCK_MONOTONIC) use the same scale. performance.now()
// is far cheaper than hrtime.bigint() and runs on the same clock; one calibration aligns
// them (the two reads are taken back to back, well under a microsecond apart).
import { performance } from "node:perf_hooks";

const base = Number(process.hrtime.bigint()) / 1e6 - performance.now();

export function monotonicMs(): number {
  return base + performance.now();
}

/** Splits a monotonic ms time into a kernel timespec [seconds, nanoseconds]. */
export function toTimespec(ms: number): [number, number] {
  const whole = Math.floor(ms);
  const sec = Math.floor(whole / 1000);
  const nsec = (whole - sec * 1000) * 1e6 + Math.round((ms - whole) * 1e6);
  return nsec >= 1e9 ? [sec + 1, nsec - 1e9] : [sec, nsec];
}
