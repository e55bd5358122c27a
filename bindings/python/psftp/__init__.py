"""psftp: pysftp 0.2.9's API, maintained and fast, over libpsftp (Rust).

    import psftp as pysftp

    with pysftp.Connection('hostname', username='me', password='secret') as sftp:
        with sftp.cd('public'):
            sftp.put('/my/local/filename')
            sftp.get('remote_file')
"""

from __future__ import annotations

from . import _ffi
from .attributes import HostKey, SecurityOptions, SFTPAttributes
from .cnopts import CnOpts, HostKeys, known_hosts
from .connection import Connection, KeyboardInteractive, KeyboardInteractiveRequest, SFTPClient, TreeProgress
from .exceptions import (
    AuthenticationException,
    BadHostKeyException,
    ConnectionException,
    ConnectionLostError,
    CredentialException,
    Error,
    Failure,
    HostKeysException,
    IntegrityError,
    InternalError,
    InvalidArgumentError,
    LocalOSError,
    PasswordRequiredException,
    RemoteOSError,
    SSHException,
    SSHTimeoutError,
    TransferCancelled,
    UnknownHostKeyError,
    UnsafePathError,
    UnsupportedError,
)
from .file import SFTPFile
from .helpers import cd, path_advance, path_retreat, reparent, st_mode_to_int, walktree

__version__ = "0.2.9.post1"
#: The version of libpsftp the package runs on.
library_version = _ffi.version()

__all__ = [
    "AuthenticationException",
    "BadHostKeyException",
    "CnOpts",
    "Connection",
    "ConnectionException",
    "ConnectionLostError",
    "CredentialException",
    "Error",
    "Failure",
    "HostKey",
    "HostKeys",
    "HostKeysException",
    "InternalError",
    "InvalidArgumentError",
    "KeyboardInteractive",
    "KeyboardInteractiveRequest",
    "LocalOSError",
    "PasswordRequiredException",
    "RemoteOSError",
    "SFTPAttributes",
    "SFTPClient",
    "SFTPFile",
    "SSHException",
    "SSHTimeoutError",
    "SecurityOptions",
    "TransferCancelled",
    "TreeProgress",
    "UnknownHostKeyError",
    "UnsafePathError",
    "UnsupportedError",
    "IntegrityError",
    "cd",
    "known_hosts",
    "path_advance",
    "path_retreat",
    "reparent",
    "st_mode_to_int",
    "walktree",
]
