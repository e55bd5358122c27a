#!/usr/bin/env bash
# Run every fuzz target for SECONDS (default 20) each, keeping the corpus in
# fuzz/corpus/ between runs. CI runs it briefly; run it longer by hand:
#   bash fuzz/run.sh 600
# Fails if the targets do not build, or if any target crashes, leaks, times
# out or otherwise ends libFuzzer with an error (its artifact is named).
# Every target runs either way; the last line is "fuzz: N passed, M failed".
# cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1 lets the stable
# toolchain (which ships the AddressSanitizer runtime) accept them, so no
# second toolchain is downloaded.
set -euo pipefail
seconds=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1

seed() { # target name bytes-as-python-expression
  mkdir -p "corpus/$1"
  python3 -c "import sys; sys.stdout.buffer.write($3)" > "corpus/$1/$2"
}
# A few well-formed SFTP replies to start from: STATUS, HANDLE, DATA,
# NAME (one entry with attributes), ATTRS, VERSION with an extension.
seed sftp_reply status  "bytes([101,0,0,0,1,0,0,0,2,0,0,0,4])+b'nope'+bytes([0,0,0,0])"
seed sftp_reply handle  "bytes([102,0,0,0,2,0,0,0,4])+b'h001'"
seed sftp_reply data    "bytes([103,0,0,0,3,0,0,0,5])+b'hello'"
seed sftp_reply name    "bytes([104,0,0,0,4,0,0,0,1,0,0,0,1])+b'a'+bytes([0,0,0,1])+b'l'+bytes([0,0,0,15])+bytes(8)+bytes([0,0,3,232,0,0,3,232,0,0,129,164,0,0,0,1,0,0,0,2])"
seed sftp_reply version "bytes([2,0,0,0,3,0,0,0,24])+b'posix-rename@openssh.com'+bytes([0,0,0,1])+b'1'"
seed path_helpers pub   "b'./pub/example/example01\\0/home/test/pub'"
seed modes        644   "(644).to_bytes(8,'little')+b'r+'"
seed glob_filters globs "b'*.c\\nlogs/**\\nsrc/main.c\\nlogs/a/b.gz'"
seed remote_names ok    "b'readme.txt'"
seed ssh_config  alias   "b'web\\nHost web !x\\n  HostName %h.example\\n  Port 2222\\n  ProxyJump a@b:1,c\\nMatch user u\\n  IdentityFile ~/.ssh/id_%r\\n'"

echo "== cargo fuzz build"
cargo fuzz build --release
targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "cargo fuzz list named no targets" >&2; exit 1; }

# A target fails when libFuzzer exits non-zero (a crash, a leak, a timeout,
# running out of memory, or not starting at all) or leaves a new artifact.
stamp=$(mktemp /tmp/psftp-fuzz-start.XXXXXX)
logs=$(mktemp -d /tmp/psftp-fuzz-logs.XXXXXX)
trap 'rm -rf "$stamp" "$logs"' EXIT
passed=0
failed=0
for target in $targets; do
  echo "== $target ($seconds s)"
  status=0
  cargo fuzz run --release "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 >"$logs/$target" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added)|ERROR|panicked|SUMMARY" \
    "$logs/$target" || true
  new=$(find "artifacts/$target" -type f -newer "$stamp" 2>/dev/null || true)
  if [ "$status" -ne 0 ] || [ -n "$new" ]; then
    echo "$target FAILED (exit status $status)${new:+; reproduce with: cargo fuzz run $target $new}" >&2
    tail -n 40 "$logs/$target" >&2
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
  echo "$target: corpus of $(ls "corpus/$target" | wc -l) inputs"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
