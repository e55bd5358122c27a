#!/usr/bin/env bash
# The full psftp test suite: lint, header freshness, the vendored libssh2,
# Rust unit and integration tests, C tests under sanitizers, the examples,
# valgrind, the Go and Node bindings, the install with its C++ suite and
# consumers, the installed artefacts, fuzzing and a benchmark smoke run, all
# against a real OpenSSH sshd on 127.0.0.1. Needs root (the test server's
# account).
#
# Every stage runs even when an earlier one failed; at the end a summary
# gives each stage's passed and failed counts, time and log (under
# target/test-logs/), then the closing line `psftp: N passed, M failed`.
# The exit status is non-zero if anything failed. Adding a stage is one
# `stage "Name" command args...` line (tests/lib/stages.sh says how its
# counts are read).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tests/lib/stages.sh

logs=$root/target/test-logs/$(date +%Y%m%d-%H%M%S)
stages_init "$logs"
ln -sfn "$(basename "$logs")" "$root/target/test-logs/latest"
echo "logs: $logs"

work=$(mktemp -d /tmp/psftp-tests.XXXXXX)
chmod 755 "$work" # sshd reads authorized_keys as the test user
cleanup() {
  bash "$root/tests/fixture/sshd.sh" stop "$work/sshd" >/dev/null 2>&1 || true
  [ -d "$work/matrix" ] && bash "$root/tests/servers/matrix.sh" stop "$work/matrix" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lint() {
  cargo fmt --check
  cargo clippy --all-targets --quiet -- -D warnings
}

header_in_sync() {
  PSFTP_WRITE_HEADER=1 cargo build --quiet
  if git rev-parse --git-dir >/dev/null 2>&1; then
    git diff --exit-code -- include/psftp.h || {
      echo "include/psftp.h was stale: commit the regenerated header" >&2
      return 1
    }
  fi
}

# The env file (mode 600) holds the account's password: it is read from
# there, never printed into a log.
start_server() {
  bash tests/fixture/sshd.sh start "$work/sshd" >/dev/null
  echo "sshd on 127.0.0.1:$(sed -n 's/^PSFTP_TEST_PORT=//p' "$work/sshd/env"), account $(sed -n 's/^PSFTP_TEST_USER=//p' "$work/sshd/env")"
}
load_server_env() {
  [ -f "$work/sshd/env" ] || return 0
  set -a
  . "$work/sshd/env"
  set +a
  export PSFTP_TEST_ENV=$work/sshd/env
}

# A quick run checks correctness only: no PASS/MISS rows.
bench_smoke() {
  bash bench/run.sh --quick | tee "$work/bench.out"
  if grep -qE '\| (PASS|MISS) \|$' "$work/bench.out"; then
    echo "the quick benchmark run gave verdicts on the targets" >&2
    return 1
  fi
}

# One scenario against every server of tests/servers (started and stopped
# here; tests/matrix.rs is not among --all-targets, so it is linted here).
server_matrix() {
  local dir=$work/matrix
  # Expanded now: the trap runs when the stage's subshell exits, after this
  # function has returned and its local is gone (set -u failed the stage).
  trap "bash tests/servers/matrix.sh stop '$dir' || true" EXIT
  cargo clippy --quiet --test matrix -- -D warnings
  bash tests/servers/matrix.sh start "$dir"
  (cd tests/servers/gosftp && test -z "$(gofmt -l .)" && go vet ./...)
  PSFTP_MATRIX_DIR=$dir cargo test --quiet --no-fail-fast --test matrix
}

release_and_valgrind() {
  cargo build --release --quiet
  bash tests/c/valgrind.sh
}

stage "setup (tests/setup.sh)" bash tests/setup.sh
stage "stage runner self-test" bash tests/runner/selftest.sh
stage "rustfmt and clippy" lint
stage "header is in sync with the sources" header_in_sync
stage "vendored libssh2-sys = crates.io 0.3.4 + patches" bash tests/vendor/check.sh
stage "test server" start_server
load_server_env
stage "Rust tests" cargo test --quiet --no-fail-fast
stage "C tests (ASan, LSan, UBSan)" bash tests/c/run.sh
stage "examples and the pysftp cookbook in C" bash tests/c/examples.sh
stage "release build, valgrind (0 errors, 0 leaks)" release_and_valgrind
stage "Go binding (gofmt, vet, go test, -race)" bash bindings/go/test.sh
stage "Node binding (koffi, node --test, tsc)" bash bindings/node/test.sh
stage "Python package (wheel, fresh venv without cargo, pytest, mypy --strict)" bash bindings/python/test.sh
stage "install, CMake/pkg-config consumers, C++ (GoogleTest)" bash tests/cpp/test.sh
stage "installed artefacts: size, debug info, symbols, mixed link" bash tests/artefacts/test.sh
stage "fuzzing (brief; fuzz/run.sh 600 by hand for longer)" bash fuzz/run.sh 15
stage "benchmark smoke run (every byte verified, no targets)" bench_smoke

stage "server matrix: OpenSSH, asyncssh, paramiko, pkg/sftp, ProFTPD (tests/servers)" server_matrix

stages_summary
