// Dates as HTTP (IMF-fixdate, RFC 9110 5.6.7) and the access log (Common Log Format)
// write them. The current ones are cached per wall-clock second.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Sun, 06 Nov 1994 08:49:37 GMT" */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** An HTTP date in whole seconds since the epoch, or null when it is not a date. */
export function parseHttpDate(value: string): number | null {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

function pad(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** "10/Oct/2000:13:55:36 +0000" */
export function clfDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Current second, HTTP date and CLF date, recomputed only when the second changes. */
export class Clock {
  second = -1;
  http = "";
  clf = "";

  /** Updates to the current wall-clock second; returns it. */
  tick(): number {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.second) {
      this.second = second;
      this.http = httpDate(second * 1000);
      this.clf = clfDate(second * 1000);
    }
    return second;
  }
}
