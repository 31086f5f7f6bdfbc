/**
 * The policy for maps nobody closes. A map that becomes unreachable is released by its
 * finalizer, but Node-API runs finalizers only from the event loop: a loop that maps without
 * closing would run out of descriptors or mappings first. So every RECLAIM_BASE maps (or more,
 * while many stay reachable), and whenever a system call runs out of descriptors or mappings,
 * memmap runs a garbage collection and the addon releases at once what it found unreachable.
 * Internal: not exported from the package.
 * @module
 */
import { constants as osConstants } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { native } from "./binding.js";
import { platform } from "./platform.js";

const RECLAIM_BASE = Math.max(64, Math.min(4096, Math.floor(platform.fdLimit / 4)));
/** Maps made and not closed (an upper bound: some may have been collected since). */
let unclosed = 0;
let reclaimAt = RECLAIM_BASE;

type Collect = (options?: { type: "minor" | "major" }) => void;
let collect: Collect | null | undefined;

const functionSource = Function.prototype.toString;

/**
 * `globalThis.gc` when it is the engine's own (`--expose-gc`), else null. A function a program put
 * there is not trusted: a stand-in that collects nothing (`global.gc = global.gc || function gc()
 * {}`, a common guard) turned reclaiming into a no-op, and a loop of maps never closed ran out of
 * descriptors (EMFILE after ~650 maps under `ulimit -n 512`). Read without running a getter.
 */
function enginesGc(): Collect | null {
  const f: unknown = Object.getOwnPropertyDescriptor(globalThis, "gc")?.value;
  if (typeof f !== "function") return null;
  try {
    return /^function gc\(\) \{\s*\[native code\]\s*\}$/.test(functionSource.call(f)) ? (f as Collect) : null;
  } catch {
    return null;
  }
}

/** Contexts made before concluding the runtime exposes no `gc` (Bun: a few ms, once per thread). */
const GC_ATTEMPTS = 16;

/**
 * V8's own `gc`, from a new context made while `--expose-gc` is on, or null (a runtime without V8
 * flags). The flag is the process's: a worker thread turning it off again between another thread
 * turning it on and making its context left that thread without `gc` for good (3 of 8 threads
 * whose first reclaim came at once; their neglected maps then piled up until EMFILE). So a
 * context without `gc` is tried again (up to GC_ATTEMPTS), and the flag is turned off again
 * whatever happens.
 */
function obtainGc(): Collect | null {
  for (let attempt = 0; attempt < GC_ATTEMPTS; attempt++) {
    try {
      setFlagsFromString("--expose-gc");
      const f: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
      if (typeof f === "function") return f as Collect;
    } catch {
      return null; // a runtime without V8 flags: finalizers alone release neglected maps
    } finally {
      try {
        setFlagsFromString("--no-expose-gc");
      } catch {
        // as above
      }
    }
  }
  return null;
}

function collectGarbage(type: "minor" | "major"): void {
  if (collect === undefined) collect = enginesGc() ?? obtainGc();
  collect?.({ type });
}

/**
 * Releases neglected maps now. Maps made in a loop are young: a minor collection (about 1 ms)
 * usually finds them; a full one (several ms) runs only when it did not.
 */
export function reclaimNeglected(): void {
  collectGarbage("minor");
  let live = native.reclaim();
  if (live >= reclaimAt / 2) {
    collectGarbage("major");
    live = native.reclaim();
  }
  unclosed = live;
  reclaimAt = Math.max(RECLAIM_BASE, 2 * live);
}

/** Before making a map: reclaims when many maps were made and not closed. */
export function beforeMap(): void {
  if (unclosed >= reclaimAt) reclaimNeglected();
}

/** A map was made. */
export function mapped(): void {
  unclosed++;
}

/** A map was closed. */
export function unmapped(): void {
  if (unclosed > 0) unclosed--;
}

const { EMFILE, ENFILE, ENOMEM } = osConstants.errno;

/** Whether -errno `rc` says the process ran out of descriptors or mappings (a neglected map may hold them). */
function exhausted(rc: number): boolean {
  return rc === -EMFILE || rc === -ENFILE || rc === -ENOMEM;
}

/** Runs a native call, and once more after reclaiming neglected maps if it ran out of resources. */
export function withReclaim<T>(call: () => T, failed: (r: T) => number): T {
  const r = call();
  if (exhausted(failed(r))) {
    reclaimNeglected();
    return call();
  }
  return r;
}
