/**
 * What a regular expression may read around one match attempt, derived from its source: how
 * search.ts decides, inside a window of a map's text, which attempts the window answers exactly
 * as the whole map would.
 *
 * The argument. Every byte an attempt at position i reads lies in [a - 1, b], where [a, b) is the
 * union of the spans its paths consume: the main path from i, each lookaround from where it
 * starts (lookbehinds backwards), each partial path explored and abandoned included. Bytes
 * consumed by an unbounded repetition (`*`, `+`, `{n,}`, or a bounded one too long to count) are
 * bytes its body can match; call the union of those bytes the pattern's `loose` set. Every other
 * byte is consumed by a fixed part, and a path consumes at most `budget` of those (sums along a
 * sequence, the largest alternative, a repetition's count times its body, a lookaround's reads
 * added, a backreference as its group). So [i, b) holds at most `budget` bytes outside `loose`,
 * and b is at most the position of the (budget + 1)-th byte at or after i that `loose` lacks; on
 * the other side, without a lookbehind a = i, and with one, [a, i) holds at most `budget` such
 * bytes. The one extra byte on each side covers assertions (`^`, `$`, `\b`, `\B`) and the read
 * that fails a repetition. A window that contains all of that, and does not end (or start)
 * inside it unless the map does, gives that attempt the same result as the whole map.
 *
 * The sets come from the engine itself: each single-character atom (a literal, an escape, `.`,
 * a class) is compiled alone with the flags in force there and tried on the 256 Latin-1
 * characters, so case folding, `\p{…}`, `v`-mode set operations and Annex B quirks are the
 * engine's own. A pattern this parser cannot follow (a class of strings in `v` mode, a
 * backreference to a group that contains it) has no reach: search.ts then refuses to decide
 * matches in a window that is not the whole text.
 * The same parse gives the literal prefix every match begins with (see {@link PatternInfo}).
 * Internal: not exported from the package.
 * @module
 */
import { Parser, Unsupported, type Context, type Node } from "./regex-syntax.js";

/** What one attempt of a pattern may read, as the module comment defines it. */
export interface Reach {
  /** `loose[b]` is 1 when an unbounded repetition of the pattern can consume the byte b. */
  readonly loose: Uint8Array;
  /** At most this many bytes outside `loose` are consumed by one attempt (on either side of its start). */
  readonly budget: number;
  /** The pattern has a lookbehind: an attempt may read bytes before its start. */
  readonly behind: boolean;
  /**
   * The bytes a match can begin with, where an attempt at a byte outside them fails having read
   * only that byte (and the one before it, for a leading assertion): every path consumes a byte
   * before any lookaround or backreference. Null when that is not so (a match may be empty, a
   * path may look around first).
   */
  readonly first: Uint8Array | null;
}

/** A repetition whose count times its body's budget exceeds this is counted as unbounded. */
const COUNT_LIMIT = 4096;

const CHARS: readonly string[] = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c));


const charCache = new Map<string, Uint8Array>();

/** The Latin-1 characters the single-character atom `src` matches under `flags` and `ctx`. */
function charsOf(src: string, unicodeFlag: string, ctx: Context): Uint8Array {
  const flags = unicodeFlag + (ctx.i ? "i" : "") + (ctx.s ? "s" : "");
  const key = `${flags}/${src}`;
  let set = charCache.get(key);
  if (set === undefined) {
    set = new Uint8Array(256);
    // A plain literal outside case folding is itself: no need to ask the engine.
    if (!ctx.i && src.length === 1 && src !== ".") {
      const c = src.charCodeAt(0);
      if (c < 256) set[c] = 1;
      charCache.set(key, set);
      return set;
    }
    const re = new RegExp(`^(?:${src})$`, flags);
    for (let c = 0; c < 256; c++) if (re.test(CHARS[c] as string)) set[c] = 1;
    if (charCache.size > 4096) charCache.clear();
    charCache.set(key, set);
  }
  return set;
}

let caseClasses: Map<string, Uint8Array[]> | null = null;

/** For each Latin-1 character, the Latin-1 characters a case-insensitive comparison equates with it. */
function caseClassesOf(unicodeFlag: string): Uint8Array[] {
  caseClasses ??= new Map();
  let classes = caseClasses.get(unicodeFlag);
  if (classes === undefined) {
    classes = [];
    for (let c = 0; c < 256; c++) classes.push(charsOf(`\\x${c.toString(16).padStart(2, "0")}`, unicodeFlag, { i: true, s: false, m: false }));
    caseClasses.set(unicodeFlag, classes);
  }
  return classes;
}

/** What a node costs: its budget along one path, the reads of its lookarounds past that, the characters it can consume. */
interface Cost {
  readonly f: number;
  readonly look: number;
  readonly chars: Uint8Array;
}

const NONE: Uint8Array = new Uint8Array(256);

function union(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a === NONE) return b;
  if (b === NONE) return a;
  const out = new Uint8Array(256);
  for (let c = 0; c < 256; c++) out[c] = (a[c] as number) | (b[c] as number);
  return out;
}

/** Whether every byte of `set` is in `loose`. */
function within(set: Uint8Array, loose: Uint8Array): boolean {
  for (let c = 0; c < 256; c++) if (set[c] === 1 && loose[c] === 0) return false;
  return true;
}

/**
 * Folds a pattern's tree into its reach. Twice: the first pass (`raw` null) finds the `loose` set;
 * the second counts in a path's budget only the atoms that can consume a byte outside it (an atom
 * whose bytes are all loose consumes none: the E, R and O of `ERROR.*` do not count, and an attempt
 * there reads up to the first newline, not the sixth).
 */
class Meter {
  readonly loose = new Uint8Array(256);
  readonly #unicodeFlag: string;
  /** The first pass, whose `loose` is final; null in the first pass itself. */
  readonly #raw: Meter | null;
  readonly #groups = new Map<number | string, Node[]>();
  readonly #costs = new Map<Node, Cost>();
  readonly #busy = new Set<Node>();

  constructor(root: Node, unicodeFlag: string, raw: Meter | null) {
    this.#unicodeFlag = unicodeFlag;
    this.#raw = raw;
    if (raw !== null) this.loose.set(raw.loose);
    const index = (n: Node): void => {
      switch (n.kind) {
        case "group": {
          this.#add(n.index, n);
          if (n.name !== undefined) this.#add(n.name, n);
          index(n.body);
          break;
        }
        case "seq":
        case "alt":
          n.items.forEach(index);
          break;
        case "look":
        case "repeat":
          index(n.body);
          break;
        default:
      }
    };
    index(root);
  }

  #add(key: number | string, n: Node): void {
    const list = this.#groups.get(key);
    if (list === undefined) this.#groups.set(key, [n]);
    else list.push(n);
  }

  cost(n: Node): Cost {
    const known = this.#costs.get(n);
    if (known !== undefined) return known;
    if (this.#busy.has(n)) throw new Unsupported("a group that refers to itself");
    this.#busy.add(n);
    const c = this.#compute(n);
    this.#busy.delete(n);
    this.#costs.set(n, c);
    return c;
  }

  #compute(n: Node): Cost {
    switch (n.kind) {
      case "char": {
        const chars = charsOf(n.src, this.#unicodeFlag, n.ctx);
        return { f: this.#raw !== null && within(chars, this.loose) ? 0 : 1, look: 0, chars };
      }
      case "assert":
        return { f: 0, look: 0, chars: NONE };
      case "seq": {
        let f = 0;
        let look = 0;
        let chars = NONE;
        for (const item of n.items) {
          const c = this.cost(item);
          f += c.f;
          look = Math.max(look, c.look);
          chars = union(chars, c.chars);
        }
        return { f, look, chars };
      }
      case "alt": {
        let f = 0;
        let look = 0;
        let chars = NONE;
        for (const item of n.items) {
          const c = this.cost(item);
          f = Math.max(f, c.f);
          look = Math.max(look, c.look);
          chars = union(chars, c.chars);
        }
        return { f, look, chars };
      }
      case "group":
        return this.cost(n.body);
      case "look": {
        const c = this.cost(n.body);
        return { f: 0, look: c.f + c.look, chars: c.chars };
      }
      case "repeat": {
        const c = this.cost(n.body);
        if (c.f === 0) return { f: 0, look: c.look, chars: c.chars };
        if (n.max !== Infinity && n.max * c.f <= COUNT_LIMIT) return { f: n.max * c.f, look: c.look, chars: c.chars };
        for (let b = 0; b < 256; b++) if (c.chars[b]) this.loose[b] = 1;
        return { f: 0, look: c.look, chars: c.chars };
      }
      case "backref": {
        const groups = this.#groups.get(n.ref);
        // The engine resolved every reference when it compiled the pattern: one this parse cannot
        // resolve means the parse differs from the engine's, and a reach from it would be a guess.
        if (groups === undefined) throw new Unsupported(`a reference to ${String(n.ref)}`);
        let f = 0;
        let chars = NONE;
        for (const g of groups) {
          const c = this.cost(g);
          // Compared without case, a byte the group consumed from the loose set may come back as
          // a case variant outside it: every fixed byte of the group counts (the first pass's count).
          f = Math.max(f, n.ctx.i && this.#raw !== null ? this.#raw.cost(g).f : c.f);
          chars = union(chars, c.chars);
        }
        if (n.ctx.i && chars !== NONE) {
          // Compared without case, the reference consumes case variants of what the group did:
          // of its repeated bytes too, as many of them, so those variants are repeatable as well
          // (a group outside a case-insensitive modifier group: /(b+)(?i:\1)/ reads B's).
          const classes = caseClassesOf(this.#unicodeFlag);
          const closed = new Uint8Array(256);
          const loose = this.loose;
          for (let b = 0; b < 256; b++) {
            if (!chars[b]) continue;
            const cls = classes[b] as Uint8Array;
            const repeated = loose[b] === 1;
            for (let d = 0; d < 256; d++) {
              if (cls[d]) {
                closed[d] = 1;
                if (repeated) loose[d] = 1;
              }
            }
          }
          chars = closed;
        }
        return { f, look: 0, chars };
      }
    }
  }
}

/** What the first byte consumed can be: `null` when a lookaround or backreference may come first. */
interface First {
  readonly set: Uint8Array;
  /** The node may consume nothing. */
  readonly empty: boolean;
}

function firstOf(n: Node, meter: Meter): First | null {
  switch (n.kind) {
    case "char":
      return { set: meter.cost(n).chars, empty: false };
    case "assert":
      return { set: NONE, empty: true };
    case "look":
    case "backref":
      return null;
    case "group":
      return firstOf(n.body, meter);
    case "repeat": {
      const f = firstOf(n.body, meter);
      return f === null ? null : { set: f.set, empty: f.empty || n.min === 0 };
    }
    case "seq": {
      let set = NONE;
      for (const item of n.items) {
        const f = firstOf(item, meter);
        if (f === null) return null;
        set = union(set, f.set);
        if (!f.empty) return { set, empty: false };
      }
      return { set, empty: true };
    }
    case "alt": {
      let set = NONE;
      let empty = false;
      for (const item of n.items) {
        const f = firstOf(item, meter);
        if (f === null) return null;
        set = union(set, f.set);
        empty ||= f.empty;
      }
      return { set, empty };
    }
  }
}

/** How many leading positions {@link leadOf} describes at most. */
const LEAD = 16;

/**
 * The sets of bytes at the first positions of every match (after zero-width assertions and
 * lookarounds, which consume nothing): appends one set per position to `out`; false once the
 * node may do anything else (an alternation, a repetition of variable count, a backreference),
 * or at LEAD positions.
 */
function leadOf(n: Node, meter: Meter, out: Uint8Array[]): boolean {
  if (out.length >= LEAD) return false;
  switch (n.kind) {
    case "assert":
    case "look":
      return true;
    case "char":
      out.push(meter.cost(n).chars);
      return true;
    case "group":
      return leadOf(n.body, meter, out);
    case "seq":
      for (const item of n.items) if (!leadOf(item, meter, out)) return false;
      return true;
    case "repeat": {
      const body = n.body.kind === "group" ? n.body.body : n.body;
      if (body.kind !== "char") return false;
      const set = meter.cost(body).chars;
      for (let k = 0; k < n.min; k++) {
        if (out.length >= LEAD) return false;
        out.push(set);
      }
      return n.min === n.max;
    }
    default:
      return false;
  }
}

/** The byte a set holds when it holds exactly one, else -1. */
function only(set: Uint8Array): number {
  let b = -1;
  for (let c = 0; c < 256; c++) {
    if (set[c] === 0) continue;
    if (b >= 0) return -1;
    b = c;
  }
  return b;
}

/** What search.ts needs to know of a pattern. */
export interface PatternInfo {
  /** What one attempt may read; null for a pattern this module cannot follow. */
  readonly reach: Reach | null;
  /**
   * Bytes (as a Latin-1 string) that every match begins with, possibly none: a match can only
   * start where they occur, so a search may jump from one occurrence to the next.
   */
  readonly prefix: string;
  /**
   * The bytes each of the first positions of every match may hold, 256 entries a position
   * (`lead[256 * k + b]` is 1 when byte b may be at position k), `prefix` included: an
   * occurrence of the prefix where a later one of them fails cannot start a match.
   */
  readonly lead: Uint8Array;
}

/** By flags and source, so that RegExp objects made anew for each call cost one analysis. */
const patterns = new Map<string, PatternInfo>();
const PATTERNS = 256;

/**
 * The analysis of the pattern `source` with `flags` (module comment), computed once per source
 * and flags: both as the RegExp's internal slots hold them (src/search.ts reads them so).
 */
export function patternOf(source: string, flags: string): PatternInfo {
  const key = `${flags}/${source}`;
  let info = patterns.get(key);
  if (info !== undefined) return info;
  const unicodeFlag = flags.includes("v") ? "v" : flags.includes("u") ? "u" : "";
  try {
    const parser = new Parser(source, flags);
    const root = parser.parse({ i: flags.includes("i"), s: flags.includes("s"), m: flags.includes("m") });
    const raw = new Meter(root, unicodeFlag, null);
    raw.cost(root);
    const meter = new Meter(root, unicodeFlag, raw);
    const c = meter.cost(root);
    const first = firstOf(root, meter);
    const sets: Uint8Array[] = [];
    leadOf(root, meter, sets);
    let prefix = "";
    for (const set of sets) {
      const b = only(set);
      if (b < 0) break;
      prefix += String.fromCharCode(b);
    }
    const lead = new Uint8Array(256 * sets.length);
    sets.forEach((set, k) => lead.set(set, 256 * k));
    const reach: Reach = {
      loose: meter.loose,
      budget: c.f + c.look,
      behind: parser.behind,
      first: first === null || first.empty ? null : first.set,
    };
    info = { reach, prefix, lead };
  } catch (err) {
    // A pattern nested deeper than this recursive descent can go (the engine runs nesting of
    // 100,000 and more): the stack overflows, a RangeError. It is not followed either, but not
    // remembered as such: the overflow says as much about the caller's stack as about the pattern.
    const overflow = err instanceof RangeError;
    if (!(err instanceof Unsupported) && !overflow) throw err;
    info = { reach: null, prefix: "", lead: new Uint8Array(0) };
    if (overflow) return info;
  }
  if (patterns.size >= PATTERNS) patterns.clear();
  patterns.set(key, info);
  return info;
}
