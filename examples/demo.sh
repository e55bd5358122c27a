#!/usr/bin/env bash
# The psftp demo: install what is missing, build psftp, start a throwaway
# OpenSSH server on 127.0.0.1, and run examples/demo.c through the C API.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tests/setup.sh
echo "== building psftp (release)"
cargo build --release --quiet
lib=$root/target/release

work=$(mktemp -d /tmp/psftp-demo.XXXXXX)
chmod 755 "$work" # sshd reads authorized_keys as the test user
trap 'bash "$root/tests/fixture/sshd.sh" stop "$work/sshd" || true; rm -rf "$work"' EXIT
echo "== starting a throwaway sshd on 127.0.0.1"
# Its env file (mode 600) holds the account's password: read it there.
bash tests/fixture/sshd.sh start "$work/sshd" >/dev/null
set -a
. "$work/sshd/env"
set +a
echo "   port $PSFTP_TEST_PORT, user $PSFTP_TEST_USER, host keys in $PSFTP_TEST_DIR"

echo "== building examples/demo.c"
gcc -std=c99 -Wall -Wextra -Werror -I"$root/include" examples/demo.c \
    -L"$lib" -lpsftp -Wl,-rpath,"$lib" -o "$work/demo"
echo "== running the demo"
cd "$work"
./demo 127.0.0.1 "$PSFTP_TEST_PORT" "$PSFTP_TEST_USER" "$PSFTP_TEST_KEY" "$PSFTP_TEST_KNOWN_HOSTS"
