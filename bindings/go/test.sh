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
#
# Then it builds testdata/consumer as a user would: a fresh module outside
# this one (a replace line points here) against an installed psftp (the
# documented cmake install into a temporary prefix, moved, unless
# PSFTP_PREFIX is set), once linking libpsftp.so and once with -tags
# psftp_static, and runs each without LD_LIBRARY_PATH: each uploads a file
# and gets it back. PSFTP_GO_SKIP_CONSUMER=1 leaves that stage out (for
# quick runs during development; CI runs it).
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

# The caller's PKG_CONFIG_PATH, for the cmake install below: cargo reruns
# the build scripts of openssl-sys and libz-sys (minutes) when it differs
# from the last build's.
caller_pkg_config_path=("PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-}")
[ -n "${PKG_CONFIG_PATH+set}" ] || caller_pkg_config_path=(-u PKG_CONFIG_PATH)

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

[ "${PSFTP_GO_SKIP_CONSUMER:-}" = 1 ] && { echo "consumer stage left out (PSFTP_GO_SKIP_CONSUMER=1)"; exit 0; }

echo "== consumer programs: a module outside this one, installed psftp"
if [ -n "${PSFTP_PREFIX:-}" ]; then
  prefix=$(cd "$PSFTP_PREFIX" && pwd)
else
  (cd "$root" &&
    env "${caller_pkg_config_path[@]}" cmake -B "$tmp/build" -DCMAKE_INSTALL_PREFIX="$tmp/installed" >/dev/null &&
    env "${caller_pkg_config_path[@]}" cmake --build "$tmp/build" >/dev/null &&
    cmake --install "$tmp/build" >/dev/null)
  mv "$tmp/installed" "$tmp/prefix" # the install is relocatable
  prefix=$tmp/prefix
fi
pcdir=$(dirname "$(find "$prefix" -name psftp.pc -path '*/pkgconfig/*' | head -n 1)")
[ -f "$pcdir/psftp-static.pc" ] || { echo "test.sh: $pcdir/psftp-static.pc was not installed" >&2; exit 1; }
head -c 3000017 /dev/urandom > "$tmp/consumer-data"
consumers=0
build_consumer() { # shared|static
  local kind=$1 dir=$tmp/consumer-$1 tags=() needed remote
  [ "$kind" = static ] && tags=(-tags psftp_static)
  mkdir -p "$dir"
  cp "$here/testdata/consumer/main.go" "$dir/"
  cat > "$dir/go.mod" <<MOD
module example.com/consumer

go 1.24

require github.com/psftp/psftp/bindings/go v0.0.0

replace github.com/psftp/psftp/bindings/go => $here
MOD
  # Only what a user has: PKG_CONFIG_PATH, no LD_LIBRARY_PATH or CGO_* flags.
  # A build cache of its own: Go's does not notice that psftp.pc changed
  # (golang/go#24544), so the go test builds above would be reused, with
  # their flags.
  (cd "$dir" && env -u LD_LIBRARY_PATH -u CGO_LDFLAGS -u CGO_CFLAGS PKG_CONFIG_PATH="$pcdir" \
    GOCACHE="$tmp/gocache" go build "${tags[@]}" -o consumer .)
  needed=$(readelf -d "$dir/consumer" | grep NEEDED)
  if [ "$kind" = static ]; then
    [[ $needed != *libpsftp* ]] || { echo "test.sh: the psftp_static build needs libpsftp.so: $needed" >&2; exit 1; }
  else
    [[ $needed == *libpsftp.so.* ]] || { echo "test.sh: the shared build does not need libpsftp.so: $needed" >&2; exit 1; }
  fi
  remote=$PSFTP_TEST_HOME/go-consumer-$$-$kind
  env -u LD_LIBRARY_PATH "$dir/consumer" "$PSFTP_TEST_HOST" "$PSFTP_TEST_PORT" "$PSFTP_TEST_USER" \
    "$PSFTP_TEST_KEY" "$PSFTP_TEST_KNOWN_HOSTS" "$tmp/consumer-data" "$remote"
  cmp "$tmp/consumer-data" "$remote" # the server's own disk
  rm -f "$remote"
  consumers=$((consumers + 1))
  echo "consumer ($kind) ok"
}
build_consumer shared
build_consumer static
echo "go consumer: $consumers passed, $((2 - consumers)) failed"
