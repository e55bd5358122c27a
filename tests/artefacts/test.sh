#!/usr/bin/env bash
# The libraries as users get them:
#  - the CMake build and a plain `cargo build --release` share their work
#    (neither recompiles psftp after the other);
#  - the installed tree: stripped libraries of bounded size, the shared
#    library's debug information in lib/.debug (found by gdb through its
#    .gnu_debuglink), only psftp_* global in libpsftp.so and libpsftp.a;
#  - one program linking the static psftp, the system libssh2 and another
#    Rust static library, using all three (tests/artefacts/mixed.c);
#  - README's "build with cargo and link target/release" commands as
#    written.
# Needs PSFTP_TEST_* of a running fixture (tests/run-all.sh exports them)
# and the packages of tests/setup.sh (libssh2-1-dev, gdb, binutils).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

# Bounds with room to grow: the stripped libpsftp.so is about 2.6 MB (19.7
# MB with debug information), the libpsftp.a about 10 MB (cargo's own is
# 61 MB).
max_shared=$((4 * 1024 * 1024))
max_static=$((16 * 1024 * 1024))

passed=0 failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAILED: $*" >&2; failed=$((failed + 1)); }
check() { # description command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
die() { echo "tests/artefacts/test.sh: $*" >&2; echo "artefacts: $passed passed, $((failed + 1)) failed"; exit 1; }
step() { echo; echo "== $*"; }

for v in PSFTP_TEST_PORT PSFTP_TEST_USER PSFTP_TEST_PASSWORD PSFTP_TEST_KEY \
         PSFTP_TEST_KNOWN_HOSTS PSFTP_TEST_HOME; do
  [ -n "${!v:-}" ] || die "$v is not set: start tests/fixture/sshd.sh and export its env"
done
pkg-config --exists libssh2 || die "no system libssh2 for the mixed program: run tests/setup.sh (libssh2-1-dev)"
command -v gdb >/dev/null || die "gdb not found: run tests/setup.sh"

work=$(mktemp -d /tmp/psftp-artefacts.XXXXXX)
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
prefix=$work/prefix
lib=$prefix/lib
shared=$lib/libpsftp.so.$version
debug=$lib/.debug/libpsftp.so.$version.debug

# cargo -v names each compiled crate ("--crate-name psftp ") or says Fresh.
compiles_psftp() { grep -q -- "--crate-name psftp " "$1"; }

step "cargo build --release, then the documented CMake build and install"
cargo build --release --quiet
CARGO_TERM_VERBOSE=true cmake -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
CARGO_TERM_VERBOSE=true cmake --build "$work/build" >"$work/cmake-build.log" 2>&1 ||
  { cat "$work/cmake-build.log"; die "cmake --build failed"; }
cmake --install "$work/build" >/dev/null
check "the CMake build reused cargo build --release (psftp not recompiled)" \
  eval '! compiles_psftp "$work/cmake-build.log"'
cargo build --release -v >"$work/cargo-after.log" 2>&1
check "a cargo build --release after the CMake build is fresh: $(grep -o 'Fresh psftp v[^ ]*' "$work/cargo-after.log" || echo 'not fresh')" \
  eval 'grep -q "Fresh psftp v" "$work/cargo-after.log" && ! compiles_psftp "$work/cargo-after.log"'

step "installed files"
for f in "$shared" "$debug" "$lib/libpsftp.a"; do
  check "${f#"$prefix"/} installed" test -f "$f"
done
[ -f "$shared" ] && [ -f "$lib/libpsftp.a" ] || die "the libraries were not installed"

step "sizes and stripping"
size_of() { stat -c %s "$1"; }
check "libpsftp.so.$version is $(size_of "$shared") bytes (at most $max_shared)" \
  test "$(size_of "$shared")" -le "$max_shared"
check "libpsftp.a is $(size_of "$lib/libpsftp.a") bytes (at most $max_static)" \
  test "$(size_of "$lib/libpsftp.a")" -le "$max_static"
sections() { readelf -S -W "$1" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p'; }
check "libpsftp.so has neither debug sections nor a symbol table" \
  eval '! sections "$shared" | grep -qE "^\.(debug_|symtab$)"'
check "libpsftp.a has no debug sections and no embedded LLVM bitcode" \
  eval '! sections "$lib/libpsftp.a" | grep -qE "^\.(debug_|llvmbc$|llvmcmd$)"'
check "the debug file has the DWARF and the symbol table" \
  eval 'sections "$debug" | grep -qx .debug_info && sections "$debug" | grep -qx .symtab'

step "the debug link"
# .gnu_debuglink: the file name, NUL, padding to 4, then the CRC-32 of the
# debug file (little-endian on x86-64).
debuglink_ok() {
  objcopy --dump-section .gnu_debuglink="$work/debuglink" "$shared" "$work/discard" &&
    python3 - "$work/debuglink" "$debug" <<'EOF'
import struct, sys, zlib
link = open(sys.argv[1], "rb").read()
name = link[:link.index(b"\0")].decode()
(crc,) = struct.unpack("<I", link[-4:])
want_name = sys.argv[2].rsplit("/", 1)[1]
got = zlib.crc32(open(sys.argv[2], "rb").read())
print(f"  .gnu_debuglink names {name} with CRC {crc:08x}; the debug file's CRC is {got:08x}")
sys.exit(0 if name == want_name and crc == got else 1)
EOF
}
check "libpsftp.so's .gnu_debuglink names lib/.debug/libpsftp.so.$version.debug with its CRC" debuglink_ok
gdb_line() { gdb -batch -nx -iex 'set debuginfod enabled off' -ex 'info line psftp_connect' "$shared" 2>&1; }
out=$(gdb_line)
echo "  gdb: $out"
check "gdb finds psftp_connect's source line through the debug link" \
  grep -qE '^Line [0-9]+ of "src/.*\.rs"' <<<"$out"

step "exported symbols: psftp_* only"
# Defined global symbols (nm -g --defined-only: name is the last field).
so_syms=$(nm -D --defined-only "$shared" | awk '{print $NF}' | sort -u)
a_syms=$(nm -g --defined-only "$lib/libpsftp.a" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u)
echo "  libpsftp.so exports $(wc -l <<<"$so_syms") symbols, libpsftp.a defines $(wc -l <<<"$a_syms") globals"
check "libpsftp.so's dynamic table defines only psftp_* ($(grep -vc '^psftp_' <<<"$so_syms" || true) others)" \
  eval '! grep -v "^psftp_" <<<"$so_syms" | head -n 5 | grep .'
check "libpsftp.a defines only psftp_* globals ($(grep -vc '^psftp_' <<<"$a_syms" || true) others)" \
  eval '! grep -v "^psftp_" <<<"$a_syms" | head -n 5 | grep .'
check "both define the same psftp_* set (at least 50)" \
  eval '[ "$so_syms" = "$a_syms" ] && [ "$(wc -l <<<"$so_syms")" -ge 50 ]'

step "static psftp + system libssh2 $(pkg-config --modversion libssh2) + another Rust static library in one program"
rustc --edition 2021 -O --crate-type staticlib -o "$work/libother_rust.a" "$here/other_rust.rs"
psftp_static=$(PKG_CONFIG_PATH=$lib/pkgconfig pkg-config --static --libs psftp | sed 's/-lpsftp /-l:libpsftp.a /')
# shellcheck disable=SC2046,SC2086 # word splitting of the flag lists is meant
if gcc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic \
     $(PKG_CONFIG_PATH=$lib/pkgconfig pkg-config --cflags psftp) $(pkg-config --cflags libssh2) \
     "$here/mixed.c" -o "$work/mixed" \
     "$work/libother_rust.a" $psftp_static $(pkg-config --libs libssh2) 2>"$work/mixed-link.log"; then
  ok "it links (no duplicate symbols)"
  needed=$(readelf -d "$work/mixed" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  check "libssh2 comes from the system's shared library ($needed)" grep -q 'libssh2\.so' <<<"$needed"
  check "and psftp from the static one" eval '! grep -q libpsftp <<<"$needed"'
  head -c 777777 /dev/urandom >"$work/data"
  if (cd "$work" && ./mixed data "$PSFTP_TEST_HOME/artefacts-mixed-$$"); then
    ok "psftp puts, the system libssh2 reads it back, the other Rust library runs"
  else
    bad "the mixed program failed"
  fi
  rm -f "$PSFTP_TEST_HOME/artefacts-mixed-$$"
else
  cat "$work/mixed-link.log" >&2
  bad "the mixed program does not link"
fi

step "README: build with cargo and link target/release, as written"
# The shell block after "Build with cargo" in README's C section; app.c
# there is a program of ours, which prints psftp_version().
block=$(awk '/^Build with cargo/ {on = 1} on && /^```/ {n++; if (n == 2) exit; next} on && n == 1' README.md)
if ! grep -q '^cargo build --release$' <<<"$block" || ! grep -q -- '-lpsftp' <<<"$block"; then
  bad "README has no \"Build with cargo\" block with cargo build --release and -lpsftp: $block"
else
  echo "$block" | sed 's/^/  $ /'
  cat >"$work/app.c" <<'EOF'
#include <psftp.h>
#include <stdio.h>
int main(void) {
    printf("psftp %s\n", psftp_version());
    return 0;
}
EOF
  script=$(sed -e "s#\bapp\.c\b#$work/app.c#g" -e "s#-o app\b#-o $work/app#g" -e "s#^\./app\b#$work/app#" <<<"$block")
  if out=$(bash -euo pipefail -c "$script" 2>&1); then
    check "the program starts and reports psftp $version ($(tail -n 1 <<<"$out"))" \
      test "$(tail -n 1 <<<"$out")" = "psftp $version"
  else
    bad "README's commands failed: $out"
  fi
fi

echo
echo "artefacts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
