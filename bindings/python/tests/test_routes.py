"""Connecting wherever ssh connects (issue 16) through the Python package:
an ssh_config alias and its report, a ProxyCommand, a socket the program
connected, a key from memory, a jump-host list, and keyboard-interactive
answering the second prompt of a PAM server (password, then an HOTP code),
against the fixtures of tests/fixture."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

import psftp as pysftp
from conftest import REPO

# A ProxyCommand relay (no nc on the test machine): stdin/stdout to %h:%p.
RELAY = (
    "python3 -c 'import os,socket,sys,threading; s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); "
    'threading.Thread(target=lambda: [s.sendall(b) for b in iter(lambda: os.read(0,65536), b"")],daemon=True).start(); '
    "[os.write(1,b) for b in iter(lambda: s.recv(65536), b\"\")]' %h %p"
)


def login(server: Dict[str, str], cnopts: pysftp.CnOpts, **extra: object) -> pysftp.Connection:
    args: Dict[str, object] = {
        "username": server["PSFTP_TEST_USER"],
        "password": server["PSFTP_TEST_PASSWORD"],
        "port": int(server["PSFTP_TEST_PORT"]),
        "cnopts": cnopts,
    }
    args.update(extra)
    return pysftp.Connection(server["PSFTP_TEST_HOST"], **args)  # type: ignore[arg-type]


def test_an_ssh_config_alias_gives_host_port_user_and_key(
    server: Dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A home without known_hosts: the host key comes from the config's
    # UserKnownHostsFile, which replaces the default file psftp was not
    # given explicitly.
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = tmp_path / "config"
    cfg.write_text(
        f"# psftp test\nHost pyalias\n  HostName {server['PSFTP_TEST_HOST']}\n"
        f"  Port {server['PSFTP_TEST_PORT']}\n  User {server['PSFTP_TEST_USER']}\n"
        f"  IdentityFile {server['PSFTP_TEST_DIR']}/id_ed25519\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {server['PSFTP_TEST_KNOWN_HOSTS']}\n"
        "Host *\n  User nobody-at-all\n  Port 1\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysftp's "Failed to load HostKeys"
        cnopts = pysftp.CnOpts(ssh_config=str(cfg))
    with pysftp.Connection("pyalias", cnopts=cnopts) as sftp:
        assert sftp.pwd == server["PSFTP_TEST_HOME"]
        assert sftp.username == server["PSFTP_TEST_USER"]
    report = cnopts.ssh_config_report("pyalias")
    for line in (
        "host pyalias",
        f"hostname {server['PSFTP_TEST_HOST']}",
        f"port {server['PSFTP_TEST_PORT']}",
        f"user {server['PSFTP_TEST_USER']}",
        f"userknownhostsfile {server['PSFTP_TEST_KNOWN_HOSTS']}",
        f"# ssh_config {cfg}",
    ):
        assert line in report.splitlines(), report
    # An explicit port wins over the file, and is named when it fails.
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead = free.getsockname()[1]
    with pytest.raises(pysftp.ConnectionException) as e:
        pysftp.Connection("pyalias", port=dead, cnopts=cnopts)
    assert f"127.0.0.1:{dead}" in str(e.value)
    # Off by default: the alias is just a name that does not resolve.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = pysftp.CnOpts()
    with pytest.raises(pysftp.ConnectionException):
        pysftp.Connection("pyalias", cnopts=plain)
    # A malformed line is named with its file and line.
    cfg.write_text("Host x\n  HostName 127.0.0.1\n\n  Port twenty-two\n")
    with pytest.raises(pysftp.InvalidArgumentError) as bad:
        cnopts.ssh_config_report("x")
    assert f"ssh_config '{cfg}' line 4: bad port 'twenty-two'" in str(bad.value)


def test_a_proxy_command_and_a_socket_carry_the_connection(
    server: Dict[str, str], cnopts: pysftp.CnOpts
) -> None:
    cnopts.proxy_command = RELAY
    with login(server, cnopts) as sftp:
        assert sftp.pwd == server["PSFTP_TEST_HOME"]
    assert "proxycommand python3 -c" in cnopts.ssh_config_report(server["PSFTP_TEST_HOST"])
    # A command that fails says why.
    cnopts.proxy_command = "sh -c 'echo no route to %h:%p >&2; exit 3'"
    with pytest.raises(pysftp.SSHException) as e:
        login(server, cnopts)
    assert "exit status: 3" in str(e.value)
    assert f"no route to {server['PSFTP_TEST_HOST']}:{server['PSFTP_TEST_PORT']}" in str(e.value)
    cnopts.proxy_command = None

    address = (server["PSFTP_TEST_HOST"], int(server["PSFTP_TEST_PORT"]))
    sock = socket.create_connection(address)
    with login(server, cnopts, sock=sock) as sftp:
        sock.close()  # psftp holds its own duplicate
        assert sftp.listdir(server["PSFTP_TEST_HOME"]) is not None
        assert sftp.pwd == server["PSFTP_TEST_HOME"]
    # A bare descriptor works too.
    sock = socket.create_connection(address)
    try:
        with login(server, cnopts, sock=sock.fileno()) as sftp:
            assert sftp.pwd == server["PSFTP_TEST_HOME"]
    finally:
        sock.close()
    # Not a stream socket.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(pysftp.InvalidArgumentError) as bad:
            login(server, cnopts, sock=udp)
    assert "not a stream socket" in str(bad.value)
    with pytest.raises(TypeError):
        login(server, cnopts, sock="127.0.0.1:22")


def test_a_key_from_memory_authenticates_and_stays_secret(
    server: Dict[str, str], cnopts: pysftp.CnOpts
) -> None:
    key = Path(server["PSFTP_TEST_DIR"], "id_ed25519_enc").read_bytes()
    passphrase = server["PSFTP_TEST_PASSPHRASE"]
    with login(server, cnopts, password=None, private_key_data=key, private_key_pass=passphrase) as sftp:
        assert sftp.pwd == server["PSFTP_TEST_HOME"]
    with login(server, cnopts, password=None, private_key_data=key.decode(), private_key_pass=passphrase):
        pass
    with pytest.raises(pysftp.AuthenticationException) as e:
        login(server, cnopts, password=None, private_key_data=key, private_key_pass="wrong passphrase 123")
    msg = str(e.value)
    assert "private_key_data" in msg and "wrong passphrase" in msg
    assert "wrong passphrase 123" not in msg and "BEGIN" not in msg
    body = key.decode().splitlines()[1]
    assert body not in msg
    with pytest.raises(pysftp.InvalidArgumentError) as bad:
        login(server, cnopts, password=None, private_key_data=b"hello")
    assert "not shown" in str(bad.value) and "hello" not in str(bad.value)
    with pytest.raises(ValueError):
        login(server, cnopts, private_key="~/.ssh/id_ed25519", private_key_data=key)


def test_proxy_jump_and_proxy_command_together_are_refused(
    server: Dict[str, str], cnopts: pysftp.CnOpts
) -> None:
    # Each carries a connection on its own (above); together neither wins.
    cnopts.proxy_jump = f"{server['PSFTP_TEST_USER']}@{server['PSFTP_TEST_HOST']}:{server['PSFTP_TEST_PORT']}"
    cnopts.proxy_command = RELAY
    for use in (lambda: login(server, cnopts), lambda: cnopts.ssh_config_report("target")):
        with pytest.raises(pysftp.InvalidArgumentError) as e:
            use()
        assert str(e.value) == "proxy_jump: give it or proxy_command, not both"
        assert e.value.code == "INVALID_ARG" and isinstance(e.value, ValueError)
    cnopts.proxy_jump = None  # the one left connects
    with login(server, cnopts) as sftp:
        assert sftp.pwd == server["PSFTP_TEST_HOME"]


def test_a_jump_list_is_checked_and_named(cnopts: pysftp.CnOpts) -> None:
    cnopts.proxy_jump = "a@b:22,@c"
    with pytest.raises(pysftp.InvalidArgumentError) as e:
        cnopts.ssh_config_report("target")
    assert "hop 2 '@c'" in str(e.value) and "empty user" in str(e.value)
    cnopts.proxy_jump = "ops@bastion.example:2200,10.0.0.7"
    report = cnopts.ssh_config_report("target")
    assert "proxyjump ops@bastion.example:2200," in report, report
    assert "# jump host 1: ops@bastion.example:2200" in report, report


@pytest.fixture(scope="module")
def kbd_server() -> Iterator[Dict[str, str]]:
    """A server that wants keyboard-interactive through PAM: the password,
    then an HOTP code (tests/fixture/sshd.sh with PSFTP_SSHD_KBD=1)."""
    work = tempfile.mkdtemp(prefix="psftp-py-kbd-")
    os.chmod(work, 0o755)
    script = REPO / "tests" / "fixture" / "sshd.sh"
    sshd = os.path.join(work, "s")
    env = dict(os.environ, PSFTP_SSHD_KBD="1")
    out = subprocess.run(
        ["bash", str(script), "start", sshd], check=True, stdout=subprocess.PIPE, env=env, text=True
    ).stdout
    try:
        yield dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    finally:
        subprocess.run(["bash", str(script), "stop", sshd], check=False)
        shutil.rmtree(work, ignore_errors=True)


def hotp(secret_hex: str, counter: int) -> str:
    """RFC 4226, six digits."""
    mac = hmac.new(bytes.fromhex(secret_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF) % 1000000)


def test_keyboard_interactive_answers_the_second_prompt(kbd_server: Dict[str, str]) -> None:
    env = kbd_server
    rounds: List[List[Tuple[str, bool]]] = []
    askers: List[Tuple[str, int, str]] = []
    counter = [0]

    def answer(req: pysftp.KeyboardInteractiveRequest) -> Optional[Sequence[str]]:
        rounds.append(req.prompts)
        askers.append((req.host, req.port, req.user))
        if req.prompts and req.prompts[0][0].startswith("One-time password"):
            return [hotp(env["PSFTP_TEST_OATH_SECRET"], counter[0])]
        return None  # the password answers "Password:"

    cnopts = pysftp.CnOpts(knownhosts=env["PSFTP_TEST_KNOWN_HOSTS"])
    held = len(pysftp.cnopts._held)
    with pysftp.Connection(
        "127.0.0.1",
        username=env["PSFTP_TEST_USER"],
        password=env["PSFTP_TEST_PASSWORD"],
        port=int(env["PSFTP_TEST_PORT"]),
        cnopts=cnopts,
        keyboard_interactive=answer,
    ) as sftp:
        assert sftp.pwd == env["PSFTP_TEST_HOME"]
        assert len(pysftp.cnopts._held) == held + 1, "the connection holds the handler"
    counter[0] += 1
    assert len(pysftp.cnopts._held) == held, "released when the connection closed"
    asked = [p for p in rounds if p]
    assert asked == [
        [("Password: ", False)],
        [(f"One-time password (OATH) for `{env['PSFTP_TEST_USER']}': ", False)],
    ]
    # Every round (PAM may end with one of no prompts) names the server.
    assert len(askers) >= 2
    assert set(askers) == {("127.0.0.1", int(env["PSFTP_TEST_PORT"]), env["PSFTP_TEST_USER"])}

    # The handler alone, answering both prompts; then a used code fails
    # without either secret in the message.
    def both(req: pysftp.KeyboardInteractiveRequest) -> List[str]:
        code = hotp(env["PSFTP_TEST_OATH_SECRET"], counter[0])
        return [code if text.startswith("One-time") else env["PSFTP_TEST_PASSWORD"] for text, _ in req.prompts]

    args: Dict[str, object] = {
        "username": env["PSFTP_TEST_USER"],
        "port": int(env["PSFTP_TEST_PORT"]),
        "cnopts": cnopts,
        "keyboard_interactive": both,
    }
    pysftp.Connection("127.0.0.1", **args).close()  # type: ignore[arg-type]
    with pytest.raises(pysftp.AuthenticationException) as e:
        pysftp.Connection("127.0.0.1", **args)  # type: ignore[arg-type]
    counter[0] += 1
    assert "keyboard-interactive" in str(e.value)
    assert env["PSFTP_TEST_PASSWORD"] not in str(e.value)

    # An exception raised in the handler gives up and comes out as it is.
    class NoCode(Exception):
        pass

    def refuse(req: pysftp.KeyboardInteractiveRequest) -> List[str]:
        raise NoCode("no token today")

    args["keyboard_interactive"] = refuse
    with pytest.raises(NoCode):
        pysftp.Connection("127.0.0.1", **args)  # type: ignore[arg-type]
    assert len(pysftp.cnopts._held) == held, "a failed connect releases the handler"
