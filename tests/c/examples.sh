#!/usr/bin/env bash
# Build every C example with -Wall -Wextra -Werror and run it against the
# test sshd (PSFTP_TEST_* in the environment).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${PSFTP_LIB_DIR:-$root/target/debug}
out=$root/target/examples-c
mkdir -p "$out"
build() {
  gcc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I"$root/include" \
      "$root/examples/$1.c" -L"$lib" -lpsftp -Wl,-rpath,"$lib" -o "$out/$1"
}
build demo
(cd "$out" && ./demo 127.0.0.1 "$PSFTP_TEST_PORT" "$PSFTP_TEST_USER" "$PSFTP_TEST_KEY" \
  "$PSFTP_TEST_KNOWN_HOSTS" | tail -3)
