"""The file object of ``Connection.open()``, with paramiko SFTPFile's
methods."""

from __future__ import annotations

import ctypes
import posixpath
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Tuple, Union

from . import _ffi
from .attributes import SFTPAttributes
from .exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from .connection import Connection

_PYTHON_MODE_CHARS = set("rwax+b")


def c_mode(mode: str) -> bytes:
    """paramiko's mode letters as the C API takes them ('U' and 't' are
    accepted and have no effect: files are binary underneath)."""
    if not isinstance(mode, str):
        raise TypeError("mode must be a str such as 'r' or 'wb'")
    return "".join(ch for ch in mode if ch in _PYTHON_MODE_CHARS).encode()


class SFTPFile:
    """A remote file open for reading and/or writing (paramiko's SFTPFile).

    ``read()`` returns bytes. As in paramiko, a file opened without 'b' in
    its mode gives lines (``readline``, ``readlines``, iteration) as str;
    with 'b', as bytes. ``write`` takes bytes or str (UTF-8).
    """

    def __init__(self, conn: "Connection", handle: int, path: str, mode: str) -> None:
        self._conn = conn
        self._h: Optional[int] = handle
        self._path = path
        self.mode = mode
        self._binary = "b" in mode
        self._pipelined = False

    # -- plumbing ---------------------------------------------------------

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError("I/O operation on closed file")
        return self._h

    def _check(self, rc: int) -> None:
        if rc != 0:
            self._conn._raise_last(rc, self._path)

    def _line(self, raw: bytes) -> Union[str, bytes]:
        return raw if self._binary else raw.decode("utf-8")

    # -- reading ----------------------------------------------------------

    def read(self, size: Optional[int] = None) -> bytes:
        """Up to ``size`` bytes (everything to the end of the file when
        ``size`` is None or negative); b"" at the end."""
        if size is not None and size == 0:
            return b""
        limit = 0 if size is None or size < 0 else size
        data = ctypes.c_void_p()
        n = ctypes.c_size_t()
        self._check(
            _ffi.lib.psftp_file_read_alloc(
                self._handle(), limit, ctypes.byref(data), ctypes.byref(n)
            )
        )
        return _ffi.take_bytes(data.value, n.value)

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        if view.nbytes == 0:
            return 0
        arr = (ctypes.c_char * view.nbytes).from_buffer(view)
        n = ctypes.c_size_t()
        self._check(
            _ffi.lib.psftp_file_read(self._handle(), arr, view.nbytes, ctypes.byref(n))
        )
        return n.value

    def readline(self, size: Optional[int] = None) -> Any:
        """The next line with its newline ('' or b'' at the end)."""
        limit = 0 if size is None or size < 0 else size
        if size == 0:
            return self._line(b"")
        data = ctypes.c_void_p()
        n = ctypes.c_size_t()
        self._check(
            _ffi.lib.psftp_file_readline_alloc(
                self._handle(), limit, ctypes.byref(data), ctypes.byref(n)
            )
        )
        return self._line(_ffi.take_bytes(data.value, n.value))

    def readlines(self, sizehint: Optional[int] = None) -> List[Any]:
        lines: List[Any] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if sizehint is not None and 0 < sizehint <= total:
                return lines

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def xreadlines(self) -> "SFTPFile":
        return self

    # -- writing ----------------------------------------------------------

    def write(self, data: Union[bytes, bytearray, memoryview, str]) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        ptr: Any
        if isinstance(data, bytes):
            ptr, n = data, len(data)
        else:
            view = memoryview(data).cast("B")
            n = view.nbytes
            ptr = bytes(view) if view.readonly else (ctypes.c_char * n).from_buffer(view)
        if n:
            self._check(_ffi.lib.psftp_file_write(self._handle(), ptr, n))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._check(_ffi.lib.psftp_file_flush(self._handle()))

    # -- position ---------------------------------------------------------

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = ctypes.c_uint64()
        self._check(
            _ffi.lib.psftp_file_seek(self._handle(), offset, whence, ctypes.byref(pos))
        )
        return pos.value

    def tell(self) -> int:
        pos = ctypes.c_uint64()
        self._check(_ffi.lib.psftp_file_tell(self._handle(), ctypes.byref(pos)))
        return pos.value

    # -- attributes -------------------------------------------------------

    def stat(self) -> SFTPAttributes:
        a = _ffi.sized(_ffi.Attrs)
        self._check(_ffi.lib.psftp_file_stat(self._handle(), ctypes.byref(a)))
        return SFTPAttributes._from_c(a)

    def chmod(self, mode: int) -> None:
        """paramiko's SFTPFile.chmod: ``mode`` in POSIX bits (0o644)."""
        self.flush()
        self._conn._chmod_posix(self._path, mode)

    def chown(self, uid: int, gid: int) -> None:
        self.flush()
        self._conn.chown(self._path, uid, gid)

    def utime(self, times: Optional[Tuple[float, float]]) -> None:
        self.flush()
        self._conn.utime(self._path, times)

    def truncate(self, size: int) -> None:
        self._check(_ffi.lib.psftp_file_truncate(self._handle(), size))

    def fsync(self) -> None:
        self._check(_ffi.lib.psftp_file_fsync(self._handle()))

    # -- paramiko's knobs, accepted ---------------------------------------

    def settimeout(self, timeout: Optional[float]) -> None:
        """The connection's timeout (paramiko sets the channel's, which the
        connection shares too)."""
        self._conn.timeout = timeout

    def gettimeout(self) -> Optional[float]:
        return self._conn.timeout

    def setblocking(self, blocking: Any) -> None:
        self.settimeout(None if blocking else 0.0)

    def prefetch(self, file_size: Optional[int] = None, max_concurrent_requests: Any = None) -> None:
        """Accepted for paramiko code; psftp pipelines large reads anyway."""

    def set_pipelined(self, pipelined: bool = True) -> None:
        """Accepted for paramiko code; psftp pipelines large writes anyway."""
        self._pipelined = pipelined

    def check(self, hash_algorithm: str, offset: int = 0, length: int = 0, block_size: int = 0) -> bytes:
        raise InvalidArgumentError("check-file (server-side hashing) is not supported")

    # -- io protocol ------------------------------------------------------

    def readable(self) -> bool:
        return "r" in self.mode or "+" in self.mode

    def writable(self) -> bool:
        return any(c in self.mode for c in "wax+")

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._h is None

    @property
    def name(self) -> str:
        return self._path

    def close(self) -> None:
        h, self._h = self._h, None
        if h is not None:
            self._check(_ffi.lib.psftp_file_close(h))

    def __enter__(self) -> "SFTPFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h is not None:
            _ffi.lib.psftp_file_close(h)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<psftp.SFTPFile {posixpath.basename(self._path)!r} mode {self.mode!r} {state}>"
