"""Ctrl-C (SIGINT) during a 1 GiB transfer stops it promptly and leaves the
destination as the C API promises: old content intact, no part file left
locally; on a stalled link the connection is interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

from conftest import make_remote

HERE = Path(__file__).resolve().parent
GIB = 1024 * 1024 * 1024


def _start(direction: str, remote: str, local: str, grace: float) -> subprocess.Popen:  # type: ignore[type-arg]
    p = subprocess.Popen(
        [sys.executable, str(HERE / "interrupt_child.py"), direction, remote, local, str(grace)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line.strip() == "READY", (line, p.stderr.read() if p.stderr else "")
    return p


def _finish(p: subprocess.Popen, limit: float) -> Tuple[List[str], float]:  # type: ignore[type-arg]
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=limit)
    return out.split(), time.monotonic() - t0


def test_ctrl_c_stops_a_get_and_keeps_the_old_file(server: Dict[str, str], rdir: str, tmp_path: Path) -> None:
    make_remote(f"{rdir}/huge", b"\1", rdir)
    os.truncate(f"{rdir}/huge", GIB)
    dest = tmp_path / "dest.bin"
    dest.write_bytes(b"old content")
    p = _start("get", f"{rdir}/huge", str(dest), 20.0)
    time.sleep(0.3)
    words, took = _finish(p, 60)
    assert words[:2] == ["INTERRUPTED", "USABLE"], words
    assert took < 30, "stopped promptly, not at the end of 1 GiB"
    assert dest.read_bytes() == b"old content"
    assert sorted(os.listdir(tmp_path)) == ["dest.bin"], "the part file is removed"


def _sftp_server_pid(user: str) -> int:
    out = subprocess.run(["pgrep", "-n", "-u", user, "sftp-server"], capture_output=True, text=True)
    return int(out.stdout.split()[0])


def test_ctrl_c_on_a_stalled_put_interrupts_the_connection(server: Dict[str, str], rdir: str, tmp_path: Path) -> None:
    src = tmp_path / "huge"
    with open(src, "wb") as f:
        f.truncate(GIB)
    make_remote(f"{rdir}/dest", b"old remote content", rdir)
    p = _start("put", f"{rdir}/dest", str(src), 1.0)
    pid = _sftp_server_pid(server["PSFTP_TEST_USER"])
    os.kill(pid, signal.SIGSTOP)  # the link stalls: no progress, no callback
    try:
        time.sleep(0.5)
        words, took = _finish(p, 60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert words[:2] == ["INTERRUPTED", "UNUSABLE"], words
    assert took < 30
    assert Path(rdir, "dest").read_bytes() == b"old remote content"
