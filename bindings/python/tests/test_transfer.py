"""get/put/getfo/putfo and the tree operations, with pysftp's arguments
and psftp's keywords beyond them."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import List, Tuple

import pytest

import psftp as pysftp
from conftest import make_remote


def test_get_put_callback_preserve_mtime_and_returned_attrs(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    data = os.urandom(5_000_000)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    os.utime(src, (1_500_000_000, 1_600_000_000))
    calls: List[Tuple[int, int]] = []
    attrs = sftp.put(str(src), f"{rdir}/up.bin", callback=lambda d, t: calls.append((d, t)), preserve_mtime=True)
    assert isinstance(attrs, pysftp.SFTPAttributes)
    assert attrs.st_size == len(data)
    assert Path(rdir, "up.bin").read_bytes() == data
    assert os.stat(f"{rdir}/up.bin").st_mtime == 1_600_000_000
    assert calls and calls[-1] == (len(data), len(data))
    assert all(t == len(data) for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    unconfirmed = sftp.put(src, f"{rdir}/up2.bin", confirm=False)  # a PathLike works too
    assert unconfirmed.st_size is None, "empty attributes without confirm, as paramiko"
    calls.clear()
    sftp.get(f"{rdir}/up.bin", str(tmp_path / "down.bin"), callback=lambda d, t: calls.append((d, t)), preserve_mtime=True)
    assert (tmp_path / "down.bin").read_bytes() == data
    assert os.stat(tmp_path / "down.bin").st_mtime == 1_600_000_000
    assert calls[-1] == (len(data), len(data))
    os.chdir(tmp_path)
    sftp.get(f"{rdir}/up2.bin")  # localpath None: its name in the local cwd
    assert (tmp_path / "up2.bin").read_bytes() == data
    sftp.chdir(rdir)
    sftp.put(str(src))  # remotepath None: its name in the remote cwd
    assert Path(rdir, "src.bin").read_bytes() == data


def test_getfo_putfo(sftp: pysftp.Connection, rdir: str) -> None:
    data = os.urandom(2_500_000)
    calls: List[Tuple[int, int]] = []
    attrs = sftp.putfo(io.BytesIO(data), f"{rdir}/fo.bin", file_size=len(data), callback=lambda d, t: calls.append((d, t)))
    assert attrs.st_size == len(data) and Path(rdir, "fo.bin").read_bytes() == data
    assert calls[-1] == (len(data), len(data))

    class ReadOnly:  # no readinto: read() is used
        def __init__(self, b: bytes) -> None:
            self.b = io.BytesIO(b)

        def read(self, n: int) -> bytes:
            return self.b.read(n)

    sftp.putfo(ReadOnly(b"small"), f"{rdir}/small")
    assert Path(rdir, "small").read_bytes() == b"small"
    sink = io.BytesIO()
    assert sftp.getfo(f"{rdir}/fo.bin", sink) == len(data)
    assert sink.getvalue() == data

    class Broken(io.BytesIO):
        def write(self, b: bytes) -> int:  # type: ignore[override]
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as e:
        sftp.getfo(f"{rdir}/fo.bin", Broken())
    assert e.value.errno == 28, "the writer's own exception comes out"
    assert sftp.listdir(rdir), "the connection stays usable"


def test_callback_exception_stops_and_keeps_the_old_file(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    make_remote(f"{rdir}/big", os.urandom(8_000_000), rdir)
    dest = tmp_path / "dest"
    dest.write_bytes(b"old content")

    def stop(done: int, total: int) -> None:
        if done > 1_000_000:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        sftp.get(f"{rdir}/big", str(dest), callback=stop)
    assert dest.read_bytes() == b"old content"
    assert sorted(os.listdir(tmp_path)) == ["dest"], "no part file left"
    assert sftp.exists(f"{rdir}/big"), "the connection stays usable"


def test_resume_and_atomic_keywords(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    make_remote(f"{rdir}/r.bin", data, rdir)
    dest, part = tmp_path / "r.bin", tmp_path / ".r.bin.psftp.part"
    # A part file nothing vouches for (no record of its source) is not
    # resumed: the copy starts over.
    part.write_bytes(data[:1_000_000])
    seen: List[int] = []
    sftp.get(f"{rdir}/r.bin", str(dest), callback=lambda d, t: seen.append(d), resume=True)
    assert dest.read_bytes() == data
    assert seen[0] < 1_000_000, "started over"
    # An interrupted resumable get leaves its part file, and continues it.
    dest.unlink()

    def stop(done: int, total: int) -> None:
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        sftp.get(f"{rdir}/r.bin", str(dest), callback=stop, resume=True)
    have = part.stat().st_size
    assert 0 < have < len(data) and not dest.exists()
    seen.clear()
    sftp.get(f"{rdir}/r.bin", str(dest), callback=lambda d, t: seen.append(d), resume=True)
    assert dest.read_bytes() == data
    assert seen[0] > have, f"resumed after the {have} bytes there (first report {seen[0]})"
    sftp.get(f"{rdir}/r.bin", str(tmp_path / "inplace.bin"), atomic=False, fsync=True, parallelism=1)
    assert (tmp_path / "inplace.bin").read_bytes() == data


def test_verify_catches_a_file_altered_on_the_server_and_retries_are_keywords(
    sftp: pysftp.Connection, rdir: str, tmp_path: Path
) -> None:
    data = os.urandom(3_000_000)
    src = f"{rdir}/v.bin"
    make_remote(src, data, rdir)
    dest = tmp_path / "v.bin"
    dest.write_bytes(b"old")
    altered: List[bool] = []

    def alter(done: int, total: int) -> None:
        if done == total and not altered:
            altered.append(True)
            with open(src, "r+b") as f:
                f.seek(7)
                f.write(b"X")

    with pytest.raises(pysftp.IntegrityError, match="verification failed"):
        sftp.get(src, str(dest), callback=alter, verify="allow-exec", retries=2)
    assert dest.read_bytes() == b"old", "the destination keeps its old content"
    make_remote(src, data, rdir)
    sftp.get(src, str(dest), verify="on", retries=2, retry_delay=0.1)
    assert dest.read_bytes() == data and sftp.last_retries == 0
    with pytest.raises(ValueError, match="verify"):
        sftp.get(src, str(dest), verify="maybe")
    with pytest.raises(pysftp.InvalidArgumentError, match="retries"):
        sftp.get(src, str(dest), retries=-1)


def _tree(root: Path) -> None:
    for i in range(3):
        d = root / f"d{i}"
        d.mkdir(parents=True)
        for j in range(4):
            (d / f"f{j}.txt").write_bytes(f"{i}-{j}".encode() * 100)
        (d / "skip.tmp").write_bytes(b"tmp")
    (root / "top.txt").write_bytes(b"top")


def test_put_r_get_r_put_d_get_d(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    src = tmp_path / "static"
    _tree(src)
    sftp.put_r(str(src), f"{rdir}/static", preserve_mtime=True)
    assert Path(rdir, "static/d1/f2.txt").read_bytes() == b"1-2" * 100
    sftp.put_r(str(src), f"{rdir}/static")  # existing directories are fine
    sftp.put_d(str(src), f"{rdir}/flat")
    assert sorted(os.listdir(f"{rdir}/flat")) == ["top.txt"]
    sftp.chdir(rdir)
    sftp.get_r("static", str(tmp_path / "backup"), preserve_mtime=True)
    assert (tmp_path / "backup/static/d2/f3.txt").read_bytes() == b"2-3" * 100, "lands at reparent()"
    sftp.get_d("static/d0", str(tmp_path / "d0"))
    assert sorted(os.listdir(tmp_path / "d0")) == ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "skip.tmp"]


def test_tree_keywords_beyond_pysftp(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _tree(src)
    os.symlink("top.txt", src / "link")
    seen: List[pysftp.TreeProgress] = []
    sftp.put_r(str(src), f"{rdir}/t", progress=seen.append, parallelism=2, exclude="*.tmp",
               symlinks="copy", preserve_mode=True)
    assert seen[-1].files_done == seen[-1].files_total == 13
    assert not any(n.endswith(".tmp") for _, _, fs in os.walk(f"{rdir}/t") for n in fs)
    assert os.readlink(f"{rdir}/t/link") == "top.txt"
    seen.clear()
    sftp.get_r(f"{rdir}/t", str(tmp_path / "b"), progress=seen.append, include=["*.txt"], sync=True)
    got = tmp_path / "b" / "." / rdir.lstrip("/") / "t"
    assert (got / "d0/f0.txt").exists() and not (got / "link").exists()
    assert seen[-1].bytes_done > 0
    inodes = {p: p.stat().st_ino for p in got.rglob("*.txt")}
    seen.clear()
    sftp.get_r(f"{rdir}/t", str(tmp_path / "b"), progress=seen.append, include=["*.txt"], sync=True)
    txt = sum(p.stat().st_size for p in got.rglob("*.txt"))
    assert seen[-1].files_done == seen[-1].files_total, "skipped files count as done"
    assert seen[-1].bytes_done == seen[-1].bytes_total == txt, "and their bytes"
    assert all(p.stat().st_ino == ino for p, ino in inodes.items()), "sync skips files whose size and mtime match"
    os.chmod(f"{rdir}/t/d1/f1.txt", 0)
    with pytest.raises(PermissionError) as e:
        sftp.get_r(f"{rdir}/t", str(tmp_path / "c"), on_error="continue")
    assert [f.path for f in e.value.failures] == ["d1/f1.txt"]  # type: ignore[attr-defined]
    assert e.value.failures[0].code == "PERMISSION"  # type: ignore[attr-defined]
    assert (tmp_path / "c" / "." / rdir.lstrip("/") / "t/d2/f3.txt").exists(), "the rest was copied"

    def cancel(p: pysftp.TreeProgress) -> None:
        raise KeyError("stop here")

    with pytest.raises(KeyError):
        sftp.put_r(str(src), f"{rdir}/t2", progress=cancel)
