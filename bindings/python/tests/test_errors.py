"""Exception types and errno values, as pysftp/paramiko code catches them."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Dict

import pytest

import psftp as pysftp
from conftest import make_remote


def test_missing_remote_file_is_filenotfounderror_with_enoent(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    for call in (
        lambda: sftp.stat(f"{rdir}/nope"),
        lambda: sftp.open(f"{rdir}/nope"),
        lambda: sftp.get(f"{rdir}/nope", str(tmp_path / "x")),
        lambda: sftp.remove(f"{rdir}/nope"),
        lambda: sftp.listdir(f"{rdir}/nope"),
        lambda: sftp.chmod(f"{rdir}/nope", 644),
    ):
        with pytest.raises(FileNotFoundError) as e:
            call()
        assert e.value.errno == errno.ENOENT
        assert isinstance(e.value, IOError) and isinstance(e.value, pysftp.Error)
        assert e.value.filename == f"{rdir}/nope"
        assert "nope" in str(e.value)
        assert e.value.sftp_status == 2  # type: ignore[attr-defined]
        assert e.value.code == "NOT_FOUND"  # type: ignore[attr-defined]
    assert not (tmp_path / "x").exists(), "a failed get creates nothing locally"


def test_permission_exists_notadirectory(sftp: pysftp.Connection, rdir: str) -> None:
    with pytest.raises(PermissionError) as e:
        sftp.open("/root/.bashrc-psftp-test", "w")
    assert e.value.errno == errno.EACCES
    with pytest.raises(PermissionError):
        sftp.mkdir("/psftp-not-allowed")
    sftp.mkdir(f"{rdir}/d")
    with pytest.raises(FileExistsError) as ee:
        sftp.mkdir(f"{rdir}/d")
    assert ee.value.errno == errno.EEXIST
    make_remote(f"{rdir}/f", b"x", rdir)
    with pytest.raises(FileExistsError):
        sftp.open(f"{rdir}/f", "x")
    with pytest.raises(NotADirectoryError) as nd:
        sftp.chdir(f"{rdir}/f")
    assert nd.value.errno == errno.ENOTDIR
    make_remote(f"{rdir}/d/inner", b"x", rdir)
    with pytest.raises(OSError) as ne:
        sftp.rmdir(f"{rdir}/d")  # not empty: SSH_FX_FAILURE, IOError as paramiko
    assert ne.value.errno == errno.ENOTEMPTY
    assert ne.value.code == "DIR_NOT_EMPTY"  # type: ignore[attr-defined]
    assert ne.value.sftp_status == 4  # type: ignore[attr-defined]


def test_local_errors_carry_their_errno(sftp: pysftp.Connection, rdir: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as e:
        sftp.put(str(tmp_path / "missing"), f"{rdir}/x")
    assert e.value.errno == errno.ENOENT and isinstance(e.value, pysftp.LocalOSError)
    with pytest.raises(IsADirectoryError) as d:
        sftp.put(str(tmp_path), f"{rdir}/x")
    assert d.value.errno == errno.EISDIR
    make_remote(f"{rdir}/f", b"data", rdir)
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(NotADirectoryError) as nd:
        sftp.get(f"{rdir}/f", str(tmp_path / "plain" / "f"))  # a file as a directory
    assert nd.value.errno == errno.ENOTDIR
    assert str(tmp_path / "plain") in str(nd.value)


def test_connection_errors(cinfo: Dict[str, object], server: Dict[str, str]) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(pysftp.ConnectionException) as e:
        pysftp.Connection(**dict(cinfo, port=port))  # type: ignore[arg-type]
    assert e.value.args == ("127.0.0.1", port)
    assert e.value.errno == errno.ECONNREFUSED
    assert "Could not connect to host:port" in e.value.message
    with pytest.raises(pysftp.ConnectionException):
        pysftp.Connection(**dict(cinfo, host=""))  # type: ignore[arg-type]
    with pytest.raises(pysftp.ConnectionException):
        pysftp.Connection(**dict(cinfo, host="no-such-host.invalid"))  # type: ignore[arg-type]


def test_authentication_and_host_key_errors(cinfo: Dict[str, object], server: Dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(pysftp.AuthenticationException) as e:
        pysftp.Connection(**dict(cinfo, password="Not-The-Secret-9q"))  # type: ignore[arg-type]
    assert isinstance(e.value, pysftp.SSHException)
    assert "Not-The-Secret-9q" not in str(e.value)
    changed = os.path.join(server["PSFTP_TEST_DIR"], "known_hosts_changed")
    with pytest.raises(pysftp.BadHostKeyException):
        pysftp.Connection(**dict(cinfo, cnopts=pysftp.CnOpts(knownhosts=changed)))  # type: ignore[arg-type]
    # pysftp looks up plain "host" for any port; psftp wants "[host]:port"
    port22 = os.path.join(server["PSFTP_TEST_DIR"], "known_hosts_port22_only")
    with pytest.raises(pysftp.SSHException) as u:
        pysftp.Connection(**dict(cinfo, cnopts=pysftp.CnOpts(knownhosts=port22)))  # type: ignore[arg-type]
    assert isinstance(u.value, pysftp.UnknownHostKeyError)
    args = dict(cinfo, private_key=os.path.join(server["PSFTP_TEST_DIR"], "id_ed25519_enc"))
    del args["password"]
    with pytest.raises(pysftp.AuthenticationException):
        pysftp.Connection(**args)  # type: ignore[arg-type]  # no passphrase


def test_bad_arguments(sftp: pysftp.Connection, rdir: str) -> None:
    with pytest.raises(ValueError):
        sftp.mkdir(f"{rdir}/x", mode=789)
    with pytest.raises(ValueError):
        sftp.open(f"{rdir}/x", "q")
    with pytest.raises(TypeError):
        sftp.putfo(None, None)
    with pytest.raises(TypeError):
        sftp.stat(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sftp.get_r(rdir, "/tmp", symlinks="sometimes")


def test_every_code_of_the_library_has_its_exception() -> None:
    """The codes come from the library's one table (psftp_error_name, walked
    down from -1): a code the package does not map fails here."""
    codes = pysftp._ffi.CODES
    assert sorted(codes) == list(range(-len(codes), 0)), "contiguous from -1"
    assert codes[-6] == "NOT_FOUND" and "DIR_NOT_EMPTY" in codes.values() and "USER" in codes.values()
    unmapped = sorted(set(codes.values()) - pysftp.exceptions.HANDLED_CODES)
    assert unmapped == [], f"codes without an exception class: {unmapped}"
    info = pysftp._ffi.ErrorInfo(-20, "USER", "stopped by the progress callback (it returned 1)", 0, -1, 1)
    assert isinstance(pysftp.exceptions.from_info(info), pysftp.TransferCancelled)


def test_timeout_is_socket_timeout_class() -> None:
    assert issubclass(pysftp.SSHTimeoutError, socket.timeout)
    assert issubclass(pysftp.SSHTimeoutError, pysftp.SSHException)
    assert issubclass(pysftp.ConnectionLostError, ConnectionError)
