"""open() and paramiko's SFTPFile methods."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import psftp as pysftp
from conftest import make_remote


def test_read_with_and_without_size_readline_readlines_iteration(sftp: pysftp.Connection, rdir: str) -> None:
    body = b"first\nsecond\n\x00third\nno newline" + bytes(range(256)) * 8000
    make_remote(f"{rdir}/lines", b"a\nb\nc", rdir)
    with sftp.open(f"{rdir}/lines") as f:
        assert list(f) == ["a\n", "b\n", "c"]
    make_remote(f"{rdir}/f", body, rdir)
    with sftp.open(f"{rdir}/f", "rb") as f:
        assert f.read(6) == b"first\n"
        assert f.tell() == 6
        assert f.readline() == b"second\n"
        assert f.readline(3) == b"\x00th"
        assert f.readline() == b"ird\n"
        rest = f.read()
        assert rest == body[len(b"first\nsecond\n\x00third\n"):]
        assert f.read() == b"" and f.read(10) == b"" and f.readline() == b""
        f.seek(0)
        assert f.readlines()[:3] == [b"first\n", b"second\n", b"\x00third\n"]
        f.seek(-5, 2)
        assert f.read() == body[-5:]
        f.seek(6)
        f.seek(7, 1)
        assert f.tell() == 13
        assert f.stat().st_size == len(body)
    with sftp.open(f"{rdir}/f") as f:  # no 'b': lines are str, as paramiko
        lines = [next(f), next(f), f.readline()]
    assert lines == ["first\n", "second\n", "\x00third\n"]
    assert f.closed
    with pytest.raises(ValueError):
        f.read()


def test_write_seek_modes_and_knobs(sftp: pysftp.Connection, rdir: str) -> None:
    path = f"{rdir}/w.bin"
    with sftp.open(path, "w") as f:
        f.settimeout(30)
        assert f.gettimeout() == 30
        f.set_pipelined()
        f.write(b"hello ")
        f.write("wörld\n")
        f.write(bytearray(b"ba"))
        f.write(memoryview(b"xyz"))
        f.writelines([b"1", b"2"])
        assert f.tell() == len("hello wörld\n".encode()) + 7
        f.flush()
        f.chmod(0o640)  # paramiko's SFTPFile.chmod takes POSIX bits
        assert stat.S_IMODE(f.stat().st_mode or 0) == 0o640
    sftp.timeout = None
    assert Path(path).read_bytes() == "hello wörld\nbaxyz12".encode()
    with sftp.open(path, "a") as f:
        f.write(b"+end")
    assert Path(path).read_bytes().endswith(b"12+end")
    with sftp.open(path, "r+") as f:
        f.seek(6)
        f.write(b"W")
        f.prefetch()
        f.seek(0)
        assert f.read(7) == b"hello W"
        f.truncate(5)
    assert Path(path).read_bytes() == b"hello"
    with pytest.raises(FileExistsError):
        sftp.open(path, "x")
    with sftp.open(f"{rdir}/new", "x") as f:
        f.write(b"1")
    with sftp.open(f"{rdir}/big", "wb", bufsize=0) as f:
        f.write(os.urandom(3_000_000))
    assert os.path.getsize(f"{rdir}/big") == 3_000_000
    with sftp.open(f"{rdir}/big", "rb") as f:
        buf = bytearray(1000)
        assert f.readinto(buf) == 1000
        assert bytes(buf) == Path(f"{rdir}/big").read_bytes()[:1000]
    with sftp.open(f"{rdir}/new", "r") as f:
        assert f.readable() and not f.writable() and f.seekable()
        with pytest.raises(ValueError):
            f.write(b"not allowed")  # opened for reading only
