#!/usr/bin/env bash
# psftp benchmarks side by side with OpenSSH sftp, pysftp and tuned peers
# (rclone, lftp, Go pkg/sftp; issues 8 and 20).
#
#   bash bench/run.sh [--quick] [--only WORKLOAD[,WORKLOAD...]] [--reps N]
#                     [--slow-reps N] [--rtt-ms MS] [--out DIR]
#
# Installs what is missing (tests/setup.sh: openssh-server, compilers, ...;
# bench/.venv with pysftp 0.2.9 pinned in bench/requirements.txt), builds
# psftp (release), bench/psftp_bench.c and the latency relay
# bench/relay.rs, then runs bench/bench.py. Workloads: big, tree, walktree,
# connect, servers, big-rtt, tree-rtt (rtt = both), big-rtt100, trees,
# trees-rtt. See bench/README.md.
#
# Exits non-zero only on errors (a failed or wrong transfer), never on a
# missed performance target. --quick checks correctness only and gives no
# verdicts on the targets.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")
cd "$root"

bash tests/setup.sh
command -v cmp >/dev/null && command -v diff >/dev/null || {
  echo "run.sh: cmp and diff (diffutils) are needed" >&2; exit 1; }

echo "== building psftp (release)"
cargo build --release --quiet
lib=$root/target/release # with the soname link build.rs makes

mkdir -p "$bench/build"
echo "== building bench/psftp_bench.c and bench/relay.rs"
gcc -std=c99 -O2 -Wall -Wextra -Werror -I"$root/include" "$bench/psftp_bench.c" \
    -L"$lib" -lpsftp -Wl,-rpath,"$lib" -o "$bench/build/psftp_bench"
gcc -std=c11 -O2 -Wall -Wextra -Werror -I"$root/include" "$bench/mux_bench.c" \
    -L"$lib" -lpsftp -Wl,-rpath,"$lib" -lpthread -o "$bench/build/mux_bench"
if [ ! -x "$bench/build/relay" ] || [ "$bench/relay.rs" -nt "$bench/build/relay" ]; then
  rustc -O --edition 2021 "$bench/relay.rs" -o "$bench/build/relay"
fi

# The tuned peers (issue 20): rclone and lftp from Debian, the Go pkg/sftp
# client built from bench/gosftp (the module cache of tests/servers/gosftp).
missing=()
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
command -v lftp >/dev/null 2>&1 || missing+=(lftp)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null 2>&1 || { echo "run.sh: go not found (the Go pkg/sftp client)" >&2; exit 1; }
if [ ! -x "$bench/build/gosftp_bench" ] || \
   [ -n "$(find "$bench/gosftp" -newer "$bench/build/gosftp_bench" \( -name '*.go' -o -name 'go.*' \))" ]; then
  (cd "$bench/gosftp" && go build -trimpath -o "$bench/build/gosftp_bench" .)
fi

venv=$bench/.venv
stamp=$venv/.requirements.sha256
want=$(sha256sum "$bench/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== creating $venv (pysftp 0.2.9, paramiko<4)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$bench/requirements.txt"
  echo "$want" > "$stamp"
fi

exec python3 "$bench/bench.py" "$@"
