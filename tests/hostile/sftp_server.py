#!/usr/bin/env python3
"""A scripted, hostile SFTP server for psftp's tests (loopback only).

It serves a fixed virtual tree whose listings lie and attack:
  /evil   names with '..', '/', NUL, control characters, '.', '..', '',
          a duplicate, next to one honest file ok.txt
  /loop   a symlink to itself and one to '/', next to data.txt
  /liar   files whose listed size is wrong (too small, too large)
Any password is accepted for user "test". Usage:
  sftp_server.py PORT_FILE   listen on a free 127.0.0.1 port, write it to PORT_FILE
"""
import os
import socket
import stat
import sys
import threading
import time

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_NO_SUCH_FILE, SFTP_OK, SFTP_PERMISSION_DENIED

NOW = int(time.time())
BIG = bytes((i * 7) & 0xFF for i in range(3 * 1024 * 1024))


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

# path -> (attrs as listed, content or link target or None)
FILES = {
    "/evil/ok.txt": b"honest\n",
    "/loop/data.txt": b"loop data\n",
    "/liar/small.bin": BIG,  # listed as 10 bytes
    "/liar/huge.bin": b"five!",  # listed as 10**12 bytes
}
LISTINGS = {
    "/": [attrs(DIR, 0, n) for n in ("evil", "loop", "liar")],
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
}
LINKS = {"/loop/self": "/loop", "/loop/root": "/"}
# The same bytes are served for the evil names, so a client that wrote them
# anywhere would be caught by the test.
for entry in LISTINGS["/evil"]:
    if stat.S_ISREG(entry.st_mode) and entry.filename not in ("ok.txt",):
        FILES["/evil/" + entry.filename] = b"pwned\n"
FILES["/evil/dup"] = b"dup one"


def norm(path):
    path = path.decode() if isinstance(path, bytes) else path
    if not path.startswith("/"):
        path = "/" + path
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


def lookup(path, follow):
    p = norm(path)
    if follow:
        p = resolve(p)
    if p in LISTINGS:
        return attrs(DIR, 0, p.rsplit("/", 1)[-1])
    if p in LINKS:
        return attrs(LINK, len(LINKS[p]), p.rsplit("/", 1)[-1])
    if p in FILES:
        # stat tells the truth about sizes; listings may not
        return attrs(FILE, len(FILES[p]), p.rsplit("/", 1)[-1])
    return None


class Handle(SFTPHandle):
    def __init__(self, data):
        super().__init__()
        self.data = data

    def read(self, offset, length):
        return self.data[offset:offset + length]

    def stat(self):
        return attrs(FILE, len(self.data))

    def write(self, offset, data):
        return SFTP_PERMISSION_DENIED


class Server(SFTPServerInterface):
    def list_folder(self, path):
        p = resolve(norm(path))
        if p not in LISTINGS:
            return SFTP_NO_SUCH_FILE
        return list(LISTINGS[p])

    def stat(self, path):
        return lookup(path, True) or SFTP_NO_SUCH_FILE

    def lstat(self, path):
        return lookup(path, False) or SFTP_NO_SUCH_FILE

    def open(self, path, flags, attr):
        p = resolve(norm(path))
        if p not in FILES:
            return SFTP_NO_SUCH_FILE
        if flags & (os.O_WRONLY | os.O_RDWR):
            return SFTP_PERMISSION_DENIED
        return Handle(FILES[p])

    def canonicalize(self, path):
        return resolve(norm(path))

    def readlink(self, path):
        return LINKS.get(norm(path), SFTP_NO_SUCH_FILE)


class Auth(paramiko.ServerInterface):
    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL if username == "test" else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "password"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def serve(sock, host_key):
    t = paramiko.Transport(sock)
    t.add_server_key(host_key)
    t.set_subsystem_handler("sftp", SFTPServer, Server)
    t.start_server(server=Auth())


def main():
    host_key = paramiko.RSAKey.generate(2048)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    port_file = sys.argv[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(lsock.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    lsock.settimeout(1.0)
    deadline = time.time() + 600  # never outlive a test run
    while time.time() < deadline:
        try:
            sock, _ = lsock.accept()
        except socket.timeout:
            if os.getppid() == 1:
                return  # the test process is gone
            continue
        threading.Thread(target=serve, args=(sock, host_key), daemon=True).start()


if __name__ == "__main__":
    main()
