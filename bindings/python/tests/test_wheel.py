"""The wheel installs into a fresh virtualenv and runs where Rust is
absent (no cargo on PATH), with the library inside the package."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import psftp

PKG = Path(__file__).resolve().parents[1]


def _wheel(tmp: Path) -> str:
    given = os.environ.get("PSFTP_WHEEL")
    if given:
        return given
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp), str(PKG)], check=True)
    return glob.glob(str(tmp / "psftp-*.whl"))[0]


def _path_without_cargo() -> str:
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, "cargo")) and not os.path.exists(os.path.join(d, "rustc"))]
    return os.pathsep.join(dirs)


SCRIPT = r"""
import os, sys, psftp as pysftp
env = dict(l.split("=", 1) for l in open(os.environ["PSFTP_TEST_ENV"]).read().splitlines() if "=" in l)
assert "site-packages" in pysftp.__file__, pysftp.__file__
assert os.path.exists(os.path.join(os.path.dirname(pysftp.__file__), "libpsftp.so"))
cn = pysftp.CnOpts(knownhosts=env["PSFTP_TEST_KNOWN_HOSTS"])
with pysftp.Connection(env["PSFTP_TEST_HOST"], username=env["PSFTP_TEST_USER"],
                       password=env["PSFTP_TEST_PASSWORD"], port=int(env["PSFTP_TEST_PORT"]), cnopts=cn) as s:
    s.putfo(__import__("io").BytesIO(b"from the wheel"), "wheel-check.txt")
    print(s.open("wheel-check.txt").read().decode(), pysftp.library_version)
    s.remove("wheel-check.txt")
"""


def test_wheel_in_a_fresh_venv_without_rust(server: Dict[str, str], tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = dict(os.environ, PATH=os.pathsep.join([str(venv / "bin"), _path_without_cargo()]))
    env.pop("PSFTP_LIB", None)
    env.pop("PYTHONPATH", None)
    env["PSFTP_TEST_ENV"] = os.environ.get("PSFTP_TEST_ENV") or os.path.join(server["PSFTP_TEST_DIR"], "env")
    assert shutil.which("cargo", path=env["PATH"]) is None
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheel], check=True, env=env)
    out = subprocess.run([py, "-c", SCRIPT], check=True, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.split() == ["from", "the", "wheel", psftp.library_version]


def test_this_run_uses_an_installed_wheel_when_asked() -> None:
    # test.sh runs the whole suite from the wheel's venv, PATH without cargo.
    if os.environ.get("PSFTP_EXPECT_WHEEL") == "1":
        assert "site-packages" in psftp.__file__
        assert shutil.which("cargo") is None
        assert "PSFTP_LIB" not in os.environ
    assert os.path.exists(psftp._ffi._library_path())
