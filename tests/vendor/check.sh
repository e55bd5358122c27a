#!/usr/bin/env bash
# vendor/libssh2-sys must be the released crate libssh2-sys 0.3.4 from
# crates.io, trimmed to what its build script uses, plus the
# psftp-*.patch files beside it and nothing else; cargo must build psftp
# with it; and a build that asks for the system libssh2 (which lacks the
# patches) must fail and say why.
#
# The crate comes from cargo's download cache, or is downloaded with cargo
# (through a throwaway manifest), and must have crates.io's checksum.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
vendor=$root/vendor/libssh2-sys
version=0.3.4
# crates.io's checksum of libssh2-sys 0.3.4 (the `cksum` of its index entry).
sha256=fce5a0b125f6aeac93b304b35f7f1e9f054aad29ddac57091928e41df3ccd233
# What vendor/ keeps of the crate: its build script's inputs and licences.
keep=(Cargo.toml build.rs lib.rs LICENSE-APACHE LICENSE-MIT
      libssh2/COPYING libssh2/include libssh2/src libssh2/libssh2.pc.in)

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAILED: $*" >&2; failed=$((failed + 1)); }
finish() { echo "vendor: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; }

tmp=$(mktemp -d /tmp/psftp-vendor.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

released_crate() {
  local cache=${CARGO_HOME:-$HOME/.cargo}/registry/cache f
  for f in "$cache"/*/libssh2-sys-$version.crate; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  mkdir -p "$tmp/fetch/src"
  : > "$tmp/fetch/src/lib.rs"
  printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nlibssh2-sys = "=%s"\n' \
    "$version" > "$tmp/fetch/Cargo.toml"
  cargo fetch --quiet --manifest-path "$tmp/fetch/Cargo.toml" >&2
  for f in "$cache"/*/libssh2-sys-$version.crate; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo "cargo fetch did not leave libssh2-sys-$version.crate in $cache" >&2
  return 1
}

echo "== the released crate"
crate=$(released_crate)
if [ "$(sha256sum "$crate" | cut -d' ' -f1)" = "$sha256" ]; then
  ok "$crate has crates.io's checksum"
else
  bad "$crate does not have crates.io's checksum $sha256"
  finish
fi
mkdir "$tmp/crate" "$tmp/expected"
tar -xzf "$crate" -C "$tmp/crate"
(cd "$tmp/crate/libssh2-sys-$version" && cp -a --parents "${keep[@]}" "$tmp/expected/")

echo "== the patches apply to it as they are"
patches=$(cd "$vendor" && ls psftp-*.patch)
all_applied=1
for p in $patches; do
  if out=$(cd "$tmp/expected" && patch -p1 --fuzz=0 --no-backup-if-mismatch --batch < "$vendor/$p" 2>&1); then
    ok "$p applies (no fuzz)"
  else
    bad "$p does not apply to libssh2-sys $version: $out"
    all_applied=0
  fi
done

echo "== vendor/libssh2-sys is exactly that"
# Besides the crate's files: PSFTP.md and the patches themselves.
mkdir "$tmp/actual"
cp -a "$vendor/." "$tmp/actual/"
rm -f "$tmp/actual/PSFTP.md" "$tmp/actual"/psftp-*.patch
if [ $all_applied = 1 ] && out=$(diff -r "$tmp/expected" "$tmp/actual"); then
  ok "vendor/libssh2-sys = libssh2-sys $version (trimmed) + $(echo $patches)"
else
  bad "vendor/libssh2-sys differs from libssh2-sys $version + its patches (change the patches, not the sources):"
  echo "${out:-a patch did not apply}" | sed 's/^/  /' | head -n 60 >&2
fi

echo "== cargo builds psftp with the vendored crate"
# One Python line over cargo's own view: libssh2-sys resolves to vendor/.
manifest=$(cd "$root" && cargo metadata --format-version 1 --offline 2>/dev/null |
  python3 -c 'import json,sys; print(*[p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "libssh2-sys"])')
if [ "$manifest" = "$vendor/Cargo.toml" ]; then
  ok "libssh2-sys resolves to vendor/libssh2-sys"
else
  bad "libssh2-sys resolves to '${manifest}', not $vendor/Cargo.toml: is [patch.crates-io] gone from Cargo.toml?"
fi

echo "== a build with the system libssh2 (pkg-config) fails and says why"
if ! pkg-config --exists libssh2; then
  bad "pkg-config finds no system libssh2 (libssh2-1-dev), so this check would prove nothing"
else
  # Its own target directory: the main one keeps its fingerprints.
  if out=$(cd "$root" && LIBSSH2_SYS_USE_PKG_CONFIG=1 cargo check --quiet -p libssh2-sys \
             --target-dir "$root/target/vendor-check" 2>&1); then
    bad "LIBSSH2_SYS_USE_PKG_CONFIG=1 built libssh2-sys against the system libssh2 $(pkg-config --modversion libssh2), without psftp's patches"
  elif grep -q "psftp needs the" <<<"$out" && grep -q "patched libssh2" <<<"$out"; then
    ok "LIBSSH2_SYS_USE_PKG_CONFIG=1 is refused: $(grep -o 'LIBSSH2_SYS_USE_PKG_CONFIG=.*there' <<<"$out" | head -1)"
  else
    bad "LIBSSH2_SYS_USE_PKG_CONFIG=1 failed, but not with psftp's message: $(tail -n 20 <<<"$out")"
  fi
fi

finish
