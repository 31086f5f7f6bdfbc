/**
 * Regular-expression search over mapped bytes read as Latin-1 (one byte is
 * one character), reporting byte offsets. Maps larger than the runtime's
 * longest string are searched in windows; see {@link SEARCH_WINDOW}.
 * @module
 */
import { invalidArgType, invalidArgValue } from "./errors.js";

/**
 * One match: `[0]` the matched text, `[1…]` the groups, `groups` the named
 * ones, `index`/`end` the byte offsets of the match in the map
 * (`end - index === match[0].length`). With the `d` flag, `indices` holds
 * byte offsets too.
 */
export interface MMapMatch extends Array<string> {
  /** The matched text. */
  0: string;
  /** Byte offset of the first byte of the match. */
  index: number;
  /** Byte offset just past the last byte of the match. */
  end: number;
  /** Named groups, when the pattern has any. */
  groups: Record<string, string> | undefined;
  /** With the `d` flag: `[start, end]` byte offsets of the match and of each group. */
  indices?: Array<[number, number] | undefined> & { groups?: Record<string, [number, number] | undefined> };
}

/** How many bytes one window of text holds (256 MiB). A range this size or smaller is searched as one string. */
export const SEARCH_WINDOW = 256 * 1024 * 1024;
/**
 * Over a range larger than {@link SEARCH_WINDOW}: a match, with whatever its
 * lookahead reads after it, must fit in this many bytes (16 MiB) to be found.
 */
export const SEARCH_MAX_MATCH = 16 * 1024 * 1024;
/** How many bytes before the search position a lookbehind (or `\b`) may look at (64 KiB). */
export const SEARCH_LOOKBEHIND = 64 * 1024;

const compiled = new WeakMap<RegExp, RegExp>();

/** The internal clone of `re`: the same pattern with `g` (or `y` if `re` is sticky). */
export function compile(re: unknown, name: string): RegExp {
  if (!(re instanceof RegExp)) throw invalidArgType(name, "an instance of RegExp", re);
  let rx = compiled.get(re);
  if (rx === undefined) {
    const sticky = re.sticky;
    const flags = re.flags.replace(/[gy]/g, "") + (sticky ? "y" : "g");
    rx = new RegExp(re.source, flags);
    compiled.set(re, rx);
  }
  return rx;
}

/** Throws unless `re` is global, as `String.prototype.matchAll` does. */
export function requireGlobal(re: RegExp, name: string): void {
  if (!re.global) throw invalidArgValue(name, re, "must be a global RegExp (with the g flag)", TypeError);
}

/** Reads [start, end) of the map as a Latin-1 string. */
export type TextSource = (start: number, end: number) => string;

/**
 * Finds matches from a position onwards inside [0, end), keeping the last
 * window of text so that successive calls (matchAll) do not rebuild it.
 */
export class Scanner {
  #rx: RegExp;
  #text: TextSource;
  #end: number;
  #ws = 0;
  #we = -1;
  #str = "";

  constructor(rx: RegExp, text: TextSource, end: number) {
    this.#rx = rx;
    this.#text = text;
    this.#end = end;
  }

  /** The first match starting at or after `p`, or `null`. */
  next(p: number): MMapMatch | null {
    const rx = this.#rx;
    for (;;) {
      if (!this.#covers(p)) this.#load(p);
      const ws = this.#ws;
      const final = this.#we === this.#end;
      const trusted = final ? Infinity : this.#we - SEARCH_MAX_MATCH;
      rx.lastIndex = p - ws;
      const m = rx.exec(this.#str);
      if (m !== null && (final || ws + m.index < trusted)) return toMatch(m, ws);
      if (rx.sticky || final) return null;
      p = Math.max(p, trusted);
    }
  }

  #covers(p: number): boolean {
    if (this.#we < 0) return false;
    const needFrom = Math.max(0, p - SEARCH_LOOKBEHIND);
    const final = this.#we === this.#end;
    return this.#ws <= needFrom && p >= this.#ws && (final ? p <= this.#we : p < this.#we - SEARCH_MAX_MATCH);
  }

  #load(p: number): void {
    const ws = Math.max(0, p - SEARCH_LOOKBEHIND);
    const we = Math.min(this.#end, p + SEARCH_WINDOW);
    this.#str = ""; // let the old window go before building the next
    this.#str = this.#text(ws, we);
    this.#ws = ws;
    this.#we = we;
  }
}

function toMatch(m: RegExpExecArray, base: number): MMapMatch {
  const out = m as unknown as MMapMatch & { input?: string };
  out.index = m.index + base;
  out.end = out.index + (m[0]?.length ?? 0);
  // The input is the window's text, possibly hundreds of MiB: do not keep it alive.
  delete out.input;
  const ind = (m as { indices?: Array<[number, number] | undefined> & { groups?: Record<string, [number, number] | undefined> } }).indices;
  if (ind !== undefined) {
    for (const pair of ind) if (pair !== undefined) (pair[0] += base), (pair[1] += base);
  }
  return out;
}
