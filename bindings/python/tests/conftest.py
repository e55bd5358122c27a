"""Fixtures: a real OpenSSH sshd (tests/fixture/sshd.sh), connections to it
and scratch directories. The server comes from $PSFTP_TEST_ENV (the env
file `sshd.sh start` writes, as bindings/python/test.sh does) or is started
here for the session. A missing server fails the tests; nothing is
skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Dict, Iterator

import pytest

import psftp as pysftp

REPO = Path(__file__).resolve().parents[3]


def _read_env(path: str) -> Dict[str, str]:
    env = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    return env


@pytest.fixture(scope="session")
def server() -> Iterator[Dict[str, str]]:
    given = os.environ.get("PSFTP_TEST_ENV")
    if given:
        yield _read_env(given)
        return
    work = tempfile.mkdtemp(prefix="psftp-py-")
    os.chmod(work, 0o755)
    sshd = os.path.join(work, "sshd")
    script = REPO / "tests" / "fixture" / "sshd.sh"
    subprocess.run(["bash", str(script), "start", sshd], check=True, stdout=subprocess.DEVNULL)
    try:
        yield _read_env(os.path.join(sshd, "env"))
    finally:
        subprocess.run(["bash", str(script), "stop", sshd], check=False)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture()
def cnopts(server: Dict[str, str]) -> pysftp.CnOpts:
    return pysftp.CnOpts(knownhosts=server["PSFTP_TEST_KNOWN_HOSTS"])


@pytest.fixture()
def cinfo(server: Dict[str, str], cnopts: pysftp.CnOpts) -> Dict[str, object]:
    """pysftp's cookbook: connection information as a dict."""
    return {
        "host": server["PSFTP_TEST_HOST"],
        "username": server["PSFTP_TEST_USER"],
        "password": server["PSFTP_TEST_PASSWORD"],
        "port": int(server["PSFTP_TEST_PORT"]),
        "cnopts": cnopts,
    }


@pytest.fixture()
def sftp(cinfo: Dict[str, object]) -> Iterator[pysftp.Connection]:
    with pysftp.Connection(**cinfo) as conn:  # type: ignore[arg-type]
        yield conn


@pytest.fixture()
def home(server: Dict[str, str]) -> str:
    return server["PSFTP_TEST_HOME"]


@pytest.fixture()
def rdir(sftp: pysftp.Connection, home: str) -> Iterator[str]:
    """A fresh remote directory (made through psftp, so owned by the test
    account); the server is local, so tests also look at it directly."""
    path = f"{home}/py-{uuid.uuid4().hex[:12]}"
    sftp.mkdir(path, mode=755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_remote(path: str, data: bytes, owner_of: str) -> None:
    """Write a remote-side file directly (the server is on this machine),
    owned like `owner_of`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)
    st = os.stat(owner_of)
    os.chown(path, st.st_uid, st.st_gid)
