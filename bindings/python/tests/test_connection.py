"""pysftp's Connection, member by member, as its documentation shows it
(the cookbook and the API reference), through `import psftp as pysftp`."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Dict, List

import pytest

import psftp as pysftp
from conftest import make_remote


def test_cookbook_example_with_cd_put_get(cinfo: Dict[str, object], rdir: str, tmp_path: Path) -> None:
    local = tmp_path / "filename"
    local.write_bytes(b"payload" * 1000)
    os.chdir(tmp_path)
    with pysftp.Connection(**cinfo) as sftp:  # type: ignore[arg-type]
        with sftp.cd(rdir):
            sftp.put(str(local))
            assert sftp.getcwd() == rdir
            os.remove(local)
            sftp.get("filename")
    assert local.read_bytes() == b"payload" * 1000
    assert Path(rdir, "filename").read_bytes() == b"payload" * 1000


def test_connection_close_and_calls_after_close(cinfo: Dict[str, object]) -> None:
    sftp = pysftp.Connection(**cinfo)  # type: ignore[arg-type]
    assert sftp.exists(".")
    sftp.close()
    sftp.close()  # a second close does nothing
    with pytest.raises(pysftp.ConnectionLostError):
        sftp.listdir()


def test_properties(sftp: pysftp.Connection, server: Dict[str, str]) -> None:
    local, remote = sftp.active_ciphers
    assert local == remote and "aes" in local or "chacha" in local
    assert sftp.active_compression == ("none", "none")
    opts = sftp.security_options
    assert "aes128-ctr" in opts.ciphers and opts.kex and opts.key_types and opts.digests
    assert isinstance(opts.ciphers, tuple)
    key = sftp.remote_server_key
    kh = Path(server["PSFTP_TEST_KNOWN_HOSTS"]).read_text()
    assert key.get_name() in kh and key.get_base64() in kh
    assert key.fingerprint.startswith("SHA256:") and len(key.get_fingerprint()) == 16
    assert sftp.logfile is False
    assert sftp.timeout is None
    sftp.timeout = 12.5
    assert sftp.timeout == 12.5
    sftp.timeout = None
    assert sftp.timeout is None
    assert sftp.username == server["PSFTP_TEST_USER"]
    client = sftp.sftp_client
    assert client.session_ptr and client.sftp_ptr
    assert client.listdir(".") == sftp.listdir(".")


def test_ctypes_structs_match_the_library(sftp: pysftp.Connection, rdir: str) -> None:
    """psftp says in struct_size how much of a struct it filled: the whole
    of each ctypes struct in _ffi, so their layouts are the header's."""
    import ctypes

    ffi, h = pysftp._ffi, sftp._handle()
    make_remote(f"{rdir}/f", b"x", rdir)
    a = ffi.sized(ffi.Attrs)
    assert ffi.lib.psftp_stat(h, f"{rdir}/f".encode(), ctypes.byref(a)) == 0
    assert a.struct_size == ctypes.sizeof(ffi.Attrs) and a.size == 1
    v = ffi.sized(ffi.StatVfsInfo)
    assert ffi.lib.psftp_statvfs(h, rdir.encode(), ctypes.byref(v)) == 0
    assert v.struct_size == ctypes.sizeof(ffi.StatVfsInfo) and v.bsize > 0
    dl = ctypes.POINTER(ffi.DirentList)()
    assert ffi.lib.psftp_listdir_attr(h, rdir.encode(), ctypes.byref(dl)) == 0
    entry = dl.contents.entries[0].contents
    assert entry.struct_size == ctypes.sizeof(ffi.Dirent) and entry.attrs.size == 1
    ffi.lib.psftp_dirent_list_free(dl)
    k = ctypes.POINTER(ffi.HostKeyStruct)()
    assert ffi.lib.psftp_remote_server_key(h, ctypes.byref(k)) == 0
    assert k.contents.struct_size == ctypes.sizeof(ffi.HostKeyStruct)
    ffi.lib.psftp_hostkey_free(k)
    si = ctypes.POINTER(ffi.SecurityInfo)()
    assert ffi.lib.psftp_security_options(h, ctypes.byref(si)) == 0
    assert si.contents.struct_size == ctypes.sizeof(ffi.SecurityInfo)
    ffi.lib.psftp_security_info_free(si)


def test_sftp_client_locked_keeps_other_threads_waiting(sftp: pysftp.Connection) -> None:
    import threading
    import time

    client = sftp.sftp_client
    order: List[str] = []
    with client.locked():
        assert sftp.exists("."), "this thread's own calls still work"
        t = threading.Thread(target=lambda: order.append("other" if sftp.exists(".") else "?"))
        t.start()
        time.sleep(0.5)
        order.append("unlock")
    t.join(10)
    assert order == ["unlock", "other"], "the other thread's call waited for the unlock"


def test_pwd_getcwd_chdir_cwd_normalize(sftp: pysftp.Connection, rdir: str, home: str) -> None:
    assert sftp.getcwd() is None, "None until chdir, as paramiko"
    assert sftp.pwd == home
    assert sftp.normalize(".") == home
    sftp.mkdir(f"{rdir}/sub")
    sftp.chdir(rdir)
    assert sftp.getcwd() == rdir
    sftp.cwd("sub")
    assert sftp.pwd == f"{rdir}/sub"
    assert sftp.normalize("..") == rdir
    assert sftp.normalize(b"..") == rdir.encode(), "bytes in, bytes out"
    with pytest.raises(FileNotFoundError):
        sftp.chdir("nope")
    assert sftp.getcwd() == f"{rdir}/sub", "a failed chdir changes nothing"


def test_cd_restores_what_pysftp_restores(sftp: pysftp.Connection, rdir: str, home: str) -> None:
    sftp.mkdir(f"{rdir}/static")
    sftp.mkdir(f"{rdir}/static/here")
    with sftp.cd():  # a bookmark
        sftp.chdir(f"{rdir}/static")
        sftp.chdir("here")
        assert sftp.pwd == f"{rdir}/static/here"
    # pysftp restores cwd(pwd): getcwd() is the directory by name, not None
    assert sftp.getcwd() == home
    sftp.chdir(rdir)
    with sftp.cd("static"):
        assert sftp.pwd == f"{rdir}/static"
        sftp.chdir("here")
    assert sftp.pwd == rdir
    with pytest.raises(ZeroDivisionError):
        with sftp.cd("static"):
            1 / 0
    assert sftp.pwd == rdir, "restored when the block raises"
    with pytest.raises(FileNotFoundError):
        with sftp.cd("no-such-dir"):
            pass


def test_listdir_sorted_and_listdir_attr(sftp: pysftp.Connection, rdir: str) -> None:
    for name in ["readme.txt", "pub", "Zeta", "ünï"]:
        make_remote(f"{rdir}/{name}", name.encode(), rdir)
    os.utime(f"{rdir}/pub", (1_000_000_000, 1_200_000_000))
    assert sftp.listdir(rdir) == ["Zeta", "pub", "readme.txt", "ünï"]
    attrs = sftp.listdir_attr(rdir)
    assert [a.filename for a in attrs] == ["Zeta", "pub", "readme.txt", "ünï"]
    pub = attrs[1]
    assert pub.st_size == 3 and pub.st_mtime == 1_200_000_000 and pub.st_atime == 1_000_000_000
    assert stat.S_ISREG(pub.st_mode or 0)
    st = os.stat(f"{rdir}/pub")
    assert (pub.st_uid, pub.st_gid) == (st.st_uid, st.st_gid)
    assert "pub" in pub.longname and pub.longname.startswith("-rw")
    assert str(pub).startswith("-rw") and str(pub).endswith(" pub")
    assert "size=3" in repr(pub)
    sftp.chdir(rdir)
    assert sftp.listdir() == sftp.listdir(".") == sftp.listdir(rdir)
    assert sftp.listdir(rdir.encode()) == [n.encode() for n in sftp.listdir(rdir)]


def test_stat_lstat_exists_lexists_isdir_isfile(sftp: pysftp.Connection, rdir: str) -> None:
    make_remote(f"{rdir}/readme.txt", b"x" * 8192, rdir)
    os.symlink("readme.txt", f"{rdir}/readme.sym")
    os.symlink("gone", f"{rdir}/broken")
    a = sftp.stat(f"{rdir}/readme.txt")
    assert a.st_size == 8192
    assert pysftp.st_mode_to_int(a.st_mode or 0) == pysftp.st_mode_to_int(os.stat(f"{rdir}/readme.txt").st_mode)
    assert stat.S_ISLNK(sftp.lstat(f"{rdir}/readme.sym").st_mode or 0)
    assert stat.S_ISREG(sftp.stat(f"{rdir}/readme.sym").st_mode or 0)
    assert sftp.exists(f"{rdir}/readme.txt") and sftp.exists(rdir)
    assert not sftp.exists(f"{rdir}/broken") and sftp.lexists(f"{rdir}/broken")
    assert not sftp.exists(f"{rdir}/nope") and not sftp.lexists(f"{rdir}/nope")
    assert sftp.isdir(rdir) and not sftp.isdir(f"{rdir}/readme.txt") and not sftp.isdir(f"{rdir}/x")
    assert sftp.isfile(f"{rdir}/readme.txt") and not sftp.isfile(rdir)
    assert sftp.readlink(f"{rdir}/readme.sym") == f"{rdir}/readme.txt", "absolute, as pysftp"


def test_mkdir_makedirs_chmod_take_pysftps_integer_modes(sftp: pysftp.Connection, rdir: str) -> None:
    sftp.mkdir(f"{rdir}/show", mode=744)
    assert stat.S_IMODE(os.stat(f"{rdir}/show").st_mode) == 0o744
    sftp.mkdir(f"{rdir}/dflt")  # mode=777 minus the server's umask
    assert stat.S_IMODE(os.stat(f"{rdir}/dflt").st_mode) & 0o700 == 0o700
    make_remote(f"{rdir}/readme.txt", b"r", rdir)
    sftp.chmod(f"{rdir}/readme.txt", 644)
    assert stat.S_IMODE(os.stat(f"{rdir}/readme.txt").st_mode) == 0o644
    assert pysftp.st_mode_to_int(sftp.stat(f"{rdir}/readme.txt").st_mode or 0) == 644
    sftp.chmod(f"{rdir}/readme.txt", mode=600)
    assert stat.S_IMODE(os.stat(f"{rdir}/readme.txt").st_mode) == 0o600
    sftp.chmod(f"{rdir}/readme.txt")  # default 777
    assert stat.S_IMODE(os.stat(f"{rdir}/readme.txt").st_mode) == 0o777
    with pytest.raises(ValueError):
        sftp.chmod(f"{rdir}/readme.txt", 648)  # int('648', 8), as pysftp
    sftp.chmod(f"{rdir}/readme.txt", 4750)  # four digits: setuid, int('4750', 8)
    assert stat.S_IMODE(os.stat(f"{rdir}/readme.txt").st_mode) == 0o4750
    with pytest.raises(ValueError):
        sftp.chmod(f"{rdir}/readme.txt", 10000)  # int('10000', 8): file type bits
    assert stat.S_IMODE(os.stat(f"{rdir}/readme.txt").st_mode) == 0o4750
    sftp.makedirs(f"{rdir}/pub/show/off", mode=750)
    assert stat.S_IMODE(os.stat(f"{rdir}/pub/show/off").st_mode) == 0o750
    sftp.makedirs(f"{rdir}/pub/show/off")  # exists: silently fine
    with pytest.raises(OSError):
        sftp.makedirs(f"{rdir}/readme.txt")  # a file in the way
    with pytest.raises(FileExistsError):
        sftp.mkdir(f"{rdir}/show")
    client = sftp.sftp_client
    client.chmod(f"{rdir}/readme.txt", 0o640)  # paramiko's POSIX bits
    assert stat.S_IMODE(os.stat(f"{rdir}/readme.txt").st_mode) == 0o640
    client.mkdir(f"{rdir}/posix", 0o711)
    assert stat.S_IMODE(os.stat(f"{rdir}/posix").st_mode) == 0o711
    with pytest.raises(ValueError):
        client.chmod(f"{rdir}/readme.txt", 0o100644)  # an st_mode, not a mode


def test_chown_rename_remove_unlink_rmdir_symlink_truncate(sftp: pysftp.Connection, rdir: str) -> None:
    make_remote(f"{rdir}/a", b"0123456789", rdir)
    st = os.stat(f"{rdir}/a")
    sftp.chown(f"{rdir}/a", uid=st.st_uid)  # only uid: gid kept (pysftp stats)
    sftp.chown(f"{rdir}/a", gid=st.st_gid)
    sftp.chown(f"{rdir}/a")
    with pytest.raises(PermissionError) as e:
        sftp.chown(f"{rdir}/a", uid=0)  # the test user may not give files away
    assert e.value.errno == 13
    assert sftp.truncate(f"{rdir}/a", 4) == 4
    assert Path(rdir, "a").read_bytes() == b"0123"
    sftp.rename(f"{rdir}/a", f"{rdir}/b")
    assert not os.path.exists(f"{rdir}/a") and Path(rdir, "b").read_bytes() == b"0123"
    make_remote(f"{rdir}/c", b"c", rdir)
    with pytest.raises(OSError):
        sftp.rename(f"{rdir}/b", f"{rdir}/c")  # SFTP v3: no replacing
    sftp.posix_rename(f"{rdir}/b", f"{rdir}/c")
    assert Path(rdir, "c").read_bytes() == b"0123"
    sftp.symlink(f"{rdir}/c", f"{rdir}/link")
    assert os.readlink(f"{rdir}/link") == f"{rdir}/c"
    with pytest.raises(OSError):
        sftp.symlink(f"{rdir}/c", f"{rdir}/link")
    sftp.hardlink(f"{rdir}/c", f"{rdir}/hard")
    assert os.stat(f"{rdir}/hard").st_ino == os.stat(f"{rdir}/c").st_ino
    sftp.remove(f"{rdir}/link")
    sftp.unlink(f"{rdir}/hard")
    assert sorted(os.listdir(rdir)) == ["c"]
    sftp.mkdir(f"{rdir}/d")
    sftp.rmdir(f"{rdir}/d")
    assert not os.path.exists(f"{rdir}/d")
    sftp.utime(f"{rdir}/c", (1_000_000, 2_000_000))
    assert os.stat(f"{rdir}/c").st_mtime == 2_000_000
    assert sftp.statvfs(rdir).f_bsize > 0
    assert sftp.has_extension("posix-rename@openssh.com")


def test_execute_returns_pysftps_lines(sftp: pysftp.Connection) -> None:
    assert sftp.execute("printf 'a\\nb\\n'") == [b"a\n", b"b\n"]
    assert sftp.execute("echo oops >&2") == [b"oops\n"], "stderr when stdout is empty"
    assert sftp.execute("echo out; echo err >&2") == [b"out\n"]
    assert sftp.execute("printf 'x\\000y'") == [b"x\x00y"], "NUL bytes survive"
    assert sftp.execute("true") == []


def test_walktree_remote_and_local(sftp: pysftp.Connection, rdir: str) -> None:
    make_remote(f"{rdir}/pub/example/example01", b"1", rdir)
    make_remote(f"{rdir}/pub/readme.txt", b"2", rdir)
    os.symlink("/dev/null", f"{rdir}/pub/dev")
    for d in ("pub", "pub/example"):
        st = os.stat(rdir)
        os.chown(f"{rdir}/{d}", st.st_uid, st.st_gid)
    files: List[str] = []
    dirs: List[str] = []
    unknown: List[str] = []
    sftp.walktree(rdir, files.append, dirs.append, unknown.append)
    assert files == [f"{rdir}/pub/example/example01", f"{rdir}/pub/readme.txt"]
    assert dirs == [f"{rdir}/pub", f"{rdir}/pub/example"]
    assert unknown == [f"{rdir}/pub/dev"]
    flat: List[str] = []
    sftp.walktree(rdir, flat.append, flat.append, flat.append, recurse=False)
    assert flat == [f"{rdir}/pub"]
    # local walktree, same callbacks
    lf: List[str] = []
    ld: List[str] = []
    pysftp.walktree(rdir, lf.append, ld.append, lambda p: None)
    assert lf == files and ld == dirs

    def boom(path: str) -> None:
        raise KeyError(path)

    with pytest.raises(KeyError):
        sftp.walktree(rdir, boom, dirs.append, unknown.append)


def test_module_helpers() -> None:
    assert pysftp.st_mode_to_int(33188) == 644
    assert list(pysftp.path_advance("./pub/example/example01")) == [
        ".", "./pub", "./pub/example", "./pub/example/example01"]
    assert list(pysftp.path_retreat("./pub/example/example01")) == [
        "./pub/example/example01", "./pub/example", "./pub", "."]
    assert pysftp.reparent("backup", "/home/test/pub") == "backup/./home/test/pub"
    assert pysftp.known_hosts() == os.path.expanduser("~/.ssh/known_hosts")


def test_local_cd(tmp_path: Path) -> None:
    start = os.getcwd()
    (tmp_path / "docs").mkdir()
    with pysftp.cd(str(tmp_path / "docs")):
        assert os.getcwd() == str(tmp_path / "docs")
    assert os.getcwd() == start
    with pysftp.cd():
        os.chdir(tmp_path)
    assert os.getcwd() == start
    with pytest.raises(FileNotFoundError):
        with pysftp.cd(str(tmp_path / "missing")):
            pass
    assert os.getcwd() == start


def test_cnopts_hostkeys_log_compression_ciphers(server: Dict[str, str], cinfo: Dict[str, object], tmp_path: Path) -> None:
    kh = server["PSFTP_TEST_KNOWN_HOSTS"]
    port = int(server["PSFTP_TEST_PORT"])
    cn = pysftp.CnOpts(knownhosts=kh)
    key = cn.get_hostkey(f"[127.0.0.1]:{port}")
    assert key.get_name().startswith(("ssh-", "ecdsa-"))
    with pytest.raises(pysftp.SSHException, match="No hostkey for host elsewhere found"):
        cn.get_hostkey("elsewhere")
    assert cn.hostkeys is not None and cn.hostkeys.lookup("elsewhere") is None
    # an empty known_hosts file: pysftp's HostKeysException, at once
    empty = tmp_path / "kh"
    empty.write_text("# nothing\n")
    with pytest.raises(pysftp.HostKeysException):
        pysftp.CnOpts(knownhosts=str(empty))
    # a missing one: a warning, then unknown host at connect
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        missing = pysftp.CnOpts(knownhosts=str(tmp_path / "missing"))
    assert any("Failed to load HostKeys" in str(x.message) for x in w)
    args = dict(cinfo, cnopts=missing)
    with pytest.raises(pysftp.SSHException):
        pysftp.Connection(**args)  # type: ignore[arg-type]
    missing.hostkeys.load(kh)  # type: ignore[union-attr]
    with pysftp.Connection(**args) as s:  # type: ignore[arg-type]
        assert s.exists(".")
    # checking off (NOT ADVISED), logging to a file, compression, ciphers
    off = cn
    off.hostkeys = None
    off.log = str(tmp_path / "psftp.log")
    off.compression = True
    off.ciphers = ["aes256-ctr"]
    with pysftp.Connection(**dict(cinfo, cnopts=off)) as s:  # type: ignore[arg-type]
        assert s.logfile == str(tmp_path / "psftp.log")
        assert s.active_ciphers == ("aes256-ctr", "aes256-ctr")
        assert s.active_compression[0].startswith("zlib")
    assert (tmp_path / "psftp.log").stat().st_size > 0
    tmp_log = pysftp.CnOpts(knownhosts=kh)
    tmp_log.log = True
    with pysftp.Connection(**dict(cinfo, cnopts=tmp_log)) as s:  # type: ignore[arg-type]
        assert isinstance(s.logfile, str) and os.path.exists(s.logfile)
        os.remove(s.logfile)


def test_deprecated_log_and_ciphers_parameters(cinfo: Dict[str, object]) -> None:
    with pytest.warns(DeprecationWarning):
        with pysftp.Connection(**dict(cinfo, ciphers=["aes128-ctr"])) as s:  # type: ignore[arg-type]
            assert s.active_ciphers[0] == "aes128-ctr"


def test_keys_default_path_and_port(server: Dict[str, str], cnopts: pysftp.CnOpts, rdir: str) -> None:
    with pysftp.Connection(
        server["PSFTP_TEST_HOST"],
        username=server["PSFTP_TEST_USER"],
        private_key=server["PSFTP_TEST_KEY"],
        port=int(server["PSFTP_TEST_PORT"]),
        cnopts=cnopts,
        default_path=rdir,
    ) as s:
        assert s.getcwd() == rdir and s.pwd == rdir
    enc = os.path.join(server["PSFTP_TEST_DIR"], "id_ed25519_enc")
    with pysftp.Connection(
        server["PSFTP_TEST_HOST"],
        username=server["PSFTP_TEST_USER"],
        private_key=enc,
        private_key_pass=server["PSFTP_TEST_PASSPHRASE"],
        port=int(server["PSFTP_TEST_PORT"]),
        cnopts=cnopts,
    ) as s:
        assert s.exists(".")


def test_key_objects_are_used_from_memory(
    server: Dict[str, str], cnopts: pysftp.CnOpts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A paramiko key object as private_key: its private key goes to the
    library from memory (psftp_connect_opts_set_private_key_data), not to
    ssh-agent, and never into a message."""
    import paramiko

    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # no agent to fall back on
    keys = server["PSFTP_TEST_DIR"]
    args = dict(
        host=server["PSFTP_TEST_HOST"],
        username=server["PSFTP_TEST_USER"],
        port=int(server["PSFTP_TEST_PORT"]),
        cnopts=cnopts,
    )
    for key in (
        paramiko.RSAKey.from_private_key_file(os.path.join(keys, "id_rsa_pem")),
        paramiko.ECDSAKey.from_private_key_file(os.path.join(keys, "id_ecdsa_pem")),
        paramiko.RSAKey.from_private_key_file(
            os.path.join(keys, "id_rsa_enc_pem"), password=server["PSFTP_TEST_PASSPHRASE"]
        ),
    ):
        with pysftp.Connection(private_key=key, **args) as s:  # type: ignore[arg-type]
            assert s.exists(".")
    stranger = paramiko.RSAKey.generate(2048)
    text = tmp_path / "stranger"
    stranger.write_private_key_file(str(text))
    with pytest.raises(pysftp.AuthenticationException) as e:
        pysftp.Connection(private_key=stranger, **args)  # type: ignore[arg-type]
    for line in text.read_text().splitlines()[1:-1]:
        assert line not in str(e.value), "no line of the key in the message"
    with pytest.raises(pysftp.CredentialException):
        pysftp.Connection(private_key=42, **args)  # type: ignore[arg-type]


def test_beyond_pysftp_hostkey_callback_and_accept_new(cinfo: Dict[str, object], server: Dict[str, str], tmp_path: Path) -> None:
    seen = []

    def decide(host: str, port: int, key: pysftp.HostKey, status: str) -> str:
        seen.append((host, port, status, key.get_name()))
        return "accept"

    kh = tmp_path / "known_hosts"
    cn = pysftp.CnOpts(knownhosts=str(kh), hostkey_callback=decide)
    with pysftp.Connection(**dict(cinfo, cnopts=cn)) as s:  # type: ignore[arg-type]
        assert s.exists(".")
    assert seen and seen[0][:3] == ("127.0.0.1", int(server["PSFTP_TEST_PORT"]), "unknown")
    assert not kh.exists() or kh.read_text() == ""
    # psftp holds the callback while the connection lives and releases it
    # (its finalizer) when nothing holds it any more.
    held = len(pysftp.cnopts._held)
    s = pysftp.Connection(**dict(cinfo, cnopts=cn))  # type: ignore[arg-type]
    assert len(pysftp.cnopts._held) == held + 1, "the connection holds the callback"
    s.close()
    assert len(pysftp.cnopts._held) == held, "released when the connection closed"

    def refuse(host: str, port: int, key: pysftp.HostKey, status: str) -> bool:
        raise RuntimeError("asked")

    with pytest.raises(RuntimeError, match="asked"):
        pysftp.Connection(**dict(cinfo, cnopts=pysftp.CnOpts(knownhosts=str(kh), hostkey_callback=refuse)))  # type: ignore[arg-type]
    tofu = pysftp.CnOpts(knownhosts=str(kh), accept_new=True)
    with pysftp.Connection(**dict(cinfo, cnopts=tofu)) as s:  # type: ignore[arg-type]
        assert s.exists(".")
    line = kh.read_text()
    assert line.startswith(f"[127.0.0.1]:{server['PSFTP_TEST_PORT']} ")
    strict = pysftp.CnOpts(knownhosts=str(kh))
    with pysftp.Connection(**dict(cinfo, cnopts=strict)) as s:  # type: ignore[arg-type]
        assert s.exists("."), "the saved key is now trusted"
