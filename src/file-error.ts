// A failed file operation as Node's fs reports it: code, errno (negative), syscall, path,
// and Node's message ("ENOENT: no such file or directory, open '/x'").
import { systemError, type SystemError } from "./system-error.js";

export function fileError(errno: number, syscall: string, path?: string): SystemError {
  const err = systemError(errno, syscall, path === undefined ? undefined : { path });
  const description = (err as { description?: string }).description ?? "unknown error";
  err.message = `${err.code}: ${description}, ${syscall}${path === undefined ? "" : ` '${path}'`}`;
  return err;
}
