/**
 * memmap: Python's `mmap` module for Node.js.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { MMap } from "memmap";
 * using mm = new MMap(fs.openSync("hello.txt", "r+"), 0);
 * mm.readline(); // <Buffer 48 65 6c 6c 6f ...>
 * ```
 * @module
 */
export { MMap, type MMapOptions, type OpenOptions, type FlushOptions, type NewMapEvent, type WaitResult, type ViewType } from "./mmap.js";
export { type MMapMatch, SEARCH_WINDOW, SEARCH_MAX_MATCH, SEARCH_LOOKBEHIND } from "./search.js";
export type { ErrorCode, MMapError, SystemError } from "./errors.js";
export type { TruncatedError, IOError } from "./truncation.js";
export type { BytesLike, NonSharedBuffer, NonSharedUint8Array } from "./validate.js";
export type { NonSharedDataView } from "./typed.js";
export * from "./constants.js";
