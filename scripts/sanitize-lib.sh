# Shared by scripts/test-asan.sh and scripts/test-valgrind.sh (sourced, not run).
#
# Both build the addon with extra compiler flags in a private copy of the working
# tree, so build/Release and dist/ of the checkout are never touched: src/binding.ts
# loads <tree>/build/Release/memmap.node relative to <tree>/dist, and the copy has
# no other build for it to fall back on.

set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '%s: %s\n' "$name" "$*" >&2; }
die() { say "$*"; exit 2; }

# The files to test: the arguments, or every test file but the excluded ones.
# Arguments may be given relative to the checkout (test/x.test.mjs) or by name.
select_tests() {
  local -n out=$1; shift
  local exclude=" $1 "; shift
  out=()
  if (($#)); then
    for f in "$@"; do
      f="${f#./}"; [[ $f == test/* ]] || f="test/$f"
      [[ -f $root/$f ]] || die "no such test file: $f"
      out+=("$f")
    done
  else
    for f in "$root"/test/*.test.mjs; do
      f="test/${f##*/}"
      [[ $exclude == *" $f "* ]] || out+=("$f")
    done
  fi
}

# make_tree DIR: copies the working tree (uncommitted changes included; not build/,
# prebuilds/, dist/, node_modules/ nor .git) into DIR/tree, links node_modules and
# compiles the TypeScript there. Without prebuilds/, the copy's build/Release is the
# only addon its dist/ can find.
make_tree() {
  local tree="$1/tree"
  mkdir -p "$tree" || die "cannot create $tree"
  tar -C "$root" --exclude=./build --exclude=./prebuilds --exclude=./dist --exclude=./node_modules --exclude=./.git -cf - . |
    tar -C "$tree" -xf - || die "cannot copy the working tree"
  [[ -d $root/node_modules/typescript ]] || die "node_modules is missing: run npm install first"
  ln -s "$root/node_modules" "$tree/node_modules"
  if [[ ${MEMMAP_SANITIZE_SELFTEST:-} == 1 ]]; then inject_bug "$tree"; fi
  (cd "$tree" && node node_modules/typescript/bin/tsc -p tsconfig.json) || die "tsc failed"
}

# MEMMAP_SANITIZE_SELFTEST=1 plants a use-after-free in the copy's mm_map (never in
# the checkout), to show that the command fails on an error in memmap's C code.
inject_bug() {
  local c="$1/native/posix.c"
  sed -i -e 's|^#include <errno.h>$|#include <errno.h>\n#include <stdlib.h>|' \
    -e 's|^int mm_map(\(.*\)) {$|int mm_map(\1) {\n  { volatile char *p = malloc(8); free((void *)p); if (p[0] == 42) length++; } /* SELFTEST */|' "$c"
  grep -q SELFTEST "$c" || die "selftest: could not plant the bug in $c"
  say "selftest: planted a use-after-free in the copy's native/posix.c mm_map()"
}

# build_addon DIR CFLAGS LDFLAGS: node-gyp rebuild in DIR/tree with extra flags.
build_addon() {
  local tree="$1/tree" gyp
  if command -v node-gyp >/dev/null; then gyp=(node-gyp)
  elif [[ -n ${npm_config_node_gyp:-} ]]; then gyp=(node "$npm_config_node_gyp")
  else
    # The node-gyp that npm bundles, next to npm's own entry point.
    local npm_dir
    npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
    gyp=(node "$npm_dir/node_modules/node-gyp/bin/node-gyp.js")
  fi
  # Outside npm (which passes its nodedir setting on), use the headers installed
  # next to node, as a distribution's nodejs package has them, rather than download.
  local prefix
  prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [[ -z ${npm_config_nodedir:-} && -f $prefix/include/node/node_api.h ]]; then gyp+=(--nodedir="$prefix"); fi
  say "building the addon in $tree with CFLAGS=$2"
  (cd "$tree" && CC="${CC:-gcc}" CXX="${CXX:-g++}" CFLAGS="$2" LDFLAGS="$3" "${gyp[@]}" rebuild \
    >"$1/build.log" 2>&1) || { cat "$1/build.log" >&2; die "the build failed (log above)"; }
  [[ -f $tree/build/Release/memmap.node ]] || die "no $tree/build/Release/memmap.node"
}

# check_loaded DIR PATTERN: runs node in the copy (with the current environment)
# and fails unless the copy's addon, and a mapping matching PATTERN, are loaded.
check_loaded() {
  local tree="$1/tree"
  (cd "$tree" && node --input-type=module -e '
    await import("./dist/index.js");
    const maps = (await import("node:fs")).readFileSync("/proc/self/maps", "utf8");
    const want = [process.argv[1] + "/build/Release/memmap.node", process.argv[2]];
    const miss = want.filter((w) => w && !maps.includes(w));
    if (miss.length) { console.error("not loaded: " + miss.join(", ")); process.exit(1); }
  ' "$tree" "$2") || die "the copy does not load its own addon"
}
