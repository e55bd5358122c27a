"""paramiko's SFTPAttributes and PKey-like host keys, without paramiko."""

from __future__ import annotations

import base64
import hashlib
import stat
import time
from typing import Any, Dict, Optional

from . import _ffi


class SFTPAttributes:
    """File attributes as paramiko's SFTPAttributes: ``st_size``,
    ``st_uid``, ``st_gid``, ``st_mode``, ``st_atime``, ``st_mtime`` (None
    when the server did not send them), and for listings ``filename`` and
    ``longname``."""

    def __init__(self) -> None:
        self.st_size: Optional[int] = None
        self.st_uid: Optional[int] = None
        self.st_gid: Optional[int] = None
        self.st_mode: Optional[int] = None
        self.st_atime: Optional[int] = None
        self.st_mtime: Optional[int] = None
        self.filename: str = ""
        self.longname: str = ""
        self.attr: Dict[str, Any] = {}

    @classmethod
    def _from_c(
        cls, a: "_ffi.Attrs", filename: str = "", longname: str = ""
    ) -> "SFTPAttributes":
        v = _ffi.attr_values(a)
        obj = cls()
        obj.st_size, obj.st_uid, obj.st_gid = v.size, v.uid, v.gid
        obj.st_mode, obj.st_atime, obj.st_mtime = v.mode, v.atime, v.mtime
        obj.filename, obj.longname = filename, longname
        return obj

    def __repr__(self) -> str:
        return f"<SFTPAttributes: {self._debug_str()}>"

    def _debug_str(self) -> str:
        out = "[ "
        if self.st_size is not None:
            out += f"size={self.st_size} "
        if self.st_uid is not None and self.st_gid is not None:
            out += f"uid={self.st_uid} gid={self.st_gid} "
        if self.st_mode is not None:
            out += f"mode={oct(self.st_mode)} "
        if self.st_atime is not None and self.st_mtime is not None:
            out += f"atime={self.st_atime} mtime={self.st_mtime} "
        return out + "]"

    def __str__(self) -> str:
        """An ``ls -l`` line, as paramiko prints it."""
        ks = stat.filemode(self.st_mode) if self.st_mode is not None else "?---------"
        if self.st_mtime is None:
            datestr = "(unknown date)"
        else:
            t = time.localtime(self.st_mtime)
            if abs(time.time() - self.st_mtime) > 15_552_000:
                datestr = time.strftime("%d %b %Y", t)
            else:
                datestr = time.strftime("%d %b %H:%M", t)
        uid = self.st_uid if self.st_uid is not None else 0
        gid = self.st_gid if self.st_gid is not None else 0
        size = self.st_size if self.st_size is not None else 0
        return f"{ks}   1 {uid:<8d} {gid:<8d} {size:>8d} {datestr:<12} {self.filename}"

    def asbytes(self) -> bytes:
        return str(self).encode()


class HostKey:
    """A host key, shaped like paramiko's PKey: ``get_name()``,
    ``get_base64()``, ``asbytes()``, ``get_fingerprint()`` (MD5 bytes) and
    ``fingerprint`` (OpenSSH's "SHA256:..." text)."""

    def __init__(self, key_type: str, base64_blob: str, fingerprint: str = "") -> None:
        self._type = key_type
        self._b64 = base64_blob
        self.fingerprint = fingerprint or (
            "SHA256:"
            + base64.b64encode(hashlib.sha256(self.asbytes()).digest()).decode().rstrip("=")
        )

    @classmethod
    def _from_value(cls, v: "_ffi.HostKeyValue") -> "HostKey":
        return cls(v.key_type, v.base64, v.fingerprint)

    def get_name(self) -> str:
        return self._type

    def get_base64(self) -> str:
        return self._b64

    def asbytes(self) -> bytes:
        return base64.b64decode(self._b64)

    def get_fingerprint(self) -> bytes:
        return hashlib.md5(self.asbytes()).digest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HostKey) and other.asbytes() == self.asbytes()

    def __hash__(self) -> int:
        return hash(self.asbytes())

    def __repr__(self) -> str:
        return f"<HostKey {self._type} {self.fingerprint}>"


class SecurityOptions:
    """pysftp's security_options: ``ciphers``, ``digests``, ``key_types``,
    ``kex`` and ``compression`` as tuples, best first."""

    def __init__(self, ciphers: Any, digests: Any, key_types: Any, kex: Any, compression: Any):
        self.ciphers = tuple(ciphers)
        self.digests = tuple(digests)
        self.key_types = tuple(key_types)
        self.kex = tuple(kex)
        self.compression = tuple(compression)

    def __repr__(self) -> str:
        return f"<SecurityOptions ciphers={self.ciphers}>"
