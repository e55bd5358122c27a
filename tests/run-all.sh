#!/usr/bin/env bash
# The full psftp test suite: lint, header freshness, Rust unit and
# integration tests, C tests under sanitizers and the examples, all against
# a real OpenSSH sshd on 127.0.0.1. Needs root (it creates the test user).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }

step "setup"
bash tests/setup.sh

step "rustfmt and clippy"
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings

step "header is in sync with the sources"
PSFTP_WRITE_HEADER=1 cargo build --quiet
if git rev-parse --git-dir >/dev/null 2>&1; then
  git diff --exit-code -- include/psftp.h || {
    echo "include/psftp.h was stale: commit the regenerated header" >&2
    exit 1
  }
fi

step "test server"
work=$(mktemp -d /tmp/psftp-tests.XXXXXX)
chmod 755 "$work" # sshd reads authorized_keys as the test user
cleanup() {
  bash "$root/tests/fixture/sshd.sh" stop "$work/sshd" || true
  rm -rf "$work"
}
trap cleanup EXIT
bash tests/fixture/sshd.sh start "$work/sshd" > "$work/env"
set -a
. "$work/env"
set +a
export PSFTP_TEST_ENV=$work/env
echo "sshd on 127.0.0.1:$PSFTP_TEST_PORT"

step "Rust tests"
cargo test --quiet 2>&1 | tee "$work/rust.log"

step "C tests (ASan, LSan, UBSan)"
bash tests/c/run.sh | tee "$work/c.log"

step "examples"
bash tests/c/examples.sh | tee "$work/examples.log"

step "release build: valgrind (0 errors, 0 leaks), then the bindings"
cargo build --release --quiet
bash tests/c/valgrind.sh 2>&1 | tee "$work/valgrind.log"

step "Go binding (gofmt, vet, go test, go test -race)"
bash bindings/go/test.sh 2>&1 | tee "$work/go.log"

step "Node binding (koffi, node --test, tsc)"
bash bindings/node/test.sh 2>&1 | tee "$work/node.log"

step "Python package (pip wheel, fresh venv without cargo, pytest, mypy --strict)"
bash bindings/python/test.sh 2>&1 | tee "$work/python.log"

step "install, CMake and pkg-config consumers, C++ binding (GoogleTest)"
bash tests/cpp/test.sh 2>&1 | tee "$work/cpp.log"

step "fuzzing (brief; run fuzz/run.sh 600 by hand for longer)"
bash fuzz/run.sh 15 2>&1 | tee "$work/fuzz.log"

step "benchmark harness, smoke run (small sizes, every byte verified; timings are not asserted)"
bash bench/run.sh --quick 2>&1 | tee "$work/bench.log" | tail -n 25

# One closing line over every suite: "N passed, N failed".
count() { grep -hoE "$1" "$work"/*.log | grep -oE '[0-9]+' | paste -sd+ | bc; }
passed=$(( $(count '[0-9]+ passed') + $(count 'ℹ pass [0-9]+') + $(count 'tests failed out of [0-9]+') ))
step "all suites passed in $(( $(date +%s) - start )) s"
echo "psftp: $passed passed, 0 failed"
