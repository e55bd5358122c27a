#!/usr/bin/env bash
# Builds the npm tarballs of the Node binding: psftp-VERSION.tgz and, with
# the library prebuilt for this machine, psftp-linux-x64-gnu-VERSION.tgz
# (its optional dependency, as esbuild and napi-rs projects ship theirs).
#
#   bash pack.sh OUTDIR [LIBRARY]
#
# LIBRARY: the libpsftp.so to ship (default: $PSFTP_LIB, else
# target/release/libpsftp.so); its debug information is stripped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
die() { echo "bindings/node/pack.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: pack.sh OUTDIR [LIBRARY]"
mkdir -p "$1"
out=$(cd "$1" && pwd)
lib=${2:-${PSFTP_LIB:-$root/target/release/libpsftp.so}}
[ -f "$lib" ] || die "$lib not found: run cargo build --release at $root first"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "the prebuilt package is for Linux x86_64; this is $(uname -s)-$(uname -m)"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
version=$(node -p "require('$here/package.json').version")

# The platform package: the library (its soname's file name) and the licenses.
plat="$stage/linux-x64-gnu"
mkdir -p "$plat"
cp "$here/npm/linux-x64-gnu/"{package.json,index.js,README.md} "$plat/"
node -e "
const p = require('$plat/package.json');
if (p.version !== '$version') throw new Error('npm/linux-x64-gnu/package.json is ' + p.version + ', psftp is $version');
"
objcopy --strip-debug "$lib" "$plat/libpsftp.so.0.1"
cp "$here/LICENSE-MIT" "$here/LICENSE-APACHE" "$plat/"
cp "$root/vendor/libssh2-sys/libssh2/COPYING" "$plat/LICENSE-libssh2"
cp "$root/vendor/libssh2-sys/LICENSE-MIT" "$plat/LICENSE-libssh2-sys"

# The main package, depending on the platform package where it applies.
main="$stage/psftp"
mkdir -p "$main"
cp -r "$here/lib" "$here/index.js" "$here/index.mjs" "$here/index.d.ts" \
  "$here/ssh2-sftp-client.js" "$here/ssh2-sftp-client.mjs" "$here/ssh2-sftp-client.d.ts" \
  "$here/package.json" "$here/README.md" "$main/"
cp "$here/LICENSE-MIT" "$here/LICENSE-APACHE" "$main/"
node -e "
const fs = require('node:fs');
const file = '$main/package.json';
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
p.optionalDependencies = { '@psftp/linux-x64-gnu': p.version };
p.files.push('LICENSE-MIT', 'LICENSE-APACHE', 'README.md');
delete p.devDependencies;
delete p.scripts;
fs.writeFileSync(file, JSON.stringify(p, null, 2) + '\n');
"
(cd "$plat" && npm pack --silent --pack-destination "$out" >/dev/null)
(cd "$main" && npm pack --silent --pack-destination "$out" >/dev/null)
ls "$out/psftp-linux-x64-gnu-$version.tgz" "$out/psftp-$version.tgz"
