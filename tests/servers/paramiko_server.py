#!/usr/bin/env python3
"""paramiko's SFTP server serving one directory, for psftp's server matrix.

    paramiko_server.py ROOT HOST_KEY AUTHORIZED_KEYS USER PORT_FILE

Listens on a free 127.0.0.1 port and writes it to PORT_FILE. USER logs in
with the password in $PSFTP_SERVER_PASSWORD (kept off the command line) or
with a key of AUTHORIZED_KEYS. paramiko ships only the protocol
(paramiko.SFTPServer) and stubs; RootedSFTP below is the file system side,
backed by ROOT as "/", written the way paramiko's documentation describes.
paramiko's own behaviour is left as it is: no limits@openssh.com, a VERSION
that advertises no posix-rename (it answers one all the same), names that
must be UTF-8.
"""
import hmac
import os
import socket
import sys
import threading

import paramiko
from paramiko import (AUTH_FAILED, AUTH_SUCCESSFUL, OPEN_SUCCEEDED, SFTPAttributes,
                      SFTPHandle, SFTPServer, SFTPServerInterface)
from paramiko.sftp import SFTP_OK


def errno_status(e):
    return SFTPServer.convert_errno(e.errno)


class RootedHandle(SFTPHandle):
    """An open file: paramiko's SFTPHandle reads and writes `readfile` and
    `writefile`; stat and setstat of the handle are ours."""

    def __init__(self, fileobj, flags):
        super().__init__(flags)
        self.readfile = self.writefile = fileobj

    def stat(self):
        try:
            return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as e:
            return errno_status(e)

    def chattr(self, attr):
        try:
            self.readfile.flush()
            apply_attrs(self.readfile.fileno(), attr)
        except OSError as e:
            return errno_status(e)
        return SFTP_OK


def apply_attrs(target, attr):
    """SETSTAT / FSETSTAT on a path or a descriptor. (paramiko's helper
    SFTPServer.set_file_attr opens the file with "w+" to truncate it, which
    empties it first: not used.)"""
    if attr._flags & attr.FLAG_SIZE:
        os.truncate(target, attr.st_size)
    if attr._flags & attr.FLAG_PERMISSIONS:
        os.chmod(target, attr.st_mode & 0o7777)
    if attr._flags & attr.FLAG_UIDGID:
        os.chown(target, attr.st_uid, attr.st_gid)
    if attr._flags & attr.FLAG_AMTIME:
        os.utime(target, (attr.st_atime, attr.st_mtime))


class RootedSFTP(SFTPServerInterface):
    """The directory `root` as the whole remote file system."""

    def __init__(self, server, root):
        super().__init__(server)
        self.root = root

    def local(self, path):
        # canonicalize() gives an absolute path without "..": it cannot
        # climb above root.
        return os.path.join(self.root, self.canonicalize(path).lstrip("/"))

    def canonicalize(self, path):
        return os.path.normpath("/" + path).replace("//", "/")

    def list_folder(self, path):
        try:
            local = self.local(path)
            out = []
            for name in os.listdir(local):
                a = SFTPAttributes.from_stat(os.lstat(os.path.join(local, name)))
                a.filename = name
                out.append(a)
            return out
        except OSError as e:
            return errno_status(e)

    def stat(self, path):
        try:
            return SFTPAttributes.from_stat(os.stat(self.local(path)))
        except OSError as e:
            return errno_status(e)

    def lstat(self, path):
        try:
            return SFTPAttributes.from_stat(os.lstat(self.local(path)))
        except OSError as e:
            return errno_status(e)

    def open(self, path, flags, attr):
        local = self.local(path)
        mode = 0o666
        if attr is not None and attr._flags & attr.FLAG_PERMISSIONS:
            mode = attr.st_mode & 0o7777
        try:
            fd = os.open(local, flags | getattr(os, "O_BINARY", 0), mode)
        except OSError as e:
            return errno_status(e)
        if flags & os.O_CREAT and attr is not None:
            attr._flags &= ~attr.FLAG_PERMISSIONS  # applied by open()
            try:
                apply_attrs(fd, attr)
            except OSError as e:
                os.close(fd)
                return errno_status(e)
        if flags & os.O_WRONLY:
            fmode = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            fmode = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            fmode = "rb"
        try:
            f = os.fdopen(fd, fmode)
        except OSError as e:
            os.close(fd)
            return errno_status(e)
        return RootedHandle(f, flags)

    def remove(self, path):
        try:
            os.remove(self.local(path))
        except OSError as e:
            return errno_status(e)
        return SFTP_OK

    def rename(self, oldpath, newpath):
        # SFTP v3: never replace an existing destination.
        new = self.local(newpath)
        if os.path.lexists(new):
            return paramiko.sftp.SFTP_FAILURE
        try:
            os.rename(self.local(oldpath), new)
        except OSError as e:
            return errno_status(e)
        return SFTP_OK

    def posix_rename(self, oldpath, newpath):
        try:
            os.rename(self.local(oldpath), self.local(newpath))
        except OSError as e:
            return errno_status(e)
        return SFTP_OK

    def mkdir(self, path, attr):
        mode = 0o777
        if attr is not None and attr._flags & attr.FLAG_PERMISSIONS:
            mode = attr.st_mode & 0o7777
            attr._flags &= ~attr.FLAG_PERMISSIONS
        try:
            os.mkdir(self.local(path), mode)
            if attr is not None:
                apply_attrs(self.local(path), attr)
        except OSError as e:
            return errno_status(e)
        return SFTP_OK

    def rmdir(self, path):
        try:
            os.rmdir(self.local(path))
        except OSError as e:
            return errno_status(e)
        return SFTP_OK

    def chattr(self, path, attr):
        try:
            apply_attrs(self.local(path), attr)
        except OSError as e:
            return errno_status(e)
        return SFTP_OK

    def readlink(self, path):
        try:
            return os.readlink(self.local(path))
        except OSError as e:
            return errno_status(e)

    def symlink(self, target_path, path):
        # The target is stored as sent (relative or absolute), as sshd does.
        try:
            os.symlink(target_path, self.local(path))
        except OSError as e:
            return errno_status(e)
        return SFTP_OK


class Auth(paramiko.ServerInterface):
    def __init__(self, user, password, keys):
        self.user, self.password, self.keys = user, password, keys

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_auth_password(self, username, password):
        ok = username == self.user and hmac.compare_digest(password.encode(),
                                                           self.password.encode())
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_auth_publickey(self, username, key):
        ok = username == self.user and (key.get_name(), key.get_base64()) in self.keys
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def read_authorized_keys(path):
    keys = set()
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and not line.startswith("#"):
                keys.add((parts[0], parts[1]))
    return keys


def serve_client(sock, host_key, auth, root):
    t = paramiko.Transport(sock)
    t.add_server_key(host_key)
    t.set_subsystem_handler("sftp", SFTPServer, RootedSFTP, root)
    try:
        t.start_server(server=auth)
    except (paramiko.SSHException, EOFError, OSError):
        t.close()
        return
    t.join()


def main():
    root, host_key_file, authorized_keys, user, port_file = sys.argv[1:6]
    password = os.environ.get("PSFTP_SERVER_PASSWORD", "")
    if not password:
        sys.exit("paramiko_server.py: $PSFTP_SERVER_PASSWORD is not set")
    host_key = paramiko.Ed25519Key.from_private_key_file(host_key_file)
    auth = Auth(user, password, read_authorized_keys(authorized_keys))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    port = ls.getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(port_file + ".tmp", port_file)
    print(f"paramiko {paramiko.__version__} serving {root} on 127.0.0.1:{port}", flush=True)
    while True:
        sock, _ = ls.accept()
        threading.Thread(target=serve_client, args=(sock, host_key, auth, root),
                         daemon=True).start()


if __name__ == "__main__":
    main()
