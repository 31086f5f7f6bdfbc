/**
 * The policy for maps nobody closes. A map that becomes unreachable is released by its
 * finalizer, but Node-API runs finalizers only from the event loop: a loop that maps without
 * closing would run out of descriptors or mappings first. So every RECLAIM_BASE maps (or more,
 * while many stay reachable), and whenever a system call runs out of descriptors or mappings,
 * memmap runs a garbage collection and the addon releases at once what it found unreachable.
 * A collection reaches this thread's maps only, but descriptors and mappings are the process's:
 * the maps of every thread count too (the addon's `held`). When they reach the process's
 * threshold, the thread that sees it starts a round, in which every thread that maps reclaims its
 * own once; the threshold is twice the sum of what each thread's last reclaim found still held
 * (never what other threads' garbage holds: it would climb past the descriptor limit), at least
 * RECLAIM_BASE. So threads neglecting maps at the same time hold about RECLAIM_BASE between them,
 * not each (before, eight worker threads held eight quarters of the descriptor limit, and ran out
 * of descriptors).
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
/** The addon's shared state, read in place ([held, round, threshold]); null: ask (native.reclaimDue). */
const SHARED: Uint32Array | null = native.held !== null ? new Uint32Array(native.held) : null;
const state = new Float64Array(2);
/** The round this thread last reclaimed in. */
let round = 0;
/**
 * The process's count right after this thread's last reclaim, plus half the base: a thread starts
 * a round only once the process holds that many more. Without it, maps that no reclaim can find
 * (kept by a thread that has not reclaimed yet, so not in the threshold) started a round, a
 * collection, at every map of another thread.
 */
let floor = 0;

/** Takes round and floor from the shared state, now. */
function remember(): void {
  if (SHARED !== null) {
    round = SHARED[1] as number;
    floor = (SHARED[0] as number) + RECLAIM_BASE / 2;
  } else if (native.reclaimState(state) === 0) {
    round = state[1] as number;
    floor = (state[0] as number) + RECLAIM_BASE / 2;
  }
}
remember();

/** 2: the process's maps reached the threshold (and floor); 1: another thread started a round since this one reclaimed; 0. */
function processDue(): number {
  if (SHARED === null) return native.reclaimDue(round, RECLAIM_BASE, floor);
  const held = SHARED[0] as number;
  const at = SHARED[2] as number;
  if (held >= (at > RECLAIM_BASE ? at : RECLAIM_BASE) && held >= floor) return 2;
  return SHARED[1] !== round ? 1 : 0;
}

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
export function reclaimNeglected(due = 0): void {
  collectGarbage("minor");
  let live = native.reclaim(due === 2, RECLAIM_BASE);
  if (live >= reclaimAt / 2) {
    collectGarbage("major");
    live = native.reclaim(false, RECLAIM_BASE);
  }
  remember();
  unclosed = live;
  reclaimAt = Math.max(RECLAIM_BASE, 2 * live);
}

/** Before making a map: reclaims when many maps were made and not closed. */
export function beforeMap(): void {
  if (unclosed >= reclaimAt) reclaimNeglected();
  else {
    const due = processDue();
    if (due !== 0) reclaimNeglected(due);
  }
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
