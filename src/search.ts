/**
 * Regular-expression search over mapped bytes read as Latin-1 (one byte is one character),
 * reporting byte offsets.
 *
 * The text. Where the runtime makes strings over memory it does not own (Node-API's external
 * Latin-1 strings: Node, Bun, Deno), the expression runs on the mapped bytes themselves: the
 * memory layer hands out one string per map (or per window), made in constant time and kept
 * while the map keeps its size, so a search costs what the engine's matching costs and a match
 * near `start` costs microseconds whatever the size of the map. Elsewhere (Electron's V8
 * sandbox) the text is copied, in growing windows where the pattern allows it (see below).
 *
 * Safety. No string over mapped memory reaches user code: every matched text and group is a
 * fresh copy ({@link detach}); the engine's record of the last match, which the legacy statics
 * `RegExp.input`, `RegExp.lastMatch`, `RegExp.$1`… read, is overwritten by a match on an empty
 * string ({@link forgetLastMatch}) before control returns; the exec result, whose `input` is
 * the whole text, is not handed out. Such a string keeps the memory under it mapped, or reserved
 * once the map is closed or resized, until it is collected (native/text.c).
 *
 * Windows. A text [0, end) no longer than the runtime's longest string ({@link SEARCH_WINDOW})
 * is one string: every result is by definition the one of the whole text. A longer one is
 * searched in windows, and a window only reports what it decides exactly as the whole text
 * would: src/pattern.ts bounds, from the pattern, the bytes one match attempt may read; a window
 * that does not reach `end` trusts only the attempts whose reads end inside it, and one that
 * does not start at 0 only those whose reads start inside it. An attempt that no window of the
 * allowed size can decide is an `ERR_MMAP_SEARCH_LIMIT` error, never a guess.
 * @module
 */
import { invalidArgType, invalidArgValue, stateError, type MMapError } from "./errors.js";
import { patternOf, type Reach } from "./pattern.js";
import { platform } from "./platform.js";
import type { Sized } from "./slices.js";

/**
 * One match: `[0]` the matched text, `[1…]` the groups, `groups` the named ones, `index`/`end`
 * the byte offsets of the match in the map (`end - index === match[0].length`). With the `d`
 * flag, `indices` holds byte offsets too. Every string in it is a copy: it stays as it is after
 * the map changes or closes.
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

/**
 * The longest text a regular expression runs over as one string: the runtime's longest string
 * (536,870,888 bytes in V8, that is Node and Deno; 2 GiB − 1 in Bun). `search` and `matchAll`
 * over `[0, end)` no longer than this find exactly what the RegExp finds in that text as one
 * string, with no limit on the length of a match. Longer ranges are searched in windows of
 * this size: see {@link SEARCH_MAX_MATCH} and {@link SEARCH_LOOKBEHIND}.
 */
export const SEARCH_WINDOW: number = platform.maxText;
/**
 * Over a range longer than {@link SEARCH_WINDOW}: one match attempt is always decided when what
 * it may read ends within this many bytes after it (SEARCH_WINDOW / 8: 64 MiB in V8). What an
 * attempt may read is bounded from the pattern: its fixed parts, and its repetitions (`*`, `+`,
 * `{n,}`) only as far as the bytes they can match run on; e.g. `/[a-z]+ [a-z]+\n/` reads at
 * most up to the third byte outside a–z, `/ERROR \d+/` up to the seventh non-digit, `ERROR.*`
 * up to the second newline (its letters are bytes `.*` matches too), whatever the rest of the
 * window holds, and where
 * every match begins by consuming a byte, an attempt at a byte no match begins with reads only
 * that byte. Longer attempts are decided where a window happens to hold them whole; otherwise
 * `search` and `matchAll` throw `ERR_MMAP_SEARCH_LIMIT` when they reach one, never guessing: a
 * match that would run past a window (`/A[\s\S]*$/` after an `A`) is refused with a code.
 */
export const SEARCH_MAX_MATCH: number = Math.floor(SEARCH_WINDOW / 8);
/**
 * Over a range longer than {@link SEARCH_WINDOW}: how far before itself (in bytes) one match
 * attempt may read, through a lookbehind, and always be decided (SEARCH_WINDOW / 8: 64 MiB in
 * V8), bounded from the pattern as for {@link SEARCH_MAX_MATCH}. Assertions that look at one
 * byte (`\b`, `^` and `$` with the `m` flag) always work.
 */
export const SEARCH_LOOKBEHIND: number = Math.floor(SEARCH_WINDOW / 8);

/** Windows of the live text start at multiples of this (a search loop meets each window once). */
const GRID = Math.max(1, Math.floor(SEARCH_WINDOW / 2));
/** The first window of copied text (copies grow fourfold while they decide nothing). */
const FIRST_COPY = 64 * 1024;
/** The first context copied before the start for a lookbehind. */
const FIRST_BEHIND = 4 * 1024;

/** Most characters of a pattern an error message quotes. */
const QUOTED_SOURCE = 200;

/** A pattern's source for a message: its first QUOTED_SOURCE characters, and how long it is past that. */
function shortSource(source: string): string {
  return source.length <= QUOTED_SOURCE ? source : `${source.slice(0, QUOTED_SOURCE)}… (${source.length} characters)`;
}

/** `ERR_MMAP_SEARCH_LIMIT`: an attempt at `at` that no window can decide. */
function searchLimit(at: number, why: string): MMapError {
  const err = stateError(
    "ERR_MMAP_SEARCH_LIMIT",
    `cannot decide a match at byte ${at} inside a window of ${SEARCH_WINDOW} bytes: ${why} ` +
      "(see SEARCH_WINDOW, SEARCH_MAX_MATCH, SEARCH_LOOKBEHIND)",
  ) as MMapError & { position: number };
  err.position = at;
  return err;
}

/** What a Scanner keeps of a compiled clone: its analysis, and with a literal prefix a sticky twin and the prefix's bytes. */
interface Analysis {
  readonly rx: RegExp;
  /** The clone is sticky (the argument was): a search matches at its start or not at all. */
  readonly isSticky: boolean;
  /** The `d` flag: exec results have `indices`. */
  readonly hasIndices: boolean;
  readonly reach: Reach | null;
  readonly prefix: string;
  readonly lead: Uint8Array;
  readonly sticky: RegExp | null;
  readonly prefixBytes: Uint8Array;
  /** The positions of `lead` after the prefix, fewest possible bytes first (the likeliest to fail). */
  readonly checks: Int32Array;
}
const analyses = new WeakMap<RegExp, Analysis>();

function analysisOf(rx: RegExp): Analysis {
  let a = analyses.get(rx);
  if (a === undefined) {
    // The clone is memmap's own (made by compile() from the argument's internal slots); its
    // source and flags are read through the same captured accessors all the same.
    const source = SOURCE(rx);
    const flags = flagString(flagBits(rx));
    const info = patternOf(source, flags);
    const sticky = info.prefix === "" || flags.includes("y") ? null : new RegExp(source, flags.replace("g", "y"));
    const positions: { at: number; size: number }[] = [];
    for (let at = info.prefix.length; at < info.lead.length >> 8; at++) {
      let size = 0;
      for (let b = 0; b < 256; b++) size += info.lead[(at << 8) + b] as number;
      positions.push({ at, size });
    }
    positions.sort((x, y) => x.size - y.size || x.at - y.at);
    a = {
      rx,
      isSticky: flags.includes("y"),
      hasIndices: flags.includes("d"),
      reach: info.reach,
      prefix: info.prefix,
      lead: info.lead,
      sticky,
      prefixBytes: Buffer.from(info.prefix, "latin1"),
      checks: Int32Array.from(positions, (x) => x.at),
    };
    analyses.set(rx, a);
  }
  return a;
}

/**
 * A single-byte prefix is searched for by the engine's own scan once its occurrences come
 * closer than this many bytes apart on average (a call per occurrence costs more than the scan).
 */
const SPARSE = 16;
/** The same for a longer prefix found by the native search (a call costs more than indexOf). */
const DENSE_NATIVE = 256;

/**
 * RegExp.prototype's own accessors, captured when this module loads and called on the argument
 * (through Function.prototype.call, captured too): they read the RegExp's internal slots
 * ([[OriginalSource]], [[OriginalFlags]]), the pattern the engine runs, as String.prototype.match
 * does. A subclass's or an own `source`/`flags`/`global`… getter is never called; a later
 * RegExp.prototype.compile() (Annex B), which changes those slots in place, is seen at the next call.
 */
const callOn: (this: (...args: never[]) => unknown, self: unknown) => unknown = Function.prototype.call;
function accessor<T>(name: string): ((self: unknown) => T) | null {
  const get = Object.getOwnPropertyDescriptor(RegExp.prototype, name)?.get;
  return get === undefined ? null : (callOn.bind(get) as (self: unknown) => T);
}
function required<T>(name: string): (self: unknown) => T {
  const get = accessor<T>(name);
  if (get === null) throw new Error(`RegExp.prototype.${name} is missing`);
  return get;
}
/** Throws TypeError for anything but a RegExp (or RegExp.prototype itself, "(?:)"). */
const SOURCE = required<string>("source");
const HAS_INDICES = accessor<boolean | undefined>("hasIndices");
const GLOBAL = required<boolean | undefined>("global");
const IGNORE_CASE = required<boolean | undefined>("ignoreCase");
const MULTILINE = required<boolean | undefined>("multiline");
const DOT_ALL = accessor<boolean | undefined>("dotAll");
const UNICODE = required<boolean | undefined>("unicode");
/** `v` (ES2024): absent from older runtimes, whose RegExps cannot have it. */
const UNICODE_SETS = accessor<boolean | undefined>("unicodeSets");
const STICKY = required<boolean | undefined>("sticky");

/** The flags as bits, in the order of their letters in {@link FLAG_LETTERS}. */
const F_D = 1, F_G = 2, F_I = 4, F_M = 8, F_S = 16, F_U = 32, F_V = 64, F_Y = 128;
/** The letters of the flag bits, in the order the `flags` getter lists them. */
const FLAG_LETTERS = "dgimsuvy";

/** The flags of RegExp `re` (internal slots; `re` was checked by {@link SOURCE}) as bits. */
function flagBits(re: unknown): number {
  return (
    (HAS_INDICES !== null && HAS_INDICES(re) === true ? F_D : 0) |
    (GLOBAL(re) === true ? F_G : 0) |
    (IGNORE_CASE(re) === true ? F_I : 0) |
    (MULTILINE(re) === true ? F_M : 0) |
    (DOT_ALL !== null && DOT_ALL(re) === true ? F_S : 0) |
    (UNICODE(re) === true ? F_U : 0) |
    (UNICODE_SETS !== null && UNICODE_SETS(re) === true ? F_V : 0) |
    (STICKY(re) === true ? F_Y : 0)
  );
}

/** The `flags` string of `bits`. */
function flagString(bits: number): string {
  let out = "";
  for (let k = 0; k < FLAG_LETTERS.length; k++) if (bits & (1 << k)) out += FLAG_LETTERS[k] as string;
  return out;
}

/**
 * The argument's internal source, or an `ERR_INVALID_ARG_TYPE` for anything that is not a
 * RegExp (of this realm or another): a primitive, a plain object, a proxy of a RegExp, an object
 * that only inherits from one, RegExp.prototype itself. No user code runs here.
 */
function sourceOf(re: unknown, name: string): string {
  if (typeof re === "object" && re !== null && re !== RegExp.prototype) {
    try {
      return SOURCE(re);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // e.g. a stack overflow: not about the argument
    }
  }
  throw invalidArgType(name, "an instance of RegExp", re);
}

/** A clone of a RegExp argument, valid while the argument's internal source and flags are these. */
interface Compiled {
  readonly source: string;
  readonly bits: number;
  readonly rx: RegExp;
}
const compiled = new WeakMap<object, Compiled>();

/**
 * The internal clone of `re`: the same pattern with `g` (or `y` if `re` is sticky), made from
 * `re`'s internal slots and made again when they changed (Annex B compile()). memmap uses `re`
 * as the description of a pattern only: it never reads or writes its `lastIndex`, and never
 * calls its `exec`, `[Symbol.match]`, `[Symbol.matchAll]` or any getter of its own.
 * @param global whether `re` must be global (`matchAll`), as String.prototype.matchAll requires.
 * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `re` is not a RegExp; `ERR_INVALID_ARG_VALUE`
 *   when `global` and `re` lacks the g flag.
 */
export function compile(re: unknown, name: string, global: boolean): RegExp {
  const source = sourceOf(re, name);
  const bits = flagBits(re);
  if (global && (bits & F_G) === 0) {
    // Shown from its slots: describing the object would read its (user-definable) constructor.
    throw invalidArgValue(name, `/${source}/${flagString(bits)}`, "must be a global RegExp (with the g flag)", TypeError);
  }
  const key = re as object;
  let c = compiled.get(key);
  if (c === undefined || c.bits !== bits || c.source !== source) {
    const flags = flagString(bits & ~(F_G | F_Y)) + (bits & F_Y ? "y" : "g");
    c = { source, bits, rx: new RegExp(source, flags) };
    compiled.set(key, c);
  }
  return c.rx;
}

/** Where the text comes from: the map's memory layer (src/memory/). */
export interface TextSource extends Sized {
  /** [a, b) as Latin-1 text: a string over the map itself where {@link liveText}, else a copy. */
  text(a: number, b: number): string;
  liveText(): boolean;
  /** After reading [a, b) of the map: throws when part of it turned out to be lost. */
  verify(a: number, b: number): void;
  /** A copy of [a, b) of the map. */
  copy(a: number, b: number): Buffer;
  /** The first offset of `needle` in [s, e) of the map, or -1 (a native, vectorised search). */
  find(needle: Uint8Array, s: number, e: number, backward: boolean): number;
}

const EMPTY_MATCH = /(?:)/;

/**
 * Overwrites the realm's record of the last match (what `RegExp.input`, `RegExp.lastMatch`,
 * `RegExp.$1`… `RegExp.leftContext` read) with an empty match of an empty string: a successful
 * exec records its text, here a string over mapped memory, which user code must not reach.
 */
function forgetLastMatch(): void {
  EMPTY_MATCH.test("");
}

/**
 * Substrings at least this long may share their parent's characters: V8 copies shorter ones
 * (its sliced strings start at 13 characters), JavaScriptCore only one character.
 */
const SHARED_MIN = platform.engine === "v8" ? 13 : 2;

/**
 * A copy of `s` sharing no memory with it. V8 makes a substring of the text a view of its parent
 * (a sliced string); a concatenation sliced again is flattened into a new string first, so this
 * one holds its own characters. JavaScriptCore slices a concatenation inside the part the slice
 * falls in, so there the characters go through a Buffer (a copy by definition).
 */
const detach: (s: string) => string =
  platform.engine === "v8" ? (s) => (" " + s).slice(1) : (s) => Buffer.from(s, "latin1").toString("latin1");

/** The match handed to the caller: fresh strings, byte offsets from `base`. */
function toMatch(m: RegExpExecArray, base: number, hasIndices: boolean): MMapMatch {
  const out = m.slice() as MMapMatch; // a plain array: not the exec result, whose `input` is the text
  for (let k = 0; k < out.length; k++) {
    const s = out[k];
    if (s !== undefined && s.length >= SHARED_MIN) out[k] = detach(s);
  }
  out.index = m.index + base;
  out.end = out.index + (m[0] as string).length;
  const groups = m.groups;
  if (groups !== undefined) {
    for (const name in groups) {
      const s = groups[name];
      if (s !== undefined && s.length >= SHARED_MIN) groups[name] = detach(s);
    }
  }
  out.groups = groups as Record<string, string> | undefined;
  // Own only with the `d` flag: otherwise not read at all (a getter someone put on Object.prototype
  // would run here, with the exec result, whose `input` is the text, as its receiver).
  const ind = hasIndices ? (m as { indices?: MMapMatch["indices"] }).indices : undefined;
  if (ind !== undefined) {
    if (base !== 0) {
      for (const pair of ind) if (pair !== undefined) (pair[0] += base), (pair[1] += base);
    }
    out.indices = ind;
  }
  return out;
}

/**
 * The last position i in [lo, we) such that [i, we) holds more than `budget` bytes outside
 * `loose`, or -1: the attempts at or before it read no byte at or past `we` (src/pattern.ts).
 * Costs what it scans back from `we`: little where such bytes are common near `we`, up to
 * `we - lo` where they are not.
 */
function lastDecided(text: string, base: number, lo: number, we: number, reach: Reach): number {
  const { loose, budget } = reach;
  let count = 0;
  for (let k = we - 1; k >= lo; k--) {
    if (loose[text.charCodeAt(k - base)] === 0 && ++count > budget) return k;
  }
  return -1;
}

/** How far {@link decidedAt} scans each way before it scans twice as far. */
const DECIDE_STEP = 256;

/**
 * Whether the attempt at `at` reads no byte at or past `we`: [at, we) holds more than `budget`
 * bytes outside `loose` ({@link lastDecided}'s rule for one position). Scans forward from `at`
 * and back from `we` in turns of growing length, so it costs about twice the shorter of the two
 * ways: the attempt's own reach, or the window's tail up to its last decided position.
 */
function decidedAt(text: string, base: number, at: number, we: number, reach: Reach): boolean {
  const { loose, budget } = reach;
  // [at, f) scanned forward and [b, we) back (f <= b: they never overlap), with `count` bytes
  // outside loose in them together.
  let f = at;
  let b = we;
  let count = 0;
  for (let step = DECIDE_STEP; ; step *= 2) {
    for (const stop = Math.min(b, f + step); f < stop; f++) {
      if (loose[text.charCodeAt(f - base)] === 0 && ++count > budget) return true;
    }
    for (const stop = Math.max(f, b - step); b > stop; ) {
      b--;
      if (loose[text.charCodeAt(b - base)] === 0 && ++count > budget) return true;
    }
    if (f >= b) return false; // [at, we) scanned whole
  }
}

/**
 * The first position in [from, to) whose byte can begin a match (`reach.first`), or `to`: the
 * attempts before it fail having read only their own byte, so the whole text fails them too.
 */
function nextStart(text: string, base: number, from: number, to: number, first: Uint8Array): number {
  let only = -1;
  for (let b = 0; b < 256; b++) if (first[b] === 1) only = only === -1 ? b : -2;
  if (only >= 0) {
    const k = text.indexOf(String.fromCharCode(only), from - base);
    return k < 0 || k + base > to ? to : k + base;
  }
  for (let k = from; k < to; k++) if (first[text.charCodeAt(k - base)] === 1) return k;
  return to;
}

/**
 * Whether the attempts from `p` on read no byte before `ws`, the start of a window that is not
 * the start of the text: [ws, p) holds the byte before them and, with a lookbehind, more than
 * `budget` bytes outside `loose`.
 */
function startDecided(text: string, ws: number, p: number, reach: Reach): boolean {
  if (!reach.behind) return p > ws;
  const { loose, budget } = reach;
  let count = 0;
  for (let k = p - 1; k >= ws; k--) {
    if (loose[text.charCodeAt(k - ws)] === 0 && ++count > budget) return true;
  }
  return false;
}

/**
 * The engine's first match in `str` (the map's [base, base + str.length)) at or after `from`.
 * With a literal prefix, the engine runs only where the prefix occurs and the bytes after it
 * may begin a match: no match starts anywhere else, so the result is the plain exec's. A
 * prefix of two bytes or more in the map's own text is found by the native search (a vector
 * filter on its first and last byte, at memory speed), a single byte by the string's
 * indexOf; occurrences closer together than the engine's own scan would pay for hand the
 * rest of the text back to it.
 */
function execFrom(a: Analysis, src: TextSource, str: string, from: number, base: number, live: boolean): RegExpExecArray | null {
  const rx = a.rx;
  const sticky = a.sticky;
  if (sticky === null) {
    rx.lastIndex = from;
    return rx.exec(str);
  }
  const prefix = a.prefix;
  const native = live && prefix.length >= 2;
  const lead = a.lead;
  const checks = a.checks;
  const last = (lead.length >> 8) - 1;
  const n = str.length;
  let k = from;
  let since = from;
  let tries = 0;
  for (;;) {
    if (native) {
      const at = k + prefix.length > n ? -1 : src.find(a.prefixBytes, base + k, base + n, false);
      k = at < 0 ? -1 : at - base;
    } else {
      k = str.indexOf(prefix, k);
    }
    if (k < 0) return null;
    // The positions after the prefix whose bytes every match constrains, checked here, the
    // likeliest to fail first.
    let j = 0;
    if (k + last < n) while (j < checks.length && lead[((checks[j] as number) << 8) + str.charCodeAt(k + (checks[j] as number))] === 1) j++;
    if (j === checks.length) {
      sticky.lastIndex = k;
      const m = sticky.exec(str);
      if (m !== null) return m;
    }
    k++;
    if (++tries === 64) {
      if (k - since < 64 * (native ? DENSE_NATIVE : SPARSE)) {
        rx.lastIndex = k;
        return rx.exec(str);
      }
      tries = 0;
      since = k;
    }
  }
}

/**
 * The first match at or after `p` in the text [0, end) as one string `str` (the definition
 * itself); a string over the map is verified after it is read.
 */
function whole(a: Analysis, src: TextSource, str: string, p: number, end: number, live: boolean): MMapMatch | null {
  const m = execFrom(a, src, str, p, 0, live);
  let out: MMapMatch | null = null;
  if (m !== null) {
    out = toMatch(m, 0, a.hasIndices);
    forgetLastMatch();
  }
  src.verify(0, end);
  return out;
}

/**
 * The first match of `rx` (a compiled clone) at or after `s` inside [0, e) of the map: the
 * one-string case without a Scanner, the rest with one.
 */
export function searchOnce(rx: RegExp, src: TextSource, s: number, e: number): MMapMatch | null {
  if (src.liveText() && e <= SEARCH_WINDOW) return whole(analysisOf(rx), src, src.text(0, e), s, e, true);
  return new Scanner(rx, src, e).next(s);
}

/**
 * Finds matches from a position onwards inside [0, end). One per search; matchAll keeps one
 * for its iteration (where text is copied, it keeps the last window between matches).
 */
class Scanner {
  readonly #a: Analysis;
  readonly #src: TextSource;
  readonly #end: number;
  /** The copied window kept between calls: [#ws, #we) as #str, decided up to #decided. */
  #ws = 0;
  #we = -1;
  #str = "";
  #decided = -1;

  constructor(rx: RegExp, src: TextSource, end: number) {
    this.#a = analysisOf(rx);
    this.#src = src;
    this.#end = end;
  }

  /** The first match starting at or after `p` (p <= end), or `null`. */
  next(p: number): MMapMatch | null {
    const e = this.#end;
    const src = this.#src;
    if (src.liveText()) return e <= SEARCH_WINDOW ? this.#whole(p, src.text(0, e)) : this.#windows(p, true);
    if (e > SEARCH_WINDOW || this.#a.reach !== null) return this.#windows(p, false);
    // A copy of the whole text: the only text that decides a pattern pattern.ts cannot follow.
    if (this.#we === e && this.#ws === 0) return this.#checked(this.#whole(p, this.#str), p);
    this.#keep(0, e, src.text(0, e), e);
    return this.#whole(p, this.#str);
  }

  #keep(ws: number, we: number, str: string, decided: number): void {
    this.#ws = ws;
    this.#we = we;
    this.#str = str;
    this.#decided = decided;
  }

  /** The text [0, end) as one string: the definition itself. */
  #whole(p: number, str: string): MMapMatch | null {
    return whole(this.#a, this.#src, str, p, this.#end, this.#src.liveText());
  }

  /**
   * A match found in a copy kept since an earlier call: its bytes are read again from the map (a
   * page lost since is found there: ERR_MMAP_TRUNCATED); bytes that changed since the copy make
   * the search start again from `p` on a fresh copy, which is not checked again.
   */
  #checked(m: MMapMatch | null, p: number): MMapMatch | null {
    if (m === null || m.end === m.index) return m;
    if (this.#src.copy(m.index, m.end).toString("latin1") === m[0]) return m;
    this.#we = -1;
    return this.next(p);
  }

  /** The search in windows that each decide part of the text (module comment). */
  #windows(p: number, live: boolean): MMapMatch | null {
    const reach = this.#a.reach;
    if (reach === null) throw searchLimit(p, `memmap cannot bound what /${shortSource(SOURCE(this.#a.rx))}/ reads`);
    const e = this.#end;
    const rx = this.#a.rx;
    const src = this.#src;
    let size = FIRST_COPY;
    let behind = Math.min(FIRST_BEHIND, SEARCH_LOOKBEHIND);
    for (;;) {
      let ws: number;
      let we: number;
      let str: string;
      let reused = false;
      if (live) {
        ws = Math.floor(Math.max(0, p - SEARCH_LOOKBEHIND) / GRID) * GRID;
        we = Math.min(e, ws + SEARCH_WINDOW);
        str = src.text(ws, we);
      } else if (this.#we >= 0 && p >= this.#ws && (p <= this.#decided || this.#we === e) && (this.#ws === 0 || startDecided(this.#str, this.#ws, p, reach))) {
        ws = this.#ws;
        we = this.#we;
        str = this.#str;
        reused = true;
      } else {
        ws = Math.max(0, p - (reach.behind ? behind : 1));
        we = Math.min(e, p + Math.min(size, SEARCH_WINDOW - (p - ws)));
        str = src.text(ws, we);
      }
      if (ws > 0 && !startDecided(str, ws, p, reach)) {
        if (!live && behind < SEARCH_LOOKBEHIND) {
          behind = Math.min(behind * 4, SEARCH_LOOKBEHIND);
          this.#we = -1;
          continue;
        }
        throw searchLimit(p, "a lookbehind may read farther back than SEARCH_LOOKBEHIND bytes");
      }
      const final = we === e;
      const m = execFrom(this.#a, src, str, p - ws, ws, live);
      let out: MMapMatch | null = null;
      if (m !== null) {
        // Decided: the attempt at the match (and so every one before it) reads nothing past the
        // window. Asked of that one position, so a match costs its own reach, whatever the
        // window's tail holds (a tail with no byte that ends the pattern's repetitions, as zeros
        // under /ERROR.*/, made every attempt undecided when only the tail was scanned).
        const at = m.index + ws;
        if (final || (reused && at <= this.#decided) || decidedAt(str, ws, at, we, reach)) out = toMatch(m, ws, this.#a.hasIndices);
        forgetLastMatch();
      }
      // Up to where the window decides: for a window without a decided match, to move on; for a
      // new copy, kept for the next steps. Its last SEARCH_MAX_MATCH bytes usually tell at once;
      // where they decide nothing, a failed window is scanned on back (unless no byte before that
      // tail can begin a match: the rule below then moves past it).
      let decided = -1;
      const failedTo = m === null ? we : m.index + ws;
      let begins = -1; // the first byte from p that can begin a match, once sought
      if (final) decided = e;
      else if (out === null || !(live || reused)) {
        const lo = Math.max(p, we - SEARCH_MAX_MATCH);
        decided = lastDecided(str, ws, lo, we, reach);
        if (decided < 0 && lo > p && out === null) {
          begins = reach.first === null ? p : nextStart(str, ws, p, failedTo, reach.first);
          if (begins < lo) decided = lastDecided(str, ws, p, we, reach);
        }
      }
      if (out === null && !final && reach.first !== null) {
        // The window's attempts failed up to its first match (or its end); those at bytes no match
        // begins with failed having read only those bytes.
        const from = Math.max(p, decided + 1);
        decided = Math.max(decided, (begins >= 0 && from === p ? begins : nextStart(str, ws, from, failedTo, reach.first)) - 1);
      }
      if (!live && !reused) this.#keep(ws, we, str, decided);
      src.verify(ws, we);
      if (out !== null) return reused ? this.#checked(out, p) : out;
      if (final || (this.#a.isSticky && p <= decided)) return null;
      if (decided >= p) {
        p = decided + 1; // every attempt up to `decided` failed, as over the whole text
        continue;
      }
      if (!live && we - ws < SEARCH_WINDOW && we < e) {
        size *= 4;
        this.#we = -1;
        continue;
      }
      throw searchLimit(p, "the pattern may read farther than SEARCH_MAX_MATCH bytes past it");
    }
  }
}

/**
 * `m.matchAll()`'s matches, lazily: each step reads the map as it is then (a copy kept between
 * steps is checked against it): a closed map throws ERR_MMAP_CLOSED, a resized one is read up to
 * its new length, one whose file shrank throws ERR_MMAP_TRUNCATED when the search reaches the
 * lost bytes. An empty match advances by one byte.
 */
export function matchesOf(rx: RegExp, mem: TextSource, s: number, e: number): IterableIterator<MMapMatch> {
  // The length the bounds were checked against, taken now: a generator's body runs only at the
  // first next(), and a resize before it must limit the range as one between steps does.
  return steps(rx, mem, s, e, mem.length);
}

function* steps(rx: RegExp, mem: TextSource, s: number, e: number, checked: number): IterableIterator<MMapMatch> {
  if (e < s) return;
  let limit = e;
  let length = checked;
  let scanner = new Scanner(rx, mem, limit);
  for (let p = s; p <= limit; ) {
    mem.open();
    if (mem.length !== length) {
      length = mem.length;
      limit = Math.min(limit, length);
      if (p > limit) return;
      scanner = new Scanner(rx, mem, limit);
    }
    const m = scanner.next(p);
    if (m === null) return;
    yield m;
    p = m.end > m.index ? m.end : m.end + 1;
  }
}
