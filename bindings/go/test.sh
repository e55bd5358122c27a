#!/usr/bin/env bash
# Tests of the Go binding: gofmt, go vet, go test and go test -race against
# the test sshd.
#
# Assumes `cargo build --release` has run at the repository root and the
# PSFTP_TEST_* variables of a running fixture (tests/fixture/sshd.sh start)
# are exported. The package links libpsftp through pkg-config: with
# PSFTP_PREFIX set, the psftp.pc of that install prefix is used; otherwise a
# temporary psftp.pc points at this tree's include/ and target/release (or
# at $PSFTP_LIB_DIR, as for tests/c/run.sh).
# Extra arguments go to both `go test` runs (e.g. -v, -run NAME).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

command -v go >/dev/null 2>&1 || export PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null 2>&1 || { echo "test.sh: go not found (install Go 1.24+)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=1 # never download a toolchain

for v in HOST PORT USER PASSWORD PASSPHRASE HOME DIR KNOWN_HOSTS KEY; do
  [ -n "$(printenv "PSFTP_TEST_$v")" ] || {
    echo "test.sh: PSFTP_TEST_$v is not set: start tests/fixture/sshd.sh and export its variables" >&2
    exit 1
  }
done

tmp=$(mktemp -d /tmp/psftp-go-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${PSFTP_PREFIX:-}" ]; then
  prefix=$(cd "$PSFTP_PREFIX" && pwd)
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  # In case the installed psftp.pc carries no rpath for a non-system prefix.
  export LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
else
  lib=${PSFTP_LIB_DIR:-$root/target/release}
  [ -f "$lib/libpsftp.so" ] || { echo "test.sh: $lib/libpsftp.so missing: run cargo build --release" >&2; exit 1; }
  lib=$(cd "$lib" && pwd)
  # The soname is libpsftp.so.0.MINOR; cargo only writes libpsftp.so.
  soname=$(objdump -p "$lib/libpsftp.so" | awk '/SONAME/ {print $2}')
  [ -n "$soname" ] && ln -sf libpsftp.so "$lib/$soname"
  version=$(awk -F'"' '/^version *=/ {print $2; exit}' "$root/Cargo.toml")
  mkdir -p "$tmp/pkgconfig"
  cat > "$tmp/pkgconfig/psftp.pc" <<PC
includedir=$root/include
libdir=$lib

Name: psftp
Description: The pysftp 0.2.9 API as a C library (build tree)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lpsftp -Wl,-rpath,\${libdir}
PC
  export PKG_CONFIG_PATH=$tmp/pkgconfig
fi
echo "psftp $(pkg-config --modversion psftp) from $(pkg-config --variable=libdir psftp)"

echo "== gofmt"
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || { echo "not gofmt-clean: $unformatted" >&2; exit 1; }

echo "== go vet"
go vet ./...

# -v lists each test; the summary line counts them ("N passed, N failed").
run_tests() { # label, go test flags...
  local label=$1 log
  shift
  log=$(mktemp)
  local status=0
  go test -v -count=1 "$@" ./... >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log"
  else
    grep -E '^(ok|FAIL|---)' "$log" | grep -v -- '--- PASS' || true
  fi
  # Printed on failure too: the suite's summary counts it. Nothing is
  # skipped in CI, so a skipped test counts as failed.
  local skipped
  skipped=$(grep -c -- '--- SKIP' "$log" || true)
  echo "go $label: $(grep -c -- '--- PASS' "$log") passed, $(( $(grep -c -- '--- FAIL' "$log") + skipped )) failed"
  rm -f "$log"
  [ "$status" -eq 0 ] || exit "$status"
  [ "$skipped" -eq 0 ] || exit 1
}

echo "== go test"
run_tests test "$@"

echo "== go test -race"
run_tests race -race "$@"
