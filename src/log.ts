// Where the loop reports what asyncio sends to its logger: errors from the default exception
// handler, debug-mode slow callbacks, unclosed resources. Replaceable for embedding/tests.
import * as util from "node:util";

export interface Logger {
  error(message: string): void;
  warning(message: string): void;
}

export const logger: Logger = {
  error: (message) => process.stderr.write(`ringloop: ${message}\n`),
  warning: (message) => process.emitWarning(message, { type: "RingloopWarning" }),
};

export function setLogger(next: Partial<Logger>): void {
  if (next.error) logger.error = next.error;
  if (next.warning) logger.warning = next.warning;
}

export function formatValue(value: unknown): string {
  if (value instanceof Error) return value.stack ?? String(value);
  if (typeof value === "string") return value;
  return util.inspect(value, { depth: 2, breakLength: Infinity });
}
