/**
 * Errors: built-in classes with a stable `code`, as Node's own APIs throw them.
 * The message may change between versions; the class and the code never do.
 * @module
 */
import { constants as osConstants } from "node:os";
import { getSystemErrorMap, types } from "node:util";

/**
 * Node's name of a negative errno. The addon reports the C runtime's errno values; on Windows
 * Node names libuv's own numbers instead (EACCES is -4092 there, 13 in the C runtime): the
 * C runtime's number is named through os.constants.errno, then given libuv's number, so the
 * error has the `code` and `errno` Node's own fs errors have on that system.
 */
function nameErrno(neg: number): [number, [string, string] | undefined] {
  const map = getSystemErrorMap();
  const entry = map.get(neg);
  if (entry !== undefined) return [neg, entry];
  const name = Object.entries(osConstants.errno).find(([, v]) => v === -neg)?.[0];
  if (name !== undefined) {
    for (const [uv, e] of map) if (e[0] === name) return [uv, e];
  }
  return [neg, undefined];
}

/** Every `code` memmap sets on the errors it throws, besides the errno names of {@link SystemError}. */
export type ErrorCode =
  | "ERR_INVALID_ARG_TYPE"
  | "ERR_INVALID_ARG_VALUE"
  | "ERR_OUT_OF_RANGE"
  | "ERR_MMAP_CLOSED"
  | "ERR_MMAP_READ_ONLY"
  | "ERR_MMAP_NOT_RESIZABLE"
  | "ERR_MMAP_BUSY"
  | "ERR_MMAP_NO_FD"
  | "ERR_MMAP_FD_CLOSED"
  | "ERR_MMAP_TRUNCATED"
  | "ERR_MMAP_SEARCH_LIMIT"
  | "ERR_MMAP_UNSUPPORTED_PLATFORM"
  | "ERR_MMAP_VIEWS_UNAVAILABLE"
  | "ERR_MEMORY_ALLOCATION_FAILED";

/** An error thrown by memmap for a misuse: a built-in class (`TypeError`, `RangeError`, `Error`) with a `code`. */
export interface MMapError extends Error {
  readonly code: ErrorCode;
}

/** An error the operating system reported, shaped like Node's `fs` errors. */
export interface SystemError extends Error {
  /** The errno name, e.g. `"EACCES"`. */
  readonly code: string;
  /** The negative errno, as Node reports it (e.g. `-13`). */
  readonly errno: number;
  /** The system call that failed, e.g. `"mmap"`. */
  readonly syscall: string;
  /** The path, when the call was about one (`MMap.open`). */
  readonly path?: string;
}

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

function make(Class: ErrorClass, code: ErrorCode, message: string): MMapError {
  const err = new Class(message) as Error & { code: ErrorCode };
  Object.defineProperty(err, "code", { value: code, enumerable: true, writable: true, configurable: true });
  // Keep the stack pointing at the caller of the public method.
  Error.captureStackTrace?.(err, make);
  return err;
}

/**
 * Whether `value` is a Proxy, asked of the engine: no trap runs (node:util, in Node, Bun and Deno).
 * @throws never.
 */
export const isProxy: (value: unknown) => boolean = types.isProxy;

/** How far up a prototype chain {@link dataProperty} and {@link inherits} look. */
const CHAIN_MAX = 64;

/**
 * The value of the data property `key` of `object` or of the first object on its prototype chain
 * that has one, read without running any code of the object's: undefined when the property is an
 * accessor (its getter is not called), is missing, or lies beyond a Proxy on the chain (no trap is
 * run), or when the engine refuses to describe it.
 * @throws never.
 */
export function dataProperty(object: object, key: PropertyKey): unknown {
  let o: object | null = object;
  for (let depth = 0; o !== null && depth < CHAIN_MAX; depth++) {
    if (isProxy(o)) return undefined;
    try {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d !== undefined) return "value" in d ? d.value : undefined;
      o = Object.getPrototypeOf(o) as object | null;
    } catch {
      return undefined; // a module namespace's binding before its initialization
    }
  }
  return undefined;
}

/**
 * `value instanceof Class` for a built-in class, without running any code: false for a Proxy, and
 * for an object with a Proxy on its prototype chain before `Class.prototype` (`instanceof` would
 * run its `getPrototypeOf` trap).
 * @throws never.
 */
export function inherits<T extends object>(value: unknown, Class: abstract new (...args: never[]) => T): value is T {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const proto: unknown = Class.prototype;
  let o: object | null = value;
  for (let depth = 0; o !== null && depth < CHAIN_MAX; depth++) {
    if (isProxy(o)) return false;
    o = Object.getPrototypeOf(o) as object | null;
    if (o === proto) return true;
  }
  return false;
}

/**
 * Describes a received value for a message, as Node's validators do. Runs no code of the value's:
 * a Proxy is described without touching it, a constructor's or function's name is read only where
 * it is a data property (never through a getter), so describing can neither throw nor change
 * anything (a trap that closes the map never runs while a call fails).
 * @throws never.
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  switch (typeof value) {
    case "string": {
      const s = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return `type string ('${s}')`;
    }
    case "number":
      return `type number (${Object.is(value, -0) ? "-0" : String(value)})`;
    case "bigint":
      return `type bigint (${String(value)}n)`;
    case "boolean":
    case "symbol":
      return `type ${typeof value} (${String(value)})`;
    case "function": {
      if (isProxy(value)) return "a Proxy";
      const name = dataProperty(value as object, "name");
      return `function ${typeof name === "string" && name !== "" ? name : "<anonymous>"}`;
    }
    default: {
      if (isProxy(value)) return "a Proxy";
      const ctor = dataProperty(value as object, "constructor");
      const name = typeof ctor === "function" ? dataProperty(ctor, "name") : undefined;
      return typeof name === "string" && name !== "" ? `an instance of ${name}` : "an object";
    }
  }
}

function show(value: unknown): string {
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  // Objects are described, never converted: converting may throw (a view of a detached buffer).
  if ((typeof value === "object" && value !== null) || typeof value === "function") return describe(value);
  return String(value);
}

/** `TypeError` `ERR_INVALID_ARG_TYPE`. */
export function invalidArgType(name: string, expected: string, value: unknown): MMapError {
  return make(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be ${expected}. Received ${describe(value)}`);
}

/** `RangeError` `ERR_OUT_OF_RANGE`. */
export function outOfRange(name: string, range: string, value: unknown): MMapError {
  return make(RangeError, "ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be ${range}. Received ${show(value)}`);
}

/** `RangeError` `ERR_OUT_OF_RANGE` with a message of its own (positions, sizes). */
export function rangeError(message: string): MMapError {
  return make(RangeError, "ERR_OUT_OF_RANGE", message);
}

/** `RangeError` (or the class given) `ERR_INVALID_ARG_VALUE`. */
export function invalidArgValue(name: string, value: unknown, reason: string, Class: ErrorClass = RangeError): MMapError {
  return make(Class, "ERR_INVALID_ARG_VALUE", `The argument '${name}' ${reason}. Received ${show(value)}`);
}

/** `Error` `ERR_MMAP_CLOSED`. */
export function closedError(): MMapError {
  return make(Error, "ERR_MMAP_CLOSED", "mmap closed or invalid");
}

/** `TypeError` `ERR_MMAP_READ_ONLY`. */
export function readOnlyError(what: string): MMapError {
  return make(TypeError, "ERR_MMAP_READ_ONLY", `mmap can't modify a readonly memory map (${what})`);
}

/** `TypeError` `ERR_MMAP_NOT_RESIZABLE`. */
export function notResizable(reason: string): MMapError {
  return make(TypeError, "ERR_MMAP_NOT_RESIZABLE", `mmap can't resize ${reason}`);
}

/** `TypeError` `ERR_MMAP_UNSUPPORTED_PLATFORM`: an option this system does not have (Windows' `tagname`). */
export function unsupported(message: string): MMapError {
  return make(TypeError, "ERR_MMAP_UNSUPPORTED_PLATFORM", message);
}

/** Any other memmap error: `Error` with the given code. */
export function stateError(code: ErrorCode, message: string): MMapError {
  return make(Error, code, message);
}

/**
 * `Error` `ERR_MEMORY_ALLOCATION_FAILED` (Node's code for it): the engine could not allocate
 * `n` bytes for `what` (no memory or address space left: `ulimit -v`, a container's limit). The
 * engine's own error, an uncoded `RangeError` ("Array buffer allocation failed"), is its `cause`.
 */
export function allocationFailed(what: string, n: number, cause: unknown): MMapError {
  const err = make(Error, "ERR_MEMORY_ALLOCATION_FAILED", `Failed to allocate memory for ${what} of ${n} bytes`);
  Object.defineProperty(err, "cause", { value: cause, enumerable: false, writable: true, configurable: true });
  return err;
}

/**
 * The one place that names an errno. `errno` is the positive or negative
 * number; the result looks like Node's fs errors: `EACCES: permission denied, mmap`, followed by
 * ` (hint)` when a hint says what to do about it.
 * @throws never.
 */
export function systemError(errno: number, syscall: string, path?: string, hint?: string): SystemError {
  const [neg, entry] = nameErrno(-Math.abs(errno));
  const code = entry?.[0] ?? `Unknown system error ${neg}`;
  const desc = entry?.[1] ?? "unknown error";
  const err = new Error(`${code}: ${desc}, ${syscall}${path === undefined ? "" : ` '${path}'`}${hint === undefined ? "" : ` (${hint})`}`) as Error & {
    code: string;
    errno: number;
    syscall: string;
    path?: string;
  };
  err.errno = neg;
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  Error.captureStackTrace?.(err, systemError);
  return err;
}
