#!/usr/bin/env bash
# The Python package's suite: build the wheel (pip wheel, which runs cargo),
# install it into a fresh virtualenv, run pytest there against a real sshd
# with no cargo on PATH (the wheel must run where Rust is absent), check the
# types with mypy --strict, and check that `pip install ./bindings/python`
# builds and installs from source.
#
# Uses $PSFTP_TEST_ENV (an env file of tests/fixture/sshd.sh, as
# tests/run-all.sh provides) or starts its own server. Needs root for that.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/psftp-python.XXXXXX)
chmod 755 "$work"
own_server=
cleanup() {
  if [ -n "$own_server" ]; then bash "$root/tests/fixture/sshd.sh" stop "$work/sshd" || true; fi
  rm -rf "$work"
  rm -rf "$here/build" "$here"/*.egg-info
}
trap cleanup EXIT

if [ -z "${PSFTP_TEST_ENV:-}" ]; then
  bash "$root/tests/fixture/sshd.sh" start "$work/sshd" > /dev/null
  own_server=1
  export PSFTP_TEST_ENV=$work/sshd/env
fi

echo "--- pip wheel ./bindings/python (cargo build --release inside)"
python3 -m pip wheel --no-deps -q --disable-pip-version-check -w "$work/dist" "$here"
wheel=$(ls "$work"/dist/psftp-*.whl)
echo "$(basename "$wheel"): $(du -h "$wheel" | cut -f1)"
# Listed to a file first: with pipefail, grep -q quitting at its match
# can kill unzip with SIGPIPE and fail the check although the file is there.
unzip -l "$wheel" > "$work/wheel.list"
grep -q 'psftp/libpsftp.so' "$work/wheel.list" || { echo "the wheel lacks libpsftp.so" >&2; exit 1; }
grep -q 'psftp/py.typed' "$work/wheel.list" || { echo "the wheel lacks py.typed" >&2; exit 1; }

echo "--- fresh virtualenv with the wheel, pytest and mypy"
python3 -m venv "$work/venv"
# paramiko 3.5.1 (pysftp's, which needs paramiko<4) for the key-object test.
"$work/venv/bin/pip" install -q --disable-pip-version-check "$wheel" pytest mypy paramiko==3.5.1

echo "--- mypy --strict (the package, and the typed example)"
(cd "$here" && "$work/venv/bin/mypy" --strict --no-incremental psftp tests/typed_usage.py)
# and against the installed copy, as a user's project would see it
(cd "$work" && cp "$here/tests/typed_usage.py" . && "$work/venv/bin/mypy" --strict --no-incremental typed_usage.py)

echo "--- pytest from the venv, without cargo on PATH"
nocargo=$(printf '%s' "$PATH" | tr ':' '\n' | while read -r d; do
  [ -n "$d" ] && [ ! -e "$d/cargo" ] && [ ! -e "$d/rustc" ] && printf '%s:' "$d"; done)
(cd "$work" && env -u PSFTP_LIB -u PYTHONPATH PATH="$work/venv/bin:${nocargo%:}" \
  PSFTP_EXPECT_WHEEL=1 PSFTP_WHEEL="$wheel" \
  "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests")

echo "--- pip install ./bindings/python (from source, as on a fresh machine)"
python3 -m venv "$work/src-venv"
"$work/src-venv/bin/pip" install -q --disable-pip-version-check "$here"
(cd "$work" && env -u PSFTP_LIB -u PYTHONPATH "$work/src-venv/bin/python" -c \
  'import psftp, os; assert "site-packages" in psftp.__file__; print("installed from source:", psftp.__version__, "on libpsftp", psftp.library_version)')
