#!/usr/bin/env bash
# Installs psftp into a fresh prefix with the documented command, moves the
# prefix (the package must be relocatable), then builds against it only:
#  - the GoogleTest suite of the C++ binding (tests/cpp), run by ctest;
#  - the independent consumer (tests/consumer), a C and a C++ program, with
#    CMake find_package (shared and static) and with pkg-config (shared and
#    static); each connects to the test sshd and transfers a file.
# Needs PSFTP_TEST_* of a running fixture in the environment
# (tests/fixture/sshd.sh start DIR; tests/run-all.sh exports them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }
die() { echo "tests/cpp/test.sh: $*" >&2; exit 1; }

install_missing() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v g++ >/dev/null || missing+=(g++)
  command -v make >/dev/null || missing+=(make)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v readelf >/dev/null || missing+=(binutils)
  [ -e /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_fixture() {
  local v
  for v in PSFTP_TEST_PORT PSFTP_TEST_USER PSFTP_TEST_PASSWORD PSFTP_TEST_PASSPHRASE \
           PSFTP_TEST_HOME PSFTP_TEST_DIR PSFTP_TEST_KNOWN_HOSTS PSFTP_TEST_KEY; do
    [ -n "${!v:-}" ] || die "$v is not set: start tests/fixture/sshd.sh and export its env"
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$PSFTP_TEST_PORT") 2>/dev/null ||
    die "no sshd listens on 127.0.0.1:$PSFTP_TEST_PORT"
}

# The installed tree: files, soname and symlinks, headers as in the source.
check_layout() { # prefix version
  local p=$1 v=$2 soname
  for f in "lib/libpsftp.so.$v" lib/libpsftp.a include/psftp.h include/psftp.hpp \
           lib/pkgconfig/psftp.pc lib/cmake/psftp/psftpConfig.cmake \
           lib/cmake/psftp/psftpConfigVersion.cmake; do
    [ -f "$p/$f" ] || die "$f was not installed"
  done
  soname=$(readelf -d "$p/lib/libpsftp.so.$v" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$(readlink "$p/lib/$soname")" = "libpsftp.so.$v" ] || die "lib/$soname does not link to libpsftp.so.$v"
  [ "$(readlink "$p/lib/libpsftp.so")" = "$soname" ] || die "lib/libpsftp.so does not link to $soname"
  cmp "$root/include/psftp.h" "$p/include/psftp.h"
  cmp "$root/bindings/cpp/psftp.hpp" "$p/include/psftp.hpp"
  echo "layout ok: libpsftp.so.$v, soname $soname, libpsftp.a, headers, psftp.pc, CMake package"
}

# SameMajorVersion: 0.1 is found (the consumer asks for it), 1.0 and 0.2 not.
check_version_file() { # prefix
  cat > "$work/version.cmake" <<'EOF'
foreach(wanted 1.0 0.2)
  find_package(psftp ${wanted} CONFIG QUIET)
  if(psftp_FOUND)
    message(FATAL_ERROR "find_package(psftp ${wanted}) accepted ${psftp_VERSION}")
  endif()
endforeach()
EOF
  cmake -DCMAKE_PREFIX_PATH="$1" -P "$work/version.cmake"
  echo "version file ok: 1.0 and 0.2 are refused"
}

# C++14 gets the header's own message; C++20 compiles it cleanly.
check_header_standards() { # prefix
  local out
  out=$(echo '#include <psftp.hpp>' | g++ -std=c++14 -x c++ -fsyntax-only -I"$1/include" - 2>&1) &&
    die "psftp.hpp compiled as C++14"
  grep -q "needs C++17" <<<"$out" || die "C++14 error lacks the explanation: $out"
  echo '#include <psftp.hpp>' | g++ -std=c++20 -Wall -Wextra -Werror -pedantic -x c++ \
    -fsyntax-only -I"$1/include" -
  echo "header ok: C++14 refused with a message, C++20 clean"
}

# The positional-bool transfer forms are deprecated with the replacement
# named in the warning; the named-options forms compile without one.
check_deprecations() { # prefix
  local call out
  for call in 'sftp.get("r", "l", nullptr, true)|get(remotepath, localpath, psftp::GetOptions)' \
              'sftp.put("l", "r", nullptr, false)|put(localpath, remotepath, psftp::PutOptions)' \
              'sftp.get_r("r", "l", true)|get_r(remotedir, localdir, psftp::TreeGetOptions)' \
              'sftp.put_r("l", "r", true, true)|put_r(localpath, remotepath, psftp::TreePutOptions)'; do
    out=$(printf '#include <psftp.hpp>\nvoid f(psftp::Connection& sftp) { %s; }\n' "${call%%|*}" |
      g++ -std=c++17 -Werror=deprecated-declarations -x c++ -fsyntax-only -I"$1/include" - 2>&1) &&
      die "not deprecated: ${call%%|*}"
    grep -qF "use ${call#*|}" <<<"$out" || die "${call%%|*}: the warning lacks the replacement: $out"
  done
  printf '#include <psftp.hpp>\nvoid f(psftp::Connection& sftp) { %s }\n' \
    'psftp::GetOptions o; o.preserve_mtime = true; sftp.get("r", "l", o); sftp.get("r", "l", [](std::uint64_t, std::uint64_t) {}); sftp.get_r("r", "l");' |
    g++ -std=c++17 -Wall -Wextra -Werror -pedantic -x c++ -fsyntax-only -I"$1/include" -
  echo "deprecations ok: positional forms warn with their replacement, named forms do not"
}

# Runs a consumer build's two programs; each puts and gets a file, which is
# then compared on the server's disk too. `static` builds must not need
# libpsftp.so.
run_consumers() { # dir shared|static
  local bin remote needed
  for bin in "$1/consumer_c" "$1/consumer_cpp"; do
    needed=$(readelf -d "$bin" | grep NEEDED)
    if [ "$2" = static ]; then
      [[ $needed != *libpsftp* ]] || die "$bin needs libpsftp.so"
    else
      [[ $needed == *"[$soname]"* ]] || die "$bin does not need $soname"
    fi
    remote="$PSFTP_TEST_HOME/cpp-consumer-$$-$(basename "$1")-$(basename "$bin")"
    "$bin" 127.0.0.1 "$PSFTP_TEST_PORT" "$PSFTP_TEST_USER" "$PSFTP_TEST_KEY" \
      "$PSFTP_TEST_KNOWN_HOSTS" "$work/data" "$remote"
    cmp "$work/data" "$remote"
    cmp "$work/data" "$work/data.back"
    rm -f "$remote" "$work/data.back"
  done
}

step "tools"
install_missing
check_fixture

work=$(mktemp -d /tmp/psftp-cpp.XXXXXX)
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

step "install into a fresh prefix (the documented command)"
(cd "$root" &&
  cmake -B "$work/build" -DCMAKE_INSTALL_PREFIX="$work/installed" >/dev/null &&
  cmake --build "$work/build" &&
  cmake --install "$work/build")
check_layout "$work/installed" "$version"
# Everything below uses the moved prefix only: the package is relocatable.
mv "$work/installed" "$work/moved"
prefix=$work/moved
soname=$(readelf -d "$prefix/lib/libpsftp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check_version_file "$prefix"
check_header_standards "$prefix"
check_deprecations "$prefix"

step "C++ binding: GoogleTest suite (ASan, UBSan) via ctest"
cmake -S "$root/tests/cpp" -B "$work/gtest" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/gtest" -j2
(cd "$work/gtest" && ctest -j2 --output-on-failure)

head -c 1234567 /dev/urandom > "$work/data"

step "consumer: CMake find_package, shared and static"
for kind in shared static; do
  static=OFF
  [ $kind = static ] && static=ON
  cmake -S "$root/tests/consumer" -B "$work/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
    -DPSFTP_USE_STATIC_LIBS=$static >/dev/null
  cmake --build "$work/cmake-$kind" -j2 >/dev/null
  run_consumers "$work/cmake-$kind" $kind
done

step "consumer: pkg-config, shared and static"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
echo "pkg-config --cflags --libs psftp: $(pkg-config --cflags --libs psftp)"
echo "pkg-config --static --libs psftp: $(pkg-config --static --libs psftp)"
for kind in shared static; do
  mkdir -p "$work/pkgconfig-$kind"
  static=
  [ $kind = static ] && static=1
  make -s -C "$root/tests/consumer" OUT="$work/pkgconfig-$kind" STATIC=$static
  run_consumers "$work/pkgconfig-$kind" $kind
done

echo; echo "=== C++ binding, install and consumers: all passed in $(( $(date +%s) - start )) s"
