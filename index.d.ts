// The package's type entry ("types" in package.json): the declarations tsc emits from src/index.ts,
// plus the two references they need, so that they type-check in any TypeScript project without
// settings of its own. `Buffer` and the `node:*` modules come from @types/node, which TypeScript 7
// (and `tsc --init` since 5.9, with "types": []) no longer includes unasked; `Disposable` and
// `Symbol.dispose` come from the esnext.disposable library, which older targets lack.
/// <reference types="node" />
/// <reference lib="esnext.disposable" />
export * from "./dist/index.js";
