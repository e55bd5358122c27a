#!/usr/bin/env bash
# Build the C test programs with -Wall -Wextra -Werror and AddressSanitizer
# (with LeakSanitizer) plus UBSan against include/psftp.h and the built
# library, and run them against the test sshd (PSFTP_TEST_* in the
# environment). The header-only tests compile psftp.h as strict C99 and as
# C++17 in two translation units.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${PSFTP_LIB_DIR:-$root/target/debug}
out=$root/target/ctests
mkdir -p "$out"
inc=(-I"$root/include")
link=(-L"$lib" -lpsftp -Wl,-rpath,"$lib")
strict=(-Wall -Wextra -Werror -pedantic)
san=(-g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)

echo "== header: C99 and C++17 (two translation units)"
gcc -std=c99 "${strict[@]}" "${inc[@]}" "$root/tests/c/header_c.c" "${link[@]}" -o "$out/header_c"
"$out/header_c"
g++ -std=c++17 "${strict[@]}" "${inc[@]}" "$root/tests/c/header_cpp_a.cpp" \
    "$root/tests/c/header_cpp_b.cpp" "${link[@]}" -o "$out/header_cpp"
"$out/header_cpp"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Every export with NULL, garbage and closed handles and invalid UTF-8,
# generated from the header so new functions are covered automatically.
python3 "$root/tests/c/gen_bad_calls.py" "$root/include/psftp.h" > "$out/bad_calls.c"
cp "$root/tests/c/check.h" "$out/"
for t in test_connect test_transfer test_routes bad_calls; do
  src=$root/tests/c/$t.c
  [ -f "$src" ] || src=$out/$t.c
  echo "== $t (ASan, LSan, UBSan)"
  gcc -std=c99 -D_POSIX_C_SOURCE=200809L "${strict[@]}" "${san[@]}" "${inc[@]}" \
      "$src" "${link[@]}" -o "$out/$t"
  "$out/$t"
done

# Without sanitizers: ASan intercepts dlclose. Links only libdl and pthread.
echo "== test_unload (dlopen, use on a thread, dlclose, thread exits)"
gcc -std=c99 -D_POSIX_C_SOURCE=200809L "${strict[@]}" "${inc[@]}" -g -pthread \
    "$root/tests/c/test_unload.c" -ldl -o "$out/test_unload"
"$out/test_unload" "$lib/libpsftp.so"
