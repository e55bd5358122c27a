#!/usr/bin/env bash
# Build every C example with -Wall -Wextra -Werror -pedantic and run it
# against the test sshd (PSFTP_TEST_* in the environment): the demo and the
# pysftp cookbook (examples/cookbook), each of which checks its outcome.
# README's C example is built as shown but not run (its host is a
# placeholder).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${PSFTP_LIB_DIR:-$root/target/debug}
out=$root/target/examples-c
mkdir -p "$out"
cflags=(-std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -I"$root/include")

build_shared() { # source output
  gcc "${cflags[@]}" "$1" -L"$lib" -lpsftp -Wl,-rpath,"$lib" -o "$2"
}

# The libssh2 headers psftp was built with, and the system libraries a
# static link needs (rustc's own list, asked of the probe that
# cmake/cargo-build.cmake uses: asking it of the library would rebuild it).
libssh2_include=$(ls -d "$lib"/build/libssh2-sys-*/out/include 2>/dev/null | head -1)
native_libs=$(cd "$root" && cargo rustc -q --example native-static-libs -- --print native-static-libs 2>&1 |
  sed -n 's/.*native-static-libs: //p' | head -1)

echo "== demo"
build_shared "$root/examples/demo.c" "$out/demo"
(cd "$out" && ./demo 127.0.0.1 "$PSFTP_TEST_PORT" "$PSFTP_TEST_USER" "$PSFTP_TEST_KEY" \
  "$PSFTP_TEST_KNOWN_HOSTS" | tail -2)

echo "== README's C example, as shown"
# The C block of README's "Using it from C" section, compiled and linked.
awk '/^## Using it from C$/ {on = 1; next} on && /^## / {exit}
     on && /^```c$/ {inblock = 1; next} inblock && /^```$/ {exit} inblock' \
  "$root/README.md" >"$out/readme_example.c"
grep -q '^int main' "$out/readme_example.c" || {
  echo "README's \"Using it from C\" has no complete program in a \`\`\`c block" >&2
  exit 1
}
build_shared "$out/readme_example.c" "$out/readme_example"
echo "compiled and linked ($(wc -l <"$out/readme_example.c") lines)"

# The agent example needs an agent holding the test key.
eval "$(ssh-agent -s)" >/dev/null
trap 'ssh-agent -k >/dev/null 2>&1 || true' EXIT
ssh-add -q "$PSFTP_TEST_KEY"

passed=0
for src in "$root"/examples/cookbook/*.c; do
  name=$(basename "$src" .c)
  echo "== cookbook/$name"
  if [ "$name" = sftp_client ]; then
    gcc "${cflags[@]}" -I"$libssh2_include" "$src" "$lib/libpsftp.a" $native_libs -o "$out/$name"
  else
    build_shared "$src" "$out/$name"
  fi
  work=$(mktemp -d /tmp/psftp-cookbook.XXXXXX)
  (cd "$work" && "$out/$name")
  rm -rf "$work"
  passed=$((passed + 1))
done
echo "examples: $((passed + 2)) passed, 0 failed" # + the demo and README's example
