/**
 * `Deno.errors` and the mapping of Node.js's system error codes onto them,
 * so that `error instanceof Deno.errors.NotFound` means the same everywhere.
 *
 * @module
 */

/** A class of `Deno.errors`: an `Error` whose `name` is `name`. */
function errorClass(name: string): new (message?: string, options?: ErrorOptions) => Error {
  return class extends Error {
    override name = name;
  };
}

/** The `Deno.errors` classes the VM tests for or throws. */
export const errors = {
  NotFound: errorClass("NotFound"),
  AlreadyExists: errorClass("AlreadyExists"),
  NotADirectory: errorClass("NotADirectory"),
  IsADirectory: errorClass("IsADirectory"),
  PermissionDenied: errorClass("PermissionDenied"),
  // Node.js and Bun have no permission model that Deno's NotCapable stands for.
  NotCapable: errorClass("NotCapable"),
  Busy: errorClass("Busy"),
  WouldBlock: errorClass("WouldBlock"),
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
