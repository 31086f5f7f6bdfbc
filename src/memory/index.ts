/**
 * The memory layer: one strategy per process, chosen once, so that every call site in the
 * class sees one class (V8 keeps such sites monomorphic).
 * Internal: not exported from the package.
 * @module
 */
import type { Handle } from "../binding.js";
import { platform } from "../platform.js";
import type { Memory } from "./base.js";
import { CopyMemory } from "./copying.js";
import { ViewMemory } from "./views.js";

export { FastBuffer, Memory, viewsUnavailable, type LineWindow } from "./base.js";

const Strategy: new (handle: Handle, length: number, writable: boolean) => Memory = platform.views ? ViewMemory : CopyMemory;

/** The memory of a new mapping of `length` bytes. */
export function memoryOf(handle: Handle, length: number, writable: boolean): Memory {
  return new Strategy(handle, length, writable);
}
