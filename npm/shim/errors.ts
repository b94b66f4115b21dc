/**
 * `Deno.errors` and the mapping of Node.js's system error codes onto them,
 * so that `error instanceof Deno.errors.NotFound` means the same everywhere.
 *
 * @module
 */

/** The `Deno.errors` classes the VM tests for or throws. */
export const errors = {
  NotFound: class NotFound extends Error {
    override name = "NotFound";
  },
  AlreadyExists: class AlreadyExists extends Error {
    override name = "AlreadyExists";
  },
  NotADirectory: class NotADirectory extends Error {
    override name = "NotADirectory";
  },
  IsADirectory: class IsADirectory extends Error {
    override name = "IsADirectory";
  },
  PermissionDenied: class PermissionDenied extends Error {
    override name = "PermissionDenied";
  },
  // Node.js and Bun have no permission model that Deno's NotCapable stands for.
  NotCapable: class NotCapable extends Error {
    override name = "NotCapable";
  },
  Busy: class Busy extends Error {
    override name = "Busy";
  },
  WouldBlock: class WouldBlock extends Error {
    override name = "WouldBlock";
  },
};

const BY_CODE: Record<string, new (message: string, options?: ErrorOptions) => Error> = {
  ENOENT: errors.NotFound,
  EEXIST: errors.AlreadyExists,
  ENOTDIR: errors.NotADirectory,
  EISDIR: errors.IsADirectory,
  EACCES: errors.PermissionDenied,
  EPERM: errors.PermissionDenied,
  EBUSY: errors.Busy,
  EAGAIN: errors.WouldBlock,
};

/** Runs `body`, turning a Node.js system error into the `Deno.errors` class Deno would throw. */
export function translated<T>(body: () => T): T {
  try {
    return body();
  } catch (error) {
    throw translate(error);
  }
}

/** The `Deno.errors` form of `error`, or `error` itself. */
export function translate(error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  const Class = typeof code === "string" ? BY_CODE[code] : undefined;
  if (Class === undefined) return error;
  const translated = new Class((error as Error).message, { cause: error });
  Object.assign(translated, { code });
  return translated;
}
