#!/usr/bin/env bash
# Tests of the Node binding against the running test sshd.
#
# Expects: `cargo build --release` done at the repository root, and the
# PSFTP_TEST_* variables of a running tests/fixture/sshd.sh exported.
# Installs koffi and TypeScript from package-lock.json (no compiler: koffi
# ships prebuilt binaries), runs `node --test` and `tsc --noEmit` on the
# declarations and the typed examples.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

die() { echo "bindings/node/test.sh: $*" >&2; exit 1; }

command -v node >/dev/null || die "node not found (Node 20 or newer is needed)"
command -v npm >/dev/null || die "npm not found"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "Node $(node --version) is too old: 20 or newer is needed"
[ -n "${PSFTP_TEST_PORT:-}" ] ||
  die "PSFTP_TEST_* are not set: start tests/fixture/sshd.sh start DIR and export what it prints"

export PSFTP_LIB=${PSFTP_LIB:-$root/target/release/libpsftp.so}
[ -f "$PSFTP_LIB" ] || die "$PSFTP_LIB not found: run cargo build --release at $root first"

echo "== npm ci (koffi, typescript)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

echo "== node --test"
node --test --test-reporter=spec test/*.test.js

echo "== tsc --noEmit (index.d.ts, ssh2-sftp-client.d.ts, examples/typed*.ts, examples/typed-esm.mts)"
./node_modules/.bin/tsc -p tsconfig.json
echo "tsc: declarations OK"
