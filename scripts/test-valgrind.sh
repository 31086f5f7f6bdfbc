#!/usr/bin/env bash
# npm run test:valgrind [-- test/x.test.mjs ...]
#
# Runs the test files, one process each, under valgrind's memcheck, against the
# addon built with debug information in a private copy of the working tree (the
# checkout's own build is untouched). Exits non-zero when memcheck reports an error
# (invalid access, uninitialised value, bad free, a block definitely lost) that the
# Node/V8-only suppressions (scripts/valgrind.supp) do not cover, or when a test
# fails, except the few listed in scripts/valgrind-known-failures.txt. The errors
# are printed, those with memmap frames first.
#
# The test processes are checked; the child processes they start are not, unless
# MEMMAP_VALGRIND_CHILDREN=1 (see docs/sanitizers.md). MEMMAP_VALGRIND_JOBS=N runs N
# files at once (default 2). test/types.test.mjs only type-checks declarations (no
# native code) and is left out unless named. MEMMAP_SANITIZE_KEEP=1 keeps the
# temporary directory; MEMMAP_SANITIZE_SELFTEST=1 plants a bug in the copy.
name=test:valgrind
source "$(dirname "${BASH_SOURCE[0]}")/sanitize-lib.sh"

[[ $(uname -s) == Linux ]] || die "Linux only"
command -v valgrind >/dev/null || die "valgrind is not installed (apt-get install valgrind)"
select_tests files "test/types.test.mjs" "$@"
jobs=${MEMMAP_VALGRIND_JOBS:-2}

work="$(mktemp -d "${TMPDIR:-/tmp}/memmap-valgrind.XXXXXX")"
logs="$work/logs"
mkdir -p "$logs" "$work/out"
keep=${MEMMAP_SANITIZE_KEEP:-0}
trap '[[ $keep == 1 ]] && say "kept $work" || rm -rf "$work"' EXIT

make_tree "$work"
# The flags of the default build plus debug information, for file:line in stacks.
build_addon "$work" "-g -fno-omit-frame-pointer" ""
check_loaded "$work" ""

vg=(valgrind --tool=memcheck --error-exitcode=1 --num-callers=40 --fullpath-after=
  --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
  --suppressions="$root/scripts/valgrind.supp" --log-file="$logs/vg.%p.log")
if [[ ${MEMMAP_VALGRIND_CHILDREN:-0} == 1 ]]; then
  # Node children only: not python3 (through pyenv's shell shims), truncate, getconf,
  # nor tsc (a node process running TypeScript's compiler, no memmap in it).
  vg+=(--trace-children=yes --trace-children-skip='*python*,*pyenv*,*/sh,*/bash,*/truncate,*/getconf,*/env'
    --trace-children-skip-by-arg='*typescript*')
fi

say "running ${#files[@]} test file(s) under memcheck in $work/tree, $jobs at a time"
run_one() {
  local f="$1" out="$work/out/${1//\//_}" t0=$SECONDS
  (cd "$work/tree" && "${vg[@]}" node --expose-gc "$f") >"$out" 2>&1
  local rc=$?
  echo "$rc" >"$out.rc"
  say "$f: exit $rc, $(grep -E '^# (pass|fail) ' "$out" | tr '\n' ' ')in $((SECONDS - t0)) s"
}
t0=$SECONDS
for f in "${files[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done
  run_one "$f" &
done
wait
say "all files ran in $((SECONDS - t0)) s"

# Known failures: "file :: name prefix :: reason" lines.
known=()
while IFS= read -r line; do
  [[ $line =~ ^[[:space:]]*(#|$) ]] || known+=("$line")
done <"$root/scripts/valgrind-known-failures.txt"
is_known() { # file name
  local k kf kn
  for k in "${known[@]}"; do
    kf="${k%% :: *}"; kn="${k#* :: }"; kn="${kn%% :: *}"
    [[ $1 == "$kf" && $2 == "$kn"* ]] && return 0
  done
  return 1
}

# The names of the failed tests of a TAP output, at any depth, except suites that
# failed only because a test inside them did (that test is listed itself).
failed_tests() {
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
      if (!m) continue;
      let suite = false;
      for (let j = i + 1; j < lines.length && lines[j] !== m[1] + "  ..."; j++)
        if (lines[j].includes("failureType: \x27subtestsFailed\x27")) suite = true;
      if (!suite) console.log(m[2]);
    }' "$1"
}

unexpected=()
for f in "${files[@]}"; do
  out="$work/out/${f//\//_}"
  rc=$(cat "$out.rc")
  mapfile -t failed < <(failed_tests "$out")
  bad=0
  for t in "${failed[@]}"; do
    if is_known "$f" "$t"; then say "$f: known failure under valgrind: $t"
    else bad=1; unexpected+=("$f: $t"); fi
  done
  # Exit 1 with no failed test is memcheck's --error-exitcode (reported below);
  # anything else without a failed test (a crash, a timeout) counts as a failure.
  if ((rc != 0 && rc != 1 && ${#failed[@]} == 0)) || { ((rc == 1)) && ! grep -q '^# fail' "$out"; }; then
    bad=1; unexpected+=("$f: exit $rc without a test result")
  fi
  if ((bad)); then
    printf '\n----- %s: failed tests (TAP) -----\n' "$f"
    grep -E -A30 '^ *not ok' "$out" | head -150
  fi
done

printf '\n'
node "$root/scripts/valgrind-report.mjs" "$logs"
report=$?
status=0
if ((report != 0)); then status=1; say "memcheck reported errors (above)"; fi
if ((${#unexpected[@]})); then
  status=1
  say "tests failed under valgrind:"
  printf '  %s\n' "${unexpected[@]}" >&2
fi
if ((status != 0)); then keep=1; exit 1; fi
say "no memcheck error; the tests passed"
