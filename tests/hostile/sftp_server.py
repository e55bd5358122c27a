#!/usr/bin/env python3
"""A scripted, hostile SFTP server for psftp's tests (loopback only).

It serves a fixed virtual tree whose listings lie and attack:
  /evil     names with '..', '/', NUL, control characters, '.', '..', '',
            a duplicate, next to one honest file ok.txt
  /loop     a symlink to itself and one to '/', next to data.txt
  /liar     files whose listed size is wrong (too small, too large)
  /trunc    files whose size (listing, stat, fstat) promises twice the
            bytes that reading them gives before end of file (half.bin,
            big.bin), next to an honest ok.bin
  /short    files whose reads return a random number of bytes (1 to the
            length asked for)
  /capped   a file whose reads return at most 32 KiB, as pkg/sftp's
  /endless  a directory whose listing never ends (the same names again)
  /reads/NAME     any NAME: 300,000 bytes; every READ of it is recorded,
  /_reads/NAME    and this file lists them, one "offset length" a line
  /_writes/DIR    the WRITEs to files under /w/DIR, one "offset length" a
                  line
and a writable area backed by a real directory (argv[2]):
  /w        where psftp uploads; relative paths are taken from /w.
The user name picks how the writable area departs from OpenSSH:
  test       like OpenSSH (posix-rename@openssh.com replaces)
  nosetstat  SETSTAT and FSETSTAT are refused (managed SFTP services)
  noclobber  posix-rename@openssh.com is announced but refuses to replace
             an existing file (pkg/sftp request servers)
  noposix    no posix-rename@openssh.com at all
  draftlink  SSH_FXP_SYMLINK is read in the draft's order (link first),
             as asyncssh's server does for clients that are not OpenSSH
  checkfile  like test, also announcing paramiko's "check-file" (md5, sha1:
             server-side digests; paramiko misreads blocks over 64 KiB)
  kbd        no password: keyboard-interactive only, asking "Code: "; the
             answer KBD_CODE gets in (then as test), any other is quoted
             back in a second prompt ("code X is wrong; try again: "), as
             a careless server would, and a second wrong one fails
Any user: renaming a part file into a name containing "fail-place" fails.
A second port serves the same under a banner psftp does not know, and runs
the requests that arrive together out of order, as far as the draft and
pkg/sftp let a server: READs and WRITEs after every other request, and
MKDIRs (of different paths) in reverse. Any password is accepted (but
kbd's). Usage:
  sftp_server.py PORT_FILE ROOT   listen on two free 127.0.0.1 ports, write
                                  "PORT REORDERING_PORT" to PORT_FILE,
                                  serve /w from ROOT
"""
import errno
import os
import random
import select
import socket
import stat
import sys
import threading
import time

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.message import Message
from paramiko.sftp import CMD_MKDIR, CMD_READ, CMD_VERSION, CMD_WRITE
from paramiko.sftp import (
    SFTP_FAILURE,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
    SFTP_PERMISSION_DENIED,
)

NOW = int(time.time())
BIG = bytes((i * 7) & 0xFF for i in range(3 * 1024 * 1024))
SHORT = bytes((i * 13 + i // 251) & 0xFF for i in range(3 * 1024 * 1024 + 123))
READS_SIZE = 300_000
ROOT = None  # the real directory behind /w
USERS = ("test", "nosetstat", "noclobber", "noposix", "draftlink", "checkfile")
KBD_CODE = "let-me-in-123"


def attrs(mode, size, name=""):
    a = SFTPAttributes()
    a.st_mode, a.st_size = mode, size
    a.st_uid, a.st_gid = 1000, 1000
    a.st_atime = a.st_mtime = NOW
    a.filename = name
    return a


FILE = stat.S_IFREG | 0o644
DIR = stat.S_IFDIR | 0o755
LINK = stat.S_IFLNK | 0o777

# path -> content (read-only virtual files)
FILES = {
    "/evil/ok.txt": b"honest\n",
    "/loop/data.txt": b"loop data\n",
    "/liar/small.bin": BIG,  # listed as 10 bytes
    "/liar/huge.bin": b"five!",  # listed as 10**12 bytes
    "/trunc/ok.bin": b"an honest file\n",
    "/trunc/half.bin": BIG[:500_000],  # promises 1,000,000
    "/trunc/big.bin": BIG[: 3 * 1024 * 1024 // 2],  # promises 3 MiB
    "/short/data.bin": SHORT,
    "/short/small.bin": SHORT[:100_000],
    "/capped/data.bin": SHORT[:2_000_000],
}
# path -> the size every stat promises, when it differs from the content
PROMISED = {"/trunc/half.bin": 1_000_000, "/trunc/big.bin": 3 * 1024 * 1024}


class Endless(list):
    """A listing that never runs out: paramiko takes 16 names at a time."""

    def __getitem__(self, i):
        if isinstance(i, slice) and i.start is not None and i.stop is None:
            return self  # what is left is everything, again
        return list.__getitem__(self, i)


def listed(path, content, name):
    return attrs(FILE, PROMISED.get(path, len(content)), name)


LISTINGS = {
    "/": [attrs(DIR, 0, n) for n in ("evil", "loop", "liar", "trunc", "short", "capped", "endless", "w")],
    "/evil": [
        attrs(FILE, 6, "../escape"),
        attrs(FILE, 6, "a/b"),
        attrs(FILE, 6, "x\x00y"),
        attrs(FILE, 6, "ctl\x1b[31m"),
        attrs(DIR, 0, "."),
        attrs(DIR, 0, ".."),
        attrs(FILE, 6, ""),
        attrs(FILE, 7, "ok.txt"),
        attrs(FILE, 7, "dup"),
        attrs(FILE, 7, "dup"),
        attrs(DIR, 0, "/etc"),
    ],
    "/loop": [attrs(LINK, 5, "self"), attrs(LINK, 1, "root"), attrs(FILE, 10, "data.txt")],
    "/liar": [attrs(FILE, 10, "small.bin"), attrs(FILE, 10**12, "huge.bin")],
    "/endless": Endless([attrs(FILE, 1, n) for n in ("a", "b", "c")]),
}
for d in ("/trunc", "/short", "/capped"):
    LISTINGS[d] = [listed(p, c, p.rsplit("/", 1)[1]) for p, c in FILES.items() if p.startswith(d + "/")]
LINKS = {"/loop/self": "/loop", "/loop/root": "/"}
# The same bytes are served for the evil names, so a client that wrote them
# anywhere would be caught by the test.
for entry in LISTINGS["/evil"]:
    if stat.S_ISREG(entry.st_mode) and entry.filename not in ("ok.txt",):
        FILES["/evil/" + entry.filename] = b"pwned\n"
FILES["/evil/dup"] = b"dup one"

READ_LOG = {}  # /reads/NAME -> ["offset length", ...]
READ_LOG_LOCK = threading.Lock()
WRITE_LOG = []  # (/w/... path, "offset length")


def reads_content(name):
    return bytes((i * 31 + len(name)) & 0xFF for i in range(READS_SIZE))


def norm(path):
    path = path.decode() if isinstance(path, bytes) else path
    if not path.startswith("/"):
        path = "/w/" + path  # relative paths start in the writable area
    parts = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            parts and parts.pop()
        else:
            parts.append(p)
    return "/" + "/".join(parts)


def resolve(path):
    """Follow the virtual links (at most 8 times)."""
    for _ in range(8):
        hit = next((l for l in LINKS if path == l or path.startswith(l + "/")), None)
        if hit is None:
            return path
        path = norm(LINKS[hit] + path[len(hit):])
    return path


def writable(p):
    return p == "/w" or p.startswith("/w/")


def real(p):
    """The real path of /w/...; norm() already removed every '..'."""
    return os.path.join(ROOT, p[len("/w"):].lstrip("/"))


def errcode(e):
    return {errno.ENOENT: SFTP_NO_SUCH_FILE, errno.EACCES: SFTP_PERMISSION_DENIED}.get(
        e.errno, SFTP_FAILURE
    )


def lookup(path, follow):
    p = norm(path)
    if follow:
        p = resolve(p)
    if writable(p):
        try:
            st = os.stat(real(p)) if follow else os.lstat(real(p))
        except OSError as e:
            return errcode(e)
        return SFTPAttributes.from_stat(st, p.rsplit("/", 1)[-1])
    if p in LISTINGS or p in ("/reads", "/_reads"):
        return attrs(DIR, 0, p.rsplit("/", 1)[-1])
    if p in LINKS:
        return attrs(LINK, len(LINKS[p]), p.rsplit("/", 1)[-1])
    if p in FILES:
        # stat tells the truth about sizes, except where a size is promised
        return listed(p, FILES[p], p.rsplit("/", 1)[-1])
    if p.startswith("/reads/"):
        return attrs(FILE, READS_SIZE, p.rsplit("/", 1)[-1])
    return SFTP_NO_SUCH_FILE


class Handle(SFTPHandle):
    """A read-only virtual file."""

    def __init__(self, path, data, mode="plain"):
        super().__init__()
        self.path, self.data, self.mode = path, data, mode

    def read(self, offset, length):
        if self.mode == "reads":
            with READ_LOG_LOCK:
                READ_LOG.setdefault(self.path, []).append(f"{offset} {length}")
        if self.mode == "short" and length > 1:
            length = random.randint(1, length)
        if self.mode == "capped":
            length = min(length, 32 * 1024)
        return self.data[offset:offset + length]

    def stat(self):
        return attrs(FILE, PROMISED.get(self.path, len(self.data)))

    def write(self, offset, data):
        return SFTP_PERMISSION_DENIED


class RealHandle(SFTPHandle):
    """A file of the writable area."""

    def __init__(self, owner, path, f):
        super().__init__()
        self.owner, self.filename = owner, path
        self.readfile = self.writefile = f

    def stat(self):
        try:
            return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as e:
            return errcode(e)

    def chattr(self, attr):
        return self.owner.set_attrs(self.filename, attr)

    def write(self, offset, data):
        with READ_LOG_LOCK:
            WRITE_LOG.append((self.filename, f"{offset} {len(data)}"))
        return super().write(offset, data)


class Server(SFTPServerInterface):
    def __init__(self, server, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.user = server.username

    # --- listing and stat ---------------------------------------------
    def list_folder(self, path):
        p = resolve(norm(path))
        if writable(p):
            try:
                names = os.listdir(real(p))
                return [SFTPAttributes.from_stat(os.lstat(os.path.join(real(p), n)), n) for n in names]
            except OSError as e:
                return errcode(e)
        if p not in LISTINGS:
            return SFTP_NO_SUCH_FILE
        listing = LISTINGS[p]
        return listing if isinstance(listing, Endless) else list(listing)

    def stat(self, path):
        return lookup(path, True)

    def lstat(self, path):
        return lookup(path, False)

    def canonicalize(self, path):
        return resolve(norm(path))

    def readlink(self, path):
        p = norm(path)
        if writable(p):
            try:
                return os.readlink(real(p))
            except OSError as e:
                return errcode(e)
        return LINKS.get(p, SFTP_NO_SUCH_FILE)

    # --- files ----------------------------------------------------------
    def open(self, path, flags, attr):
        p = resolve(norm(path))
        if writable(p):
            return self.open_real(p, flags, attr)
        if flags & (os.O_WRONLY | os.O_RDWR):
            return SFTP_PERMISSION_DENIED
        if p.startswith("/_reads/"):
            with READ_LOG_LOCK:
                log = "".join(line + "\n" for line in READ_LOG.get("/reads/" + p[len("/_reads/"):], []))
            return Handle(p, log.encode())
        if p.startswith("/_writes/"):
            under = "/w/" + p[len("/_writes/"):] + "/"
            with READ_LOG_LOCK:
                log = "".join(line + "\n" for path, line in WRITE_LOG if path.startswith(under))
            return Handle(p, log.encode())
        if p.startswith("/reads/"):
            return Handle(p, reads_content(p), "reads")
        if p not in FILES:
            return SFTP_NO_SUCH_FILE
        mode = {"/short": "short", "/capped": "capped"}.get(p.rsplit("/", 1)[0], "plain")
        return Handle(p, FILES[p], mode)

    def open_real(self, p, flags, attr):
        mode = getattr(attr, "st_mode", None)
        try:
            fd = os.open(real(p), flags, mode & 0o7777 if mode is not None else 0o666)
        except OSError as e:
            return errcode(e)
        if flags & os.O_WRONLY:
            fmode = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            fmode = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            fmode = "rb"
        return RealHandle(self, p, os.fdopen(fd, fmode))

    def set_attrs(self, p, attr):
        if self.user == "nosetstat":
            return SFTP_PERMISSION_DENIED
        try:
            if attr._flags & attr.FLAG_PERMISSIONS:
                os.chmod(real(p), attr.st_mode & 0o7777)
            if attr._flags & attr.FLAG_AMTIME:
                os.utime(real(p), (attr.st_atime, attr.st_mtime))
            if attr._flags & attr.FLAG_SIZE:
                os.truncate(real(p), attr.st_size)
        except OSError as e:
            return errcode(e)
        return SFTP_OK

    def chattr(self, path, attr):
        p = norm(path)
        return self.set_attrs(p, attr) if writable(p) else SFTP_PERMISSION_DENIED

    # --- names ----------------------------------------------------------
    def _real_op(self, fn, *paths):
        ps = [norm(p) for p in paths]
        if not all(writable(p) for p in ps):
            return SFTP_PERMISSION_DENIED
        try:
            fn(*[real(p) for p in ps])
        except OSError as e:
            return errcode(e)
        return SFTP_OK

    def remove(self, path):
        return self._real_op(os.remove, path)

    def mkdir(self, path, attr):
        return self._real_op(os.mkdir, path)

    def rmdir(self, path):
        return self._real_op(os.rmdir, path)

    @staticmethod
    def placing_fails(old, new):
        return "fail-place" in new.rsplit("/", 1)[-1] and old.endswith(".psftp.part")

    def rename(self, oldpath, newpath):
        # SFTP v3: never over an existing name.
        old, new = norm(oldpath), norm(newpath)
        if self.placing_fails(old, new):
            return SFTP_FAILURE
        if writable(new) and os.path.lexists(real(new)):
            return SFTP_FAILURE
        return self._real_op(os.rename, oldpath, newpath)

    def posix_rename(self, oldpath, newpath):
        old, new = norm(oldpath), norm(newpath)
        if self.user == "noposix":
            return SFTP_OP_UNSUPPORTED
        if self.placing_fails(old, new):
            return SFTP_FAILURE
        if self.user == "noclobber" and writable(new) and os.path.lexists(real(new)):
            return SFTP_FAILURE
        return self._real_op(os.rename, oldpath, newpath)

    def symlink(self, target_path, path):
        # paramiko reads OpenSSH's order (target, then link); a draft-order
        # server reads the same two strings the other way round.
        if self.user == "draftlink":
            target_path, path = path, target_path
        p = norm(path)
        if not writable(p):
            return SFTP_PERMISSION_DENIED
        try:
            os.symlink(target_path, real(p))
        except OSError as e:
            return errcode(e)
        return SFTP_OK


class Sftp(SFTPServer):
    """Announces the extensions of the user's kind of server."""

    def _send_server_version(self):
        t, data = self._read_packet()
        version = int.from_bytes(data[:4], "big")
        msg = Message()
        msg.add_int(3)
        if self.server.user != "noposix":
            msg.add("posix-rename@openssh.com", "1")
        if self.server.user == "checkfile":
            msg.add("check-file", "md5,sha1")  # what paramiko announces
        self._send_packet(CMD_VERSION, msg)
        return version


class ReorderingSftp(Sftp):
    """Collects the requests that arrive together (within 20 ms of each
    other) and runs them out of order: READs and WRITEs after all the
    others, as pkg/sftp's workers may (only its CLOSE waits for them, this
    server's does not), and MKDIRs in reverse, since nothing orders
    requests on different paths. Other requests keep their order, as the
    draft requires for requests on the same file."""

    DATA = (CMD_READ, CMD_WRITE)

    def start_subsystem(self, name, transport, channel):
        self.sock = channel
        self._send_server_version()
        self.server.session_started()
        while True:
            batch, ended = self._read_batch(channel)
            for t, data in self._out_of_order(batch):
                msg = Message(data)
                request_number = msg.get_int()
                try:
                    self._process(t, request_number, msg)
                except Exception:
                    self._send_status(request_number, SFTP_FAILURE)
            if ended:
                return

    def _read_batch(self, channel):
        batch = []
        try:
            batch.append(self._read_packet())
            while True:
                deadline = time.time() + 0.02
                while not channel.recv_ready() and time.time() < deadline:
                    time.sleep(0.001)
                if not channel.recv_ready():
                    return batch, False
                batch.append(self._read_packet())
        except (EOFError, OSError):
            return batch, True

    def _out_of_order(self, batch):
        others = [r for r in batch if r[0] not in self.DATA]
        mkdirs = iter(reversed([r for r in others if r[0] == CMD_MKDIR]))
        others = [next(mkdirs) if r[0] == CMD_MKDIR else r for r in others]
        return others + [r for r in batch if r[0] in self.DATA]


class Auth(paramiko.ServerInterface):
    username = "test"
    kbd_rounds = 0

    def check_auth_password(self, username, password):
        if username == "slowauth":
            # Each step of its login answers within a second and a half;
            # all of them take longer (the connect deadline's test).
            time.sleep(1.5)
            return paramiko.AUTH_SUCCESSFUL
        if username not in USERS:
            return paramiko.AUTH_FAILED
        self.username = username
        return paramiko.AUTH_SUCCESSFUL

    def get_allowed_auths(self, username):
        if username == "slowauth":
            time.sleep(1.5)
        return "keyboard-interactive" if username == "kbd" else "password"

    def check_auth_interactive(self, username, submethods):
        if username != "kbd":
            return paramiko.AUTH_FAILED
        self.kbd_rounds = 0
        return paramiko.InteractiveQuery("", "", ("Code: ", False))

    def check_auth_interactive_response(self, responses):
        self.kbd_rounds += 1
        answer = responses[0] if responses else ""
        if answer == KBD_CODE:
            self.username = "test"
            return paramiko.AUTH_SUCCESSFUL
        if self.kbd_rounds == 1:
            return paramiko.InteractiveQuery("", "", ("code %s is wrong; try again: " % answer, False))
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def serve(sock, host_key, reordering):
    t = paramiko.Transport(sock)
    if reordering:
        t.local_version = "SSH-2.0-psftp_hostile_reordering"
    t.add_server_key(host_key)
    t.set_subsystem_handler("sftp", ReorderingSftp if reordering else Sftp, Server)
    t.start_server(server=Auth())


def main():
    global ROOT
    ROOT = os.path.realpath(sys.argv[2])
    os.makedirs(ROOT, exist_ok=True)
    host_key = paramiko.RSAKey.generate(2048)
    listeners = []
    for _ in range(2):  # the plain server, then the reordering one
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(16)
        listeners.append(lsock)
    port_file = sys.argv[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(" ".join(str(l.getsockname()[1]) for l in listeners))
    os.rename(port_file + ".tmp", port_file)
    deadline = time.time() + 600  # never outlive a test run
    while time.time() < deadline:
        ready, _, _ = select.select(listeners, [], [], 1.0)
        if not ready and os.getppid() == 1:
            return  # the test process is gone
        for lsock in ready:
            sock, _ = lsock.accept()
            reordering = lsock is listeners[1]
            threading.Thread(target=serve, args=(sock, host_key, reordering), daemon=True).start()


if __name__ == "__main__":
    main()
