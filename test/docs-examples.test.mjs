// Every code example in README.md, docs/*.md and the TSDoc of src/*.ts is type-checked, in one
// TypeScript program, against the package's own declarations (dist/index.d.ts, imported as
// "memmap" through a temporary node_modules), with the compiler options of test/types. Complete
// programs also run, and the values their comments claim are compared with what they print.
// The convention (fences, contexts, claims) is described in docs/building.md, "Writing docs".
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { runNode, tmpdir, WINDOWS } from "./helpers.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Fence languages: examples (checked, and the file extension they are checked as), and the rest. */
const CHECKED = { ts: ".ts", js: ".mjs", mjs: ".mjs" };
const NOT_CODE = new Set(["sh", "text"]);

/** The preambles of fragments: `api` always, then those the block's marker names. */
const CONTEXTS = {
  api: (names) => [`import { ${names.join(", ")} } from "memmap";`, `declare const mm: MMap; // an open map of hello.txt`],
  options: () => [
    `import type { FileHandle } from "node:fs/promises";`,
    `declare const fd: number | FileHandle, path: string, length: number, offset: number;`,
    `declare const flags: number, prot: number, access: Access;`,
    `declare const trackfd: boolean, shareable: boolean, create: boolean, size: number;`,
  ],
};
const MARKER = /^<!--\s*example-context:\s*([\w ]+?)\s*-->$/;
const IMPORTS_MEMMAP = /^\s*import\b[^;]*?\bfrom\s*["']memmap["']/m;

/** The fenced blocks of a list of { no, text } lines; `problems` collects bad fences. */
function fencedBlocks(file, lines, problems) {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(.*)$/.exec(lines[i].text);
    if (!open) continue;
    const lang = open[2].trim();
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i].text); i++) body.push(lines[i].text.slice(open[1].length));
    const where = `${file}:${lines[start].no}`;
    if (i === lines.length) problems.push(`${where}: the fence is never closed`);
    const checked = Object.hasOwn(CHECKED, lang);
    if (!checked && !NOT_CODE.has(lang)) {
      problems.push(`${where}: fence language "${lang}" is neither an example (${Object.keys(CHECKED)}) nor ${[...NOT_CODE]}`);
      continue;
    }
    if (!checked) continue;
    let prev = start - 1;
    while (prev >= 0 && lines[prev].text.trim() === "") prev--;
    const marker = prev >= 0 ? MARKER.exec(lines[prev].text.trim()) : null;
    const contexts = marker ? marker[1].split(/\s+/) : [];
    for (const c of contexts) if (!Object.hasOwn(CONTEXTS, c)) problems.push(`${where}: unknown example context "${c}"`);
    const code = body.join("\n");
    const complete = IMPORTS_MEMMAP.test(code);
    if (complete && marker) problems.push(`${where}: a complete program (it imports "memmap") takes no example-context`);
    blocks.push({ file, line: lines[start].no + 1, lang, code, contexts, complete });
  }
  return blocks;
}

/** Lines of a Markdown file, numbered from 1. */
const markdownLines = (text) => text.split("\n").map((t, i) => ({ no: i + 1, text: t }));

/** The lines inside the /** … *\/ comments of a TypeScript file, without their leading " * ". */
function tsdocLines(text) {
  const out = [];
  let inside = false;
  text.split("\n").forEach((t, i) => {
    if (!inside && /^\s*\/\*\*/.test(t) && !/\*\//.test(t)) inside = true;
    else if (inside && /\*\//.test(t)) inside = false;
    else if (inside) out.push({ no: i + 1, text: t.replace(/^\s*\* ?/, "") });
  });
  return out;
}

function collect() {
  const problems = [];
  const blocks = [];
  const docs = fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  for (const file of ["README.md", ...docs.sort()]) {
    blocks.push(...fencedBlocks(file, markdownLines(fs.readFileSync(path.join(root, file), "utf8")), problems));
  }
  const sources = fs.readdirSync(path.join(root, "src")).filter((f) => f.endsWith(".ts")).sort();
  for (const f of sources) {
    blocks.push(...fencedBlocks(`src/${f}`, tsdocLines(fs.readFileSync(path.join(root, "src", f), "utf8")), problems));
  }
  return { blocks, problems };
}

/** Every name dist/index.d.ts exports (values and types), read by the compiler. */
function exportedNames() {
  const dts = path.join(root, "dist", "index.d.ts");
  const program = ts.createProgram([dts], { noLib: true, types: [], noEmit: true });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(dts));
  return checker.getExportsOfModule(moduleSymbol).map((s) => s.name).sort();
}

/**
 * A value claimed by a trailing comment: `expression; // "text"` (any JSON string, number,
 * boolean or null). Declarations and statements are not claims.
 */
const CLAIM = /^(\s*)(?!(?:const|let|var|using|await using|return|throw|if|for|while|import|export)\b)([^;]+);\s*\/\/\s*(.+?)\s*$/;
function claimOf(line) {
  const m = CLAIM.exec(line);
  if (!m) return null;
  try {
    const value = JSON.parse(m[3]);
    return value === null || typeof value !== "object" ? { indent: m[1], expr: m[2], literal: m[3] } : null;
  } catch {
    return null;
  }
}

/**
 * Wrong examples, compiled and run with the real ones: the test asserts that each is caught, so
 * a checker that stopped checking would fail.
 */
const CANARIES = [
  "```ts", //                                   line 1
  "mm.readline(1);", //                         line 2: readline takes no argument
  "```",
  "```ts",
  'import { MMap } from "memmap";', //          line 5
  "using m = new MMap(-1, 5);",
  'm.write("Hello");',
  'm.slice(0, 5).toString(); // "Hallo"', //    line 8: the claim is wrong
  "```",
  "```tsx",
  "```",
].join("\n");

/**
 * Windows (under Wine): no symlink or junction can be made from the temporary drive to the
 * checkout's, so node_modules/memmap is a package that re-exports this checkout's dist.
 */
function linkPackage(pkg) {
  const dist = path.join(root, "dist", "index.js");
  fs.mkdirSync(pkg);
  const exports = { ".": { types: "./index.d.ts", default: "./index.js" } };
  fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "memmap", type: "module", exports }));
  fs.writeFileSync(path.join(pkg, "index.js"), `export * from ${JSON.stringify(pathToFileURL(dist).href)};\n`);
  fs.writeFileSync(path.join(pkg, "index.d.ts"), `export * from ${JSON.stringify(dist.replaceAll("\\", "/"))};\n`);
}

/** Writes the project, type-checks every example and the canaries in one program. */
function setUp() {
  const { blocks, problems } = collect();
  const canaryProblems = [];
  const canaries = fencedBlocks("canary.md", markdownLines(CANARIES), canaryProblems);
  const dir = tmpdir("memmap-docs-examples-");
  fs.mkdirSync(path.join(dir, "node_modules"));
  if (WINDOWS) linkPackage(path.join(dir, "node_modules", "memmap"));
  else fs.symlinkSync(root, path.join(dir, "node_modules", "memmap"), "dir");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  const names = exportedNames();

  for (const [i, b] of [...blocks, ...canaries].entries()) {
    b.name = `${b.file}:${b.line}`;
    const preamble = b.complete ? [] : ["api", ...b.contexts].filter((c) => Object.hasOwn(CONTEXTS, c)).flatMap((c) => CONTEXTS[c](names));
    b.preambleLines = preamble.length;
    b.path = path.join(dir, `example-${i}${CHECKED[b.lang]}`);
    b.diagnostics = [];
    fs.writeFileSync(b.path, [...preamble, b.code, "export {};", ""].join("\n"));
  }

  const typesConfig = ts.readConfigFile(path.join(root, "test", "types", "tsconfig.json"), ts.sys.readFile).config;
  const { options } = ts.convertCompilerOptionsFromJson(
    { ...typesConfig.compilerOptions, allowJs: true, checkJs: true, typeRoots: [path.join(root, "node_modules", "@types")] },
    dir,
  );
  const all = [...blocks, ...canaries];
  const program = ts.createProgram(all.map((b) => b.path), options);
  const byPath = new Map(all.map((b) => [program.getSourceFile(b.path), b]));
  const general = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const b = d.file && byPath.get(d.file);
    if (!b) {
      general.push(`${d.file ? d.file.fileName : "tsc"}: TS${d.code} ${text}`);
      continue;
    }
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const where = line < b.preambleLines ? `the preamble of ${b.name}` : `${b.file}:${b.line + line - b.preambleLines}:${character + 1}`;
    b.diagnostics.push(`${where}: TS${d.code} ${text}`);
  }
  return { blocks, problems, general, canaries, canaryProblems };
}

/**
 * The program as it runs: each claim line becomes a check, then the compiler strips the types.
 * It runs in a fresh directory holding hello.txt ("Hello Python!\n").
 */
function run(b) {
  const lines = b.code.split("\n").map((text, i) => {
    const c = claimOf(text);
    if (!c) return text;
    const where = JSON.stringify(`${b.file}:${b.line + i}`);
    return `${c.indent}__claim((${c.expr}), ${c.literal}, ${where});`;
  });
  lines.push(
    "function __claim(actual: unknown, expected: unknown, where: string) {",
    "  if (!Object.is(actual, expected)) {",
    "    console.error(`${where}: the value is ${JSON.stringify(actual)}, the comment says ${JSON.stringify(expected)}`);",
    "    process.exitCode = 1;",
    "  }",
    "}",
  );
  const js = ts.transpileModule(lines.join("\n"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = b.path.replace(/\.[cm]?ts$|\.mjs$/, ".run.mjs");
  fs.writeFileSync(file, js);
  const cwd = tmpdir("memmap-docs-run-");
  fs.writeFileSync(path.join(cwd, "hello.txt"), "Hello Python!\n");
  // The docs describe the default mode, with views: under `npm run test:no-external` too.
  const { MEMMAP_NO_EXTERNAL_BUFFERS: _, ...env } = process.env;
  return runNode([file], { cwd, timeout: 20_000, env });
}

const { blocks, problems, general, canaries, canaryProblems } = setUp();

test("a wrong example fails: the canaries are caught", () => {
  assert.deepEqual(canaryProblems, ['canary.md:10: fence language "tsx" is neither an example (ts,js,mjs) nor sh,text']);
  assert.deepEqual(canaries[0].diagnostics, ["canary.md:2:13: TS2554 Expected 0 arguments, but got 1."]);
  assert.deepEqual(canaries[1].diagnostics, []);
  const r = run(canaries[1]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'canary.md:8: the value is "Hello", the comment says "Hallo"\n');
});

test("every fenced block in README.md, docs/*.md and the TSDoc of src/*.ts names a known language; markers name known contexts, on fragments only", () => {
  assert.deepEqual(problems, []);
});

test("the README, the docs and the TSDoc have examples, and the compiler saw each one", () => {
  const files = new Set(blocks.map((b) => b.file));
  assert.ok(files.has("README.md"), "README.md has an example");
  assert.ok([...files].some((f) => f.startsWith("src/")), "the TSDoc has examples");
  assert.deepEqual(general, [], "diagnostics outside the examples");
});

for (const b of blocks) {
  test(`${b.name} type-checks${b.complete ? "" : ` (a fragment, context: ${["api", ...b.contexts].join(" ")})`}`, () => {
    assert.deepEqual(b.diagnostics, []);
  });
}

for (const b of blocks.filter((x) => x.complete)) {
  const posixOnly = WINDOWS && /shareable: true/.test(b.code) && "a shareable (memfd) map: POSIX only";
  test(`${b.name} runs, and prints no error (a complete program; ${b.code.split("\n").filter(claimOf).length} claimed values)`, { skip: posixOnly }, () => {
    const r = run(b);
    assert.equal(r.signal, null, `killed by ${r.signal}; stderr: ${r.stderr}`);
    assert.equal(r.stderr, "");
    assert.equal(r.status, 0);
  });
}
