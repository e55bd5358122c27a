#!/usr/bin/env bash
# Self-test of the stage runner (tests/lib/stages.sh) with dummy stages:
# each test runner's summary format is counted, a failing stage does not
# stop the ones after it, a crash without counts is a failure, skipped
# tests are failures, the closing line adds everything up and the exit
# status says whether anything failed. Takes about a second.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/stages.sh"

tmp=$(mktemp -d /tmp/psftp-runner-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
expect() { # description, then the condition as a command
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $what" >&2
  fi
}

# The dummy stages. The runner's own output goes to a file, not to this
# log: run-all.sh would count its lines.
cargo_ok() {
  echo "running 3 tests"
  echo "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s"
  echo "test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.20s"
}
cargo_failing() { # as cargo test --no-fail-fast: two binaries, one failing
  echo "test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s"
  echo "test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"
  return 101
}
check_h_and_set_e() { # set -e stops the stage at the failing command
  echo "test_connect: 40 passed, 1 failed"
  false
  echo "test_transfer: 99 passed, 0 failed"
}
crash() { echo "Segmentation fault"; return 139; }
lint_ok() { echo "all formatted"; }
lint_bad() { echo "error: unused variable" >&2; return 1; }
node_spec() {
  printf 'ℹ tests 7\nℹ suites 0\nℹ pass 6\nℹ fail 1\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\nℹ duration_ms 12.5\n'
  return 1
}
ctest_and_gtest() { # ctest's count wins over the gtest output it shows
  echo "[  FAILED  ] 1 test, listed below:"
  echo "95% tests passed, 1 tests failed out of 20"
  return 8
}
gtest_direct() {
  echo "[==========] 12 tests from 3 test suites ran. (5 ms total)"
  echo "[  PASSED  ] 11 tests."
  echo "[  SKIPPED ] 1 test, listed below:"
}
go_wrapper() { echo "go test: 30 passed, 0 failed"; echo "go race: 30 passed, 0 failed"; }
pytest_rules() { echo "========= 8 passed, 1 failed, 1 skipped, 2 warnings in 3.21s ========="; return 1; }
pytest_quiet() { echo "5 passed in 0.12s"; }
last_stage() { touch "$tmp/last-stage-ran"; echo "last: 1 passed, 0 failed"; }

mixed_run() {
  stages_init "$tmp/logs"
  stage "cargo ok" cargo_ok
  stage "cargo failing" cargo_failing
  stage "check.h under set -e" check_h_and_set_e
  stage "crash without counts" crash
  stage "lint ok" lint_ok
  stage "lint bad" lint_bad
  stage "node spec" node_spec
  stage "ctest with gtest output" ctest_and_gtest
  stage "gtest direct" gtest_direct
  stage "go wrapper" go_wrapper
  stage "pytest with rules" pytest_rules
  stage "pytest -q" pytest_quiet
  stage "last stage" last_stage
  stages_summary
}

# Not under || or if: bash would ignore set -e inside the stages.
set +e
mixed_run > "$tmp/out" 2>&1
rc=$?
set -e
out=$(cat "$tmp/out")
row() { grep -E "^$1 +" <<<"$out" | head -n 1 | awk -v n="$(wc -w <<<"$1")" '{print $(n + 1), $(n + 2)}'; }

expect "the run fails (exit status $rc)" test "$rc" -ne 0
expect "the stage after the failures ran" test -f "$tmp/last-stage-ran"
expect "cargo ok counts 7/0, got $(row 'cargo ok')" test "$(row 'cargo ok')" = "7 0"
expect "cargo failing counts 6/3 (ignored is failed), got $(row 'cargo failing')" \
  test "$(row 'cargo failing')" = "6 3"
expect "set -e stops the stage after its first failure, got $(row 'check.h under set -e')" \
  test "$(row 'check.h under set -e')" = "40 1"
expect "a crash without counts is one failure, got $(row 'crash without counts')" \
  test "$(row 'crash without counts')" = "0 1"
expect "a lint that passes is one check, got $(row 'lint ok')" test "$(row 'lint ok')" = "1 0"
expect "a lint that fails is one failure, got $(row 'lint bad')" test "$(row 'lint bad')" = "0 1"
expect "node --test counts 6/1, got $(row 'node spec')" test "$(row 'node spec')" = "6 1"
expect "ctest counts 19/1 once, got $(row 'ctest with gtest output')" \
  test "$(row 'ctest with gtest output')" = "19 1"
expect "gtest counts 11/1 (skipped is failed), got $(row 'gtest direct')" \
  test "$(row 'gtest direct')" = "11 1"
expect "go counts 60/0, got $(row 'go wrapper')" test "$(row 'go wrapper')" = "60 0"
expect "pytest counts 8/2, got $(row 'pytest with rules')" test "$(row 'pytest with rules')" = "8 2"
expect "pytest -q counts 5/0, got $(row 'pytest -q')" test "$(row 'pytest -q')" = "5 0"
expect "the crash's row says why it failed" grep -q "crash without counts .*(no test counts; exit status 139)" <<<"$out"
expect "so does the failing cargo run's" grep -q "cargo failing .*(1 skipped, counted as failed)" <<<"$out"
expect "the summary names the failed stages" grep -q "^failed stages: cargo failing; check.h under set -e; crash" <<<"$out"
expect "the closing line adds up, got: $(tail -n 1 <<<"$out")" \
  test "$(tail -n 1 <<<"$out")" = "psftp: 164 passed, 11 failed"
expect "each stage's output is in its log" grep -q "Segmentation fault" "$tmp/logs/04-crash-without-counts.log"
expect "the summary gives the log paths" grep -q "$tmp/logs/01-cargo-ok.log" <<<"$out"

all_pass() {
  stages_init "$tmp/logs2"
  stage "cargo ok" cargo_ok
  stage "lint ok" lint_ok
  stages_summary
}
set +e
all_pass > "$tmp/out2" 2>&1
rc=$?
set -e
expect "a run where everything passes exits 0 (got $rc)" test "$rc" -eq 0
expect "and closes with psftp: 8 passed, 0 failed" test "$(tail -n 1 "$tmp/out2")" = "psftp: 8 passed, 0 failed"

misuse() { stages_init "$tmp/logs3"; stage "under ||" lint_ok; }
out3=$(misuse 2>&1) || true
expect "stage refuses to run where set -e is ignored, said: $out3" \
  grep -q "called where bash ignores set -e" <<<"$out3"

if [ "$failed" -ne 0 ]; then
  echo "--- the runner's output:" >&2
  sed 's/^/  | /' "$tmp/out" >&2
fi
echo "runner self-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
