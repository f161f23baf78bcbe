// The HTTP/1.1 plaintext workload, shared by the node:net and ringloop responders: a
// keep-alive "hello world" answer to every request. The parser only finds the end of each
// request head ("\r\n\r\n"); requests carry no body (wrk sends GET). Pipelining-safe: a
// chunk may hold several requests or part of one; the tail is kept until it completes.
export const RESPONSE = Buffer.from(
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
);
const HEAD_END = Buffer.from("\r\n\r\n");
const responsesFor = [Buffer.alloc(0), RESPONSE];

/** The bytes answering n requests (n >= 1), cached per n. */
export function responses(n) {
  let r = responsesFor[n];
  if (r === undefined) {
    r = Buffer.concat(Array.from({ length: n }, () => RESPONSE));
    if (n < 256) responsesFor[n] = r;
  }
  return r;
}

export class RequestSplitter {
  /** Bytes of an incomplete request head (a copy), or null. */
  tail = null;

  /** Returns how many complete requests `data` finishes. */
  feed(data) {
    const buf = this.tail === null ? data : Buffer.concat([this.tail, data]);
    let count = 0;
    let from = 0;
    for (;;) {
      const i = buf.indexOf(HEAD_END, from);
      if (i < 0) break;
      count++;
      from = i + 4;
    }
    this.tail = from < buf.length ? Buffer.from(buf.subarray(from)) : null;
    return count;
  }
}
