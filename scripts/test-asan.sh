#!/usr/bin/env bash
# npm run test:asan [-- test/x.test.mjs ...]
#
# Runs the test suite against the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc), in a private copy of the working tree; the
# checkout's own build is untouched. Node itself is not instrumented, so the
# ASan runtime of the compiler is preloaded into every process of the run.
# Exits non-zero when a test fails or any process of the run (test files, the
# child processes they start) wrote a sanitizer report; the reports are printed.
#
# Environment: CC (default gcc), MEMMAP_SANITIZE_KEEP=1 keeps the temporary
# directory, MEMMAP_SANITIZE_SELFTEST=1 plants a bug in the copy (see
# docs/sanitizers.md). Details and results: docs/sanitizers.md.
name=test:asan
source "$(dirname "${BASH_SOURCE[0]}")/sanitize-lib.sh"

[[ $(uname -s) == Linux ]] || die "Linux only"
select_tests files "" "$@"

cc="${CC:-gcc}"
libasan="$("$cc" -print-file-name=libasan.so)"
libasan="$(readlink -f "$libasan")"
[[ -f $libasan ]] || die "$cc has no libasan.so (on Debian/Ubuntu: apt-get install libasan8 or a newer gcc)"

work="$(mktemp -d "${TMPDIR:-/tmp}/memmap-asan.XXXXXX")"
logs="$work/logs"
mkdir -p "$logs"
keep=${MEMMAP_SANITIZE_KEEP:-0}
trap '[[ $keep == 1 ]] && say "kept $work" || rm -rf "$work"' EXIT

make_tree "$work"
# -fno-sanitize-recover=all: undefined behaviour aborts the process like an ASan error.
build_addon "$work" \
  "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1" \
  "-fsanitize=address,undefined"

# LD_PRELOAD: the ASan runtime must come first in the library list, and node is not
#   linked against it. Every process of the run inherits it (node children,
#   python3, truncate, ...); none but node loads memmap.
# detect_leaks=0: Node does not free everything at exit, by design; without
#   this every process would end with a leak report and exit code 23.
# handle_segv=0, handle_sigbus=0: memmap contains faults in its own mappings with
#   its own SIGSEGV/SIGBUS handler (native/fault.c) and chains others to the
#   previous handler; ASan's handler would turn the faults that the tests
#   provoke on purpose into reports. allow_user_segv_handler=1 lets memmap's
#   sigaction() through.
# log_path: a report goes to a file per process, so that a report from a child
#   process whose end a test does not check still fails the run.
export LD_PRELOAD="$libasan${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1:log_path=$logs/asan:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan:${UBSAN_OPTIONS:-}"

check_loaded "$work" "libasan.so"

say "running ${#files[@]} test file(s) in $work/tree"
(cd "$work/tree" && node --expose-gc --test --test-concurrency=2 "${files[@]}")
status=$?

reports=("$logs"/*)
if [[ -e ${reports[0]} ]]; then
  keep=1
  say "${#reports[@]} sanitizer report(s):"
  for r in "${reports[@]}"; do
    printf '\n----- %s -----\n' "${r##*/}" >&2
    cat "$r" >&2
  done
  mine=$(grep -lE 'memmap\.node|native/[A-Za-z0-9_-]+\.c' "${reports[@]}" | wc -l)
  say "$mine of ${#reports[@]} report(s) have memmap frames (memmap.node, native/*.c)"
  exit 1
fi
if ((status != 0)); then say "the tests failed (exit code $status); no sanitizer report"; exit "$status"; fi
say "no sanitizer report; the tests passed"
