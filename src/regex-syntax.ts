/**
 * The syntax of an ECMAScript regular expression, read from its source into the tree pattern.ts
 * measures: single-character atoms (each with the flags in force where it stands, for modifier
 * groups), assertions, sequences, alternatives, groups, lookarounds, repetitions and
 * backreferences. Annex B's legacy forms are followed outside `u`/`v` mode; what this parser
 * does not follow throws {@link Unsupported}, and the pattern is then searched without windows.
 * Internal: not exported from the package.
 * @module
 */
/** Flags in force at a point of the pattern (modifier groups change i, s and m locally). */
export interface Context {
  readonly i: boolean;
  readonly s: boolean;
  readonly m: boolean;
}

export type Node =
  | { readonly kind: "char"; readonly src: string; readonly ctx: Context }
  | { readonly kind: "assert" }
  | { readonly kind: "seq"; readonly items: Node[] }
  | { readonly kind: "alt"; readonly items: Node[] }
  | { readonly kind: "group"; readonly body: Node; readonly index: number; readonly name: string | undefined }
  | { readonly kind: "look"; readonly body: Node; readonly behind: boolean }
  | { readonly kind: "repeat"; readonly body: Node; readonly min: number; readonly max: number }
  | { readonly kind: "backref"; readonly ref: number | string; readonly ctx: Context };

/** Thrown for what this parser (or pattern.ts's measure) does not follow: the pattern then has no reach. */
export class Unsupported extends Error {}

/** Properties of strings (`v` mode): a class with one may match several characters. */
const STRING_PROPERTIES = new Set([
  "Basic_Emoji",
  "Emoji_Keycap_Sequence",
  "RGI_Emoji_Modifier_Sequence",
  "RGI_Emoji_Flag_Sequence",
  "RGI_Emoji_Tag_Sequence",
  "RGI_Emoji_ZWJ_Sequence",
  "RGI_Emoji",
]);

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isOctal = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "7";
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** A recursive-descent parser of ECMAScript regular expressions (with Annex B outside u/v mode). */
export class Parser {
  #i = 0;
  readonly #src: string;
  readonly #unicode: boolean;
  readonly #sets: boolean;
  /** Capturing groups in the whole pattern, and whether any has a name (known before parsing). */
  readonly #groups: number;
  readonly #named: boolean;
  #nextGroup = 1;
  behind = false;

  constructor(src: string, flags: string) {
    this.#src = src;
    this.#sets = flags.includes("v");
    this.#unicode = this.#sets || flags.includes("u");
    const counted = countGroups(src, this.#sets);
    this.#groups = counted.count;
    this.#named = counted.named;
  }

  parse(ctx: Context): Node {
    const node = this.#disjunction(ctx);
    if (this.#i !== this.#src.length) throw new Unsupported(`unexpected ${this.#src[this.#i]}`);
    return node;
  }

  #peek(k = 0): string | undefined {
    return this.#src[this.#i + k];
  }

  #disjunction(ctx: Context): Node {
    const items = [this.#alternative(ctx)];
    while (this.#peek() === "|") {
      this.#i++;
      items.push(this.#alternative(ctx));
    }
    return items.length === 1 ? (items[0] as Node) : { kind: "alt", items };
  }

  #alternative(ctx: Context): Node {
    const items: Node[] = [];
    for (let c = this.#peek(); c !== undefined && c !== "|" && c !== ")"; c = this.#peek()) items.push(this.#term(ctx));
    return { kind: "seq", items };
  }

  #term(ctx: Context): Node {
    const src = this.#src;
    const c = src[this.#i] as string;
    if (c === "^" || c === "$") {
      this.#i++;
      return { kind: "assert" };
    }
    if (c === "\\" && (this.#peek(1) === "b" || this.#peek(1) === "B")) {
      this.#i += 2;
      return { kind: "assert" };
    }
    let atom: Node;
    let quantifiable = true;
    if (c === "(") {
      const r = this.#group(ctx);
      atom = r.node;
      quantifiable = r.quantifiable;
    } else if (c === "[") {
      atom = { kind: "char", src: this.#classSource(), ctx };
    } else if (c === "\\") {
      atom = this.#escape(ctx);
    } else if (c === ".") {
      this.#i++;
      atom = { kind: "char", src: ".", ctx };
    } else if (c === "*" || c === "+" || c === "?") {
      throw new Unsupported("nothing to repeat");
    } else if (c === "{" && this.#quantifierAt(this.#i) !== null) {
      throw new Unsupported("nothing to repeat");
    } else {
      // A literal: one code point in u/v mode (a surrogate pair stays whole), else one code unit.
      const cp = this.#unicode ? (src.codePointAt(this.#i) as number) : src.charCodeAt(this.#i);
      const text = this.#unicode ? String.fromCodePoint(cp) : (c as string);
      this.#i += text.length;
      atom = { kind: "char", src: /[\\^$.*+?()[\]{}|/]/.test(text) ? `\\${text}` : text, ctx };
    }
    if (!quantifiable) return atom;
    const q = this.#quantifierAt(this.#i);
    if (q === null) return atom;
    this.#i = q.end;
    if (this.#peek() === "?") this.#i++;
    return { kind: "repeat", body: atom, min: q.min, max: q.max };
  }

  /** A quantifier starting at k: its bounds and where it ends; null when there is none. */
  #quantifierAt(k: number): { min: number; max: number; end: number } | null {
    const c = this.#src[k];
    if (c === "*") return { min: 0, max: Infinity, end: k + 1 };
    if (c === "+") return { min: 1, max: Infinity, end: k + 1 };
    if (c === "?") return { min: 0, max: 1, end: k + 1 };
    if (c !== "{") return null;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#src.slice(k, k + 64));
    if (m === null) return null; // Annex B: a brace that is no quantifier is a literal
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    return { min, max, end: k + m[0].length };
  }

  #group(ctx: Context): { node: Node; quantifiable: boolean } {
    const src = this.#src;
    this.#i++; // (
    let node: Node;
    let quantifiable = true;
    if (src.startsWith("?:", this.#i)) {
      this.#i += 2;
      node = this.#disjunction(ctx);
    } else if (src.startsWith("?=", this.#i) || src.startsWith("?!", this.#i)) {
      this.#i += 2;
      node = { kind: "look", body: this.#disjunction(ctx), behind: false };
      quantifiable = !this.#unicode; // Annex B: a lookahead may be repeated outside u/v mode
    } else if (src.startsWith("?<=", this.#i) || src.startsWith("?<!", this.#i)) {
      this.#i += 3;
      this.behind = true;
      node = { kind: "look", body: this.#disjunction(ctx), behind: true };
      quantifiable = false;
    } else if (src.startsWith("?<", this.#i)) {
      const close = src.indexOf(">", this.#i);
      if (close < 0) throw new Unsupported("group name");
      const name = groupName(src.slice(this.#i + 2, close));
      this.#i = close + 1;
      const index = this.#nextGroup++;
      node = { kind: "group", body: this.#disjunction(ctx), index, name };
    } else if (src[this.#i] === "?") {
      // Modifiers: (?ims-ims:...)
      const m = /^\?([ims]*)(?:-([ims]*))?:/.exec(src.slice(this.#i, this.#i + 12));
      if (m === null) throw new Unsupported("group");
      this.#i += m[0].length;
      const on = m[1] ?? "";
      const off = m[2] ?? "";
      const flag = (f: "i" | "s" | "m", was: boolean): boolean => (on.includes(f) ? true : off.includes(f) ? false : was);
      node = this.#disjunction({ i: flag("i", ctx.i), s: flag("s", ctx.s), m: flag("m", ctx.m) });
    } else {
      const index = this.#nextGroup++;
      node = { kind: "group", body: this.#disjunction(ctx), index, name: undefined };
    }
    if (this.#peek() !== ")") throw new Unsupported("unclosed group");
    this.#i++;
    return { node, quantifiable };
  }

  /**
   * The source of a class `[...]` starting here. A `]` closes it (even first: `[]` matches
   * nothing, `[^]` anything); a `[` inside is a literal, except in v mode, where classes nest.
   */
  #classSource(): string {
    const src = this.#src;
    const start = this.#i;
    let depth = 1;
    let k = start + 1;
    if (src[k] === "^") k++;
    while (depth > 0) {
      const c = src[k];
      if (c === undefined) throw new Unsupported("unclosed class");
      if (c === "\\") {
        const next = src[k + 1];
        if (this.#sets && next === "q" && src[k + 2] === "{") throw new Unsupported("class of strings");
        if (this.#sets && (next === "p" || next === "P") && src[k + 2] === "{") {
          if (STRING_PROPERTIES.has(src.slice(k + 3, src.indexOf("}", k)))) throw new Unsupported("property of strings");
        }
        k += 2;
        continue;
      }
      if (c === "[" && this.#sets) {
        depth++;
        if (src[k + 1] === "^") k++;
      } else if (c === "]") depth--;
      k++;
    }
    this.#i = k;
    return src.slice(start, k);
  }

  #escape(ctx: Context): Node {
    const src = this.#src;
    const start = this.#i;
    const c = src[start + 1];
    if (c === undefined) throw new Unsupported("trailing backslash");
    const char = (text: string, length: number): Node => {
      this.#i = start + length;
      return { kind: "char", src: text, ctx };
    };
    if (c >= "1" && c <= "9") {
      let k = start + 1;
      while (isDigit(src[k])) k++;
      const n = Number(src.slice(start + 1, k));
      if (this.#unicode || n <= this.#groups) {
        this.#i = k;
        return { kind: "backref", ref: n, ctx };
      }
      if (c === "8" || c === "9") return char(c, 2); // Annex B: an identity escape
      return this.#octal(start, ctx);
    }
    if (c === "0") {
      if (!this.#unicode && isOctal(src[start + 2])) return this.#octal(start, ctx);
      return char("\\x00", 2);
    }
    if (c === "k") {
      if (this.#unicode || this.#named) {
        const close = src.indexOf(">", start);
        if (src[start + 2] !== "<" || close < 0) throw new Unsupported("group name");
        this.#i = close + 1;
        return { kind: "backref", ref: groupName(src.slice(start + 3, close)), ctx };
      }
      return char("k", 2); // Annex B: an identity escape; "<name>" follows as literals
    }
    if (c === "c") {
      const letter = src[start + 2];
      if (letter !== undefined && /[A-Za-z]/.test(letter)) return char(src.slice(start, start + 3), 3);
      // Annex B: a backslash that is not an escape matches itself; the "c" follows as a literal.
      return char("\\\\", 1);
    }
    if (c === "p" || c === "P") {
      if (!this.#unicode) return char(c, 2);
      const close = src.indexOf("}", start);
      if (src[start + 2] !== "{" || close < 0) throw new Unsupported("property");
      if (STRING_PROPERTIES.has(src.slice(start + 3, close))) throw new Unsupported("property of strings");
      return char(src.slice(start, close + 1), close + 1 - start);
    }
    if (c === "x") {
      if (isHex(src[start + 2]) && isHex(src[start + 3])) return char(src.slice(start, start + 4), 4);
      if (this.#unicode) throw new Unsupported("escape");
      return char("x", 2);
    }
    if (c === "u") {
      if (this.#unicode && src[start + 2] === "{") {
        const close = src.indexOf("}", start);
        if (close < 0) throw new Unsupported("escape");
        return char(src.slice(start, close + 1), close + 1 - start);
      }
      if ([2, 3, 4, 5].every((d) => isHex(src[start + d]))) {
        // In u/v mode an escaped surrogate pair is one code point.
        if (this.#unicode && src[start + 6] === "\\" && src[start + 7] === "u" && [8, 9, 10, 11].every((d) => isHex(src[start + d]))) {
          const hi = parseInt(src.slice(start + 2, start + 6), 16);
          const lo = parseInt(src.slice(start + 8, start + 12), 16);
          if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) return char(src.slice(start, start + 12), 12);
        }
        return char(src.slice(start, start + 6), 6);
      }
      if (this.#unicode) throw new Unsupported("escape");
      return char("u", 2);
    }
    // \d \D \s \S \w \W \t \n \v \f \r, and identity escapes of one code unit or code point.
    const cp = this.#unicode ? (src.codePointAt(start + 1) as number) : src.charCodeAt(start + 1);
    const text = this.#unicode ? String.fromCodePoint(cp) : c;
    return char(`\\${text}`, 1 + text.length);
  }

  /** Annex B's legacy octal escape at `start` (the backslash): up to three digits, at most \377. */
  #octal(start: number, ctx: Context): Node {
    const src = this.#src;
    let k = start + 1;
    const limit = src[k] !== undefined && (src[k] as string) <= "3" ? 3 : 2;
    let digits = "";
    while (digits.length < limit && isOctal(src[k])) digits += src[k++];
    this.#i = k;
    return { kind: "char", src: `\\x${parseInt(digits, 8).toString(16).padStart(2, "0")}`, ctx };
  }
}

/**
 * A group name as the engine compares it: its escapes (`\\u0061`, `\\u{61}`, an escaped surrogate
 * pair) decoded, so that `(?<\\u0061>…)` and `\\k<a>` name the same group.
 */
function groupName(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})/g, (_, braced: string | undefined, four: string | undefined) =>
    braced !== undefined ? String.fromCodePoint(parseInt(braced, 16)) : String.fromCharCode(parseInt(four as string, 16)),
  );
}

/** How many capturing groups the pattern has, and whether any is named (escapes and classes skipped). */
function countGroups(src: string, sets: boolean): { count: number; named: boolean } {
  let count = 0;
  let named = false;
  let depth = 0; // inside a class
  for (let k = 0; k < src.length; k++) {
    const c = src[k];
    if (c === "\\") {
      k++;
    } else if (depth > 0) {
      if (c === "[" && sets) depth++;
      else if (c === "]") depth--;
    } else if (c === "[") {
      depth = 1;
    } else if (c === "(") {
      if (src[k + 1] !== "?") count++;
      else if (src[k + 2] === "<" && src[k + 3] !== "=" && src[k + 3] !== "!") {
        count++;
        named = true;
      }
    }
  }
  return { count, named };
}
