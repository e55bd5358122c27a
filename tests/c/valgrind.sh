#!/usr/bin/env bash
# The C test programs and the demo, built without sanitizers against the
# release library, under valgrind: 0 errors and 0 leaks (definite or
# indirect) are required. PSFTP_TEST_* of a running fixture must be set.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$root/target/release
out=$root/target/valgrind
mkdir -p "$out"
vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
for t in test_connect test_transfer; do
  gcc -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -I"$root/include" "$root/tests/c/$t.c" \
      -L"$lib" -lpsftp -Wl,-rpath,"$lib" -o "$out/$t"
  echo "== valgrind $t"
  "${vg[@]}" "$out/$t"
done
gcc -std=c99 -g -O1 -I"$root/include" "$root/examples/demo.c" -L"$lib" -lpsftp -Wl,-rpath,"$lib" -o "$out/demo"
echo "== valgrind demo"
(cd "$out" && "${vg[@]}" ./demo 127.0.0.1 "$PSFTP_TEST_PORT" "$PSFTP_TEST_USER" "$PSFTP_TEST_KEY" \
  "$PSFTP_TEST_KNOWN_HOSTS" | tail -1)
echo "valgrind: 3 passed, 0 failed"
