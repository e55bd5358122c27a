#!/usr/bin/env bash
# Install what psftp's build, tests, demo and benches need on a fresh
# Debian machine, skipping what is already there. Needs root for apt.
set -euo pipefail

missing=()
need() { # command package
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_file() { # path package
  [ -e "$1" ] || missing+=("$2")
}
need_file /usr/sbin/sshd openssh-server
need ssh-keygen openssh-client
need gcc gcc
need g++ g++
need make make
need cmake cmake
need ninja ninja-build
need pkg-config pkg-config
need python3 python3
# Debian's python3 has no ensurepip: `python3 -m venv` (below, and in the
# bench and the server matrix) needs python3-venv.
command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
need flock util-linux
need chattr e2fsprogs
need objdump binutils
need pkill procps
need bc bc
need valgrind valgrind
need patch patch
need gdb gdb
need ip iproute2
# Keyboard-interactive tests: PAM's one-time-code module.
need_file /usr/lib/x86_64-linux-gnu/security/pam_oath.so libpam-oath
need_file /usr/include/openssl/ssl.h libssl-dev
need_file /usr/include/zlib.h zlib1g-dev
need_file /usr/include/gtest/gtest.h libgtest-dev
# The system libssh2, linked beside the static psftp (tests/artefacts) and
# refused by the vendored build (tests/vendor/check.sh).
need_file /usr/include/libssh2.h libssh2-1-dev
need_file /usr/lib/gcc/x86_64-linux-gnu/12/libasan.so libgcc-12-dev

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Other installs may hold dpkg's lock: wait for it instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The scripted hostile SFTP server (paramiko, pinned) lives in a venv.
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/tests/hostile/.venv
if ! "$venv/bin/python" -c "import paramiko" >/dev/null 2>&1; then
  echo "setup: creating $venv with paramiko"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/hostile/requirements.txt"
fi

command -v cargo >/dev/null 2>&1 || {
  echo "setup: cargo not found; install Rust (rustup) first" >&2
  exit 1
}
