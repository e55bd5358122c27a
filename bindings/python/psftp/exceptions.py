"""pysftp's exceptions, paramiko-compatible SSH exceptions, and the OSError
subclasses remote failures raise (FileNotFoundError for a missing remote
file, as paramiko does).

Every exception psftp raises is also a ``psftp.Error``, with ``code`` (the
psftp code's name, e.g. ``"NOT_FOUND"``), ``sftp_status`` (the server's
SSH_FX_* status, or None) and ``failures`` (tree operations).
"""

from __future__ import annotations

import errno as _errno
from typing import Dict, List, NamedTuple, Optional, Type

from . import _ffi


class Failure(NamedTuple):
    """One entry a tree operation could not copy."""

    path: str
    code: str
    message: str


class Error(Exception):
    """Base of everything psftp raises."""

    code: str = ""
    sftp_status: Optional[int] = None
    failures: List[Failure] = []

    @property
    def message(self) -> str:
        """pysftp's exceptions carry ``.message``; so do psftp's."""
        return str(self)


class ConnectionException(Error):
    """pysftp: the host could not be reached (args: host, port)."""

    def __init__(self, host: str, port: int, detail: str = "") -> None:
        Exception.__init__(self, host, port)
        self.host = host
        self.port = port
        self.detail = detail
        self.errno: Optional[int] = None

    @property
    def message(self) -> str:
        text = f"Could not connect to host:port.  {self.host}:{self.port}"
        return f"{text} ({self.detail})" if self.detail else text

    def __str__(self) -> str:
        return self.message


class CredentialException(Error):
    """pysftp: no usable credentials."""


class HostKeysException(Error):
    """pysftp: a known_hosts file holds no host keys."""


class SSHException(Error):
    """paramiko.SSHException's place: an SSH-level failure."""


class AuthenticationException(SSHException):
    """paramiko: authentication failed."""


class PasswordRequiredException(AuthenticationException):
    """paramiko: the private key is encrypted and no passphrase was given."""


class BadHostKeyException(SSHException):
    """paramiko: the server's host key differs from the known one."""


class UnknownHostKeyError(SSHException):
    """The server's host key is not in known_hosts (pysftp raises
    SSHException("No hostkey for host ... found."))."""


class ConnectionLostError(SSHException, ConnectionError):
    """The connection dropped, was closed, or was interrupted."""


class SSHTimeoutError(SSHException, TimeoutError):
    """A blocking read or write waited longer than ``timeout``
    (socket.timeout, as pysftp documents)."""


class TransferCancelled(Error):
    """A transfer was stopped: by Connection.interrupt() (code "CANCELLED")
    or by its own callback (code "USER")."""


class InvalidArgumentError(Error, ValueError):
    """An argument psftp cannot use; the message names it."""


class InternalError(Error, RuntimeError):
    """A bug inside psftp (a caught panic)."""


class RemoteOSError(Error, OSError):
    """An SFTP failure without a more specific class (paramiko: IOError)."""


class RemoteFileNotFoundError(RemoteOSError, FileNotFoundError):
    pass


class RemotePermissionError(RemoteOSError, PermissionError):
    pass


class RemoteFileExistsError(RemoteOSError, FileExistsError):
    pass


class RemoteNotADirectoryError(RemoteOSError, NotADirectoryError):
    pass


class UnsafePathError(RemoteOSError):
    """A name from the server would lead outside the destination."""


class UnsupportedError(RemoteOSError):
    """The server lacks the SFTP extension the call needs."""


class IntegrityError(Error):
    """A verified transfer's copy differs from its source (``verify``);
    the destination keeps its old content."""


class LocalOSError(Error, OSError):
    """A local file-system failure (with the OS errno)."""


# Local failures: the errno's own OSError subclass, also a psftp.Error.
_LOCAL_CLASSES = {
    _errno.ENOENT: FileNotFoundError,
    _errno.EACCES: PermissionError,
    _errno.EPERM: PermissionError,
    _errno.EEXIST: FileExistsError,
    _errno.ENOTDIR: NotADirectoryError,
    _errno.EISDIR: IsADirectoryError,
}
_local_cache: Dict[Type[OSError], Type[LocalOSError]] = {}


def _local_class(err: int) -> Type[LocalOSError]:
    base = _LOCAL_CLASSES.get(err)
    if base is None:
        return LocalOSError
    cls = _local_cache.get(base)
    if cls is None:
        cls = type("Local" + base.__name__, (LocalOSError, base), {})
        _local_cache[base] = cls
    return cls


# Every code of the library's table (_ffi.CODES) has its class here or in
# from_info(); the test suite checks that none falls through to Error.

# Remote failures by psftp code name: (class, errno as paramiko gives it).
_REMOTE = {
    "NOT_FOUND": (RemoteFileNotFoundError, _errno.ENOENT),
    "PERMISSION": (RemotePermissionError, _errno.EACCES),
    "EXISTS": (RemoteFileExistsError, _errno.EEXIST),
    "NOT_A_DIRECTORY": (RemoteNotADirectoryError, _errno.ENOTDIR),
    "DIR_NOT_EMPTY": (RemoteOSError, _errno.ENOTEMPTY),
    "UNSAFE_PATH": (UnsafePathError, None),
    "UNSUPPORTED": (UnsupportedError, _errno.EOPNOTSUPP),
    "SFTP": (RemoteOSError, None),
}

_OTHER = {
    "HOSTKEY_UNKNOWN": UnknownHostKeyError,
    "HOSTKEY_MISMATCH": BadHostKeyException,
    "AUTH": AuthenticationException,
    "SSH": SSHException,
    "CONNECTION_LOST": ConnectionLostError,
    "CANCELLED": TransferCancelled,
    "USER": TransferCancelled,
    "INVALID_ARG": InvalidArgumentError,
    "PANIC": InternalError,
    "INTEGRITY": IntegrityError,
}


#: The codes from_info() turns into exceptions of their own.
HANDLED_CODES = frozenset(_REMOTE) | frozenset(_OTHER) | {"LOCAL_IO", "CONNECT", "TIMEOUT"}


def from_info(
    info: "_ffi.ErrorInfo",
    filename: Optional[str] = None,
    host: Optional[str] = None,
    port: int = 22,
) -> Error:
    """The Python exception for a failed C call."""
    exc: Error
    name, msg = info.name, info.message
    if name == "LOCAL_IO":
        err = info.errno or _errno.EIO
        exc = _local_class(err)(err, msg, filename) if filename else _local_class(err)(err, msg)
    elif name in _REMOTE:
        cls, err_no = _REMOTE[name]
        if err_no is None:
            exc = cls(msg)
        elif filename is not None:
            exc = cls(err_no, msg, filename)
        else:
            exc = cls(err_no, msg)
    elif name == "CONNECT":
        ce = ConnectionException(host or "", port, msg)
        ce.errno = info.errno or None
        exc = ce
    elif name == "TIMEOUT":
        exc = SSHTimeoutError(msg)
    elif name == "AUTH" and "passphrase" in msg and "encrypted" in msg:
        exc = PasswordRequiredException(msg)
    else:
        exc = _OTHER.get(name, Error)(msg)
    exc.code = name
    exc.sftp_status = info.sftp_status if info.sftp_status >= 0 else None
    return exc
