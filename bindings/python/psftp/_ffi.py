"""The one module that knows libpsftp's C ABI (include/psftp.h).

Everything else in the package speaks Python: struct layouts, function
signatures, result codes, the form the C API takes modes in and how paths
are encoded are defined here and nowhere else, so an ABI change is adapted
in this file.

ctypes (not cffi): see the package README. Functions are loaded from a
``ctypes.CDLL``, which releases the GIL for the duration of every call;
callbacks take it back while Python code runs.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Type, TypeVar, Union

# ---------------------------------------------------------------------------
# Loading

_LIB_NAME = "libpsftp.dylib" if sys.platform == "darwin" else "libpsftp.so"


def _library_path() -> str:
    override = os.environ.get("PSFTP_LIB")
    if override:
        return override
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIB_NAME)


def _load() -> ctypes.CDLL:
    path = _library_path()
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            f"psftp: cannot load its library {path}: {e}. Reinstall the package "
            f"(pip install builds it with cargo), or set PSFTP_LIB to a libpsftp.so."
        ) from e


lib = _load()

# ---------------------------------------------------------------------------
# Structs (include/psftp.h)
#
# Every value struct begins with `size_t struct_size`, and later versions of
# the library only add fields at the end. A struct handed to psftp to fill
# (stat, statvfs, put's attributes) carries its own size (`sized()`); a
# struct psftp hands out says in struct_size how much it filled.

ATTR_SIZE = 0x1
ATTR_UIDGID = 0x2
ATTR_PERMISSIONS = 0x4
ATTR_ACMODTIME = 0x8


class Attrs(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("flags", c_uint32),
        ("size", c_uint64),
        ("uid", c_uint32),
        ("gid", c_uint32),
        ("mode", c_uint32),
        ("atime", c_int64),
        ("mtime", c_int64),
    ]


class Dirent(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("filename", c_void_p),
        ("longname", c_void_p),
        ("attrs", Attrs),
    ]


class DirentList(Structure):
    # Pointers to the entries (their size may grow), not entries.
    _fields_ = [("entries", POINTER(POINTER(Dirent))), ("count", c_size_t)]


class StrArray(Structure):
    _fields_ = [("strings", POINTER(c_void_p)), ("count", c_size_t)]


class HostKeyStruct(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("key_type", c_char_p),
        ("base64", c_char_p),
        ("fingerprint", c_char_p),
    ]


class SecurityInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("ciphers", StrArray),
        ("digests", StrArray),
        ("key_types", StrArray),
        ("kex", StrArray),
        ("compression", StrArray),
    ]


class StatVfsInfo(Structure):
    _fields_ = [("struct_size", c_size_t)] + [
        (name, c_uint64)
        for name in (
            "bsize",
            "frsize",
            "blocks",
            "bfree",
            "bavail",
            "files",
            "ffree",
            "favail",
            "fsid",
            "flag",
            "namemax",
        )
    ]


class FailureStruct(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("path", c_char_p),
        ("code", c_int),
        ("message", c_char_p),
    ]


class FailureList(Structure):
    # Pointers to the entries, as DirentList.
    _fields_ = [("items", POINTER(POINTER(FailureStruct))), ("count", c_size_t)]


class TreeProgressStruct(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("files_done", c_uint64),
        ("files_total", c_uint64),
        ("bytes_done", c_uint64),
        ("bytes_total", c_uint64),
        ("current_path", c_char_p),
    ]


class KbdPromptStruct(Structure):
    _fields_ = [("struct_size", c_size_t), ("text", c_char_p), ("echo", c_bool)]


class KbdRequestStruct(Structure):
    # `prompts` points to pointers to the prompts, as the lists above.
    _fields_ = [
        ("struct_size", c_size_t),
        ("host", c_char_p),
        ("port", c_int),
        ("user", c_char_p),
        ("name", c_char_p),
        ("instruction", c_char_p),
        ("num_prompts", c_size_t),
        ("prompts", POINTER(POINTER(KbdPromptStruct))),
    ]


_Sized = TypeVar("_Sized", Attrs, StatVfsInfo)


def sized(cls: Type[_Sized]) -> _Sized:
    """A struct for psftp to fill, with struct_size set to its size."""
    return cls(struct_size=ctypes.sizeof(cls))


# ---------------------------------------------------------------------------
# Callback types

PROGRESS_CB = CFUNCTYPE(c_int, c_uint64, c_uint64, c_void_p)
WRITE_CB = CFUNCTYPE(c_int, POINTER(c_uint8), c_size_t, c_void_p)
READ_CB = CFUNCTYPE(c_int64, POINTER(c_uint8), c_size_t, c_void_p)
WALK_CB = CFUNCTYPE(c_int, c_char_p, POINTER(Attrs), c_void_p)
TREE_PROGRESS_CB = CFUNCTYPE(c_int, POINTER(TreeProgressStruct), c_void_p)
HOSTKEY_CB = CFUNCTYPE(c_int, c_char_p, c_int, POINTER(HostKeyStruct), c_int, c_void_p)
FINALIZER = CFUNCTYPE(None, c_void_p)
KBDINT_CB = CFUNCTYPE(c_int, POINTER(KbdRequestStruct), c_void_p, c_void_p)

# Answers and statuses of the host-key callback.
HOSTKEY_STATUS_UNKNOWN = 1
HOSTKEY_STATUS_CHANGED = 2
HOSTKEY_REJECT = 0
HOSTKEY_ACCEPT = 1
HOSTKEY_ACCEPT_AND_SAVE = 2

SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
WALK_SKIP = 1
SYMLINKS = {"skip": 0, "follow": 1, "copy": 2, "copy-all": 3, "copy_all": 3}
ON_ERROR = {"stop": 0, "continue": 1}
EXECUTE_STDERR_IF_NO_STDOUT = 1

# ---------------------------------------------------------------------------
# Signatures

_P = c_void_p  # every opaque handle
_OUT_P = POINTER(c_void_p)


def _sig(name: str, restype: Any, *argtypes: Any) -> None:
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_sig("psftp_last_error", c_char_p)
_sig("psftp_last_error_code", c_int)
_sig("psftp_last_error_errno", c_int)
_sig("psftp_last_error_sftp_status", c_int64)
_sig("psftp_last_callback_value", c_int64)
_sig("psftp_strerror", c_char_p, c_int)
_sig("psftp_error_name", c_char_p, c_int)
_sig("psftp_version", c_char_p)
_sig("psftp_string_free", None, c_void_p)
_sig("psftp_bytes_free", None, c_void_p, c_size_t)
_sig("psftp_strarray_free", None, POINTER(StrArray))
_sig("psftp_dirent_list_free", None, POINTER(DirentList))
_sig("psftp_hostkey_free", None, POINTER(HostKeyStruct))
_sig("psftp_security_info_free", None, POINTER(SecurityInfo))
_sig("psftp_failure_list_free", None, POINTER(FailureList))

_sig("psftp_cnopts_new", c_int, c_char_p, _OUT_P)
_sig("psftp_cnopts_free", None, _P)
_sig("psftp_cnopts_load", c_int, _P, c_char_p)
_sig("psftp_cnopts_set_hostkeys", c_int, _P, c_char_p)
_sig("psftp_cnopts_set_accept_new", c_int, _P, c_bool)
_sig("psftp_cnopts_set_log", c_int, _P, c_bool, c_char_p)
_sig("psftp_cnopts_set_compression", c_int, _P, c_bool)
_sig("psftp_cnopts_set_ciphers", c_int, _P, c_char_p)
_sig("psftp_cnopts_set_connect_timeout", c_int, _P, c_double)
_sig("psftp_cnopts_set_timeout", c_int, _P, c_double)
_sig("psftp_cnopts_set_keepalive", c_int, _P, c_int)
_sig("psftp_cnopts_set_keepalive_count_max", c_int, _P, c_int)
_sig("psftp_cnopts_set_stall_timeout", c_int, _P, c_double)
_sig("psftp_cnopts_get_hostkey", c_int, _P, c_char_p, POINTER(POINTER(HostKeyStruct)))
_sig("psftp_cnopts_set_hostkey_callback", c_int, _P, HOSTKEY_CB, c_void_p, FINALIZER)
_sig("psftp_cnopts_set_ssh_config", c_int, _P, c_bool, c_char_p)
_sig("psftp_cnopts_ssh_config_report", c_int, _P, c_char_p, _OUT_P)
_sig("psftp_cnopts_set_proxy_jump", c_int, _P, c_char_p)
_sig("psftp_cnopts_set_proxy_command", c_int, _P, c_char_p)

_sig("psftp_connect_opts_new", c_int, c_char_p, _OUT_P)
_sig("psftp_connect_opts_free", None, _P)
_sig("psftp_connect_opts_set_port", c_int, _P, c_int)
_sig("psftp_connect_opts_set_username", c_int, _P, c_char_p)
_sig("psftp_connect_opts_set_password", c_int, _P, c_char_p)
_sig("psftp_connect_opts_set_private_key", c_int, _P, c_char_p, c_char_p)
_sig("psftp_connect_opts_set_private_key_data", c_int, _P, c_char_p, c_size_t, c_char_p)
_sig("psftp_connect_opts_set_cnopts", c_int, _P, _P)
_sig("psftp_connect_opts_set_default_path", c_int, _P, c_char_p)
_sig("psftp_connect_opts_set_socket", c_int, _P, c_int)
_sig("psftp_connect_opts_set_kbdint_callback", c_int, _P, KBDINT_CB, c_void_p, FINALIZER)
_sig("psftp_kbdint_answer", c_int, c_void_p, c_size_t, c_char_p)
_sig("psftp_connect_with", c_int, _P, _OUT_P, _OUT_P)
_sig("psftp_close", None, _P)
_sig("psftp_interrupt", None, _P)
_sig("psftp_username", c_int, _P, _OUT_P)
_sig("psftp_remote_server_key", c_int, _P, POINTER(POINTER(HostKeyStruct)))
_sig("psftp_active_ciphers", c_int, _P, _OUT_P, _OUT_P)
_sig("psftp_active_compression", c_int, _P, _OUT_P, _OUT_P)
_sig("psftp_security_options", c_int, _P, POINTER(POINTER(SecurityInfo)))
_sig("psftp_timeout", c_int, _P, POINTER(c_double))
_sig("psftp_set_timeout", c_int, _P, c_double)
_sig("psftp_logfile", c_int, _P, _OUT_P)
_sig(
    "psftp_execute_bytes",
    c_int,
    _P,
    c_char_p,
    c_int,
    _OUT_P,
    POINTER(c_size_t),
    _OUT_P,
    POINTER(c_size_t),
    POINTER(c_int),
)
_sig("psftp_sftp_client", c_int, _P, _OUT_P, _OUT_P)
_sig("psftp_lock", c_int, _P)
_sig("psftp_unlock", c_int, _P)
_sig("psftp_has_extension", c_int, _P, c_char_p, POINTER(c_bool))

_sig("psftp_open", c_int, _P, c_char_p, c_char_p, c_int64, _OUT_P)
_sig("psftp_file_read", c_int, _P, c_void_p, c_size_t, POINTER(c_size_t))
_sig("psftp_file_read_alloc", c_int, _P, c_size_t, _OUT_P, POINTER(c_size_t))
_sig("psftp_file_readline_alloc", c_int, _P, c_size_t, _OUT_P, POINTER(c_size_t))
_sig("psftp_file_write", c_int, _P, c_void_p, c_size_t)
_sig("psftp_file_seek", c_int, _P, c_int64, c_int, POINTER(c_uint64))
_sig("psftp_file_tell", c_int, _P, POINTER(c_uint64))
_sig("psftp_file_stat", c_int, _P, POINTER(Attrs))
_sig("psftp_file_flush", c_int, _P)
_sig("psftp_file_fsync", c_int, _P)
_sig("psftp_file_truncate", c_int, _P, c_uint64)
_sig("psftp_file_close", c_int, _P)

_sig("psftp_listdir", c_int, _P, c_char_p, POINTER(POINTER(StrArray)))
_sig("psftp_listdir_attr", c_int, _P, c_char_p, POINTER(POINTER(DirentList)))
_sig("psftp_stat", c_int, _P, c_char_p, POINTER(Attrs))
_sig("psftp_lstat", c_int, _P, c_char_p, POINTER(Attrs))
for _name in ("exists", "lexists", "isdir", "isfile"):
    _sig("psftp_" + _name, c_int, _P, c_char_p, POINTER(c_bool))
_sig("psftp_chdir", c_int, _P, c_char_p)
_sig("psftp_cd_push", c_int, _P, c_char_p)
_sig("psftp_cd_pop", c_int, _P)
_sig("psftp_getcwd", c_int, _P, _OUT_P)
_sig("psftp_pwd", c_int, _P, _OUT_P)
_sig("psftp_normalize", c_int, _P, c_char_p, _OUT_P)
_sig("psftp_readlink", c_int, _P, c_char_p, _OUT_P)
_sig("psftp_mkdir", c_int, _P, c_char_p, c_uint32)
_sig("psftp_makedirs", c_int, _P, c_char_p, c_uint32)
_sig("psftp_chmod", c_int, _P, c_char_p, c_uint32)
_sig("psftp_rmdir", c_int, _P, c_char_p)
_sig("psftp_remove", c_int, _P, c_char_p)
for _name in ("rename", "posix_rename", "hardlink", "symlink"):
    _sig("psftp_" + _name, c_int, _P, c_char_p, c_char_p)
_sig("psftp_chown", c_int, _P, c_char_p, c_int64, c_int64)
_sig("psftp_truncate", c_int, _P, c_char_p, c_uint64, POINTER(c_uint64))
_sig("psftp_utime", c_int, _P, c_char_p, c_int64, c_int64)
_sig("psftp_statvfs", c_int, _P, c_char_p, POINTER(StatVfsInfo))

_sig("psftp_st_mode_to_int", c_uint32, c_uint32)
_sig("psftp_path_advance", c_int, c_char_p, POINTER(POINTER(StrArray)))
_sig("psftp_path_retreat", c_int, c_char_p, POINTER(POINTER(StrArray)))
_sig("psftp_reparent", c_int, c_char_p, c_char_p, _OUT_P)
_sig("psftp_walktree", c_int, _P, c_char_p, WALK_CB, WALK_CB, WALK_CB, c_bool, c_void_p)
_sig("psftp_local_walktree", c_int, c_char_p, WALK_CB, WALK_CB, WALK_CB, c_bool, c_void_p)
_sig("psftp_local_cd_push", c_int, c_char_p)
_sig("psftp_local_cd_pop", c_int)

_sig("psftp_transfer_opts_new", c_int, _OUT_P)
_sig("psftp_transfer_opts_free", None, _P)
for _name in ("atomic", "resume", "fsync", "sync", "preserve_mode"):
    _sig("psftp_transfer_opts_set_" + _name, c_int, _P, c_bool)
for _name in ("parallelism", "symlinks", "on_error"):
    _sig("psftp_transfer_opts_set_" + _name, c_int, _P, c_int)
_sig("psftp_transfer_opts_set_retries", c_int, _P, c_int, c_double)
_sig("psftp_conn_last_retries", c_int, _P)
_sig("psftp_transfer_opts_set_verify", c_int, _P, c_int)
VERIFY = {"off": 0, "on": 1, "allow-exec": 2}
_sig("psftp_transfer_opts_add_include", c_int, _P, c_char_p)
_sig("psftp_transfer_opts_add_exclude", c_int, _P, c_char_p)

_sig("psftp_get", c_int, _P, c_char_p, c_char_p, PROGRESS_CB, c_void_p, c_bool, _P)
_sig(
    "psftp_put",
    c_int,
    _P,
    c_char_p,
    c_char_p,
    PROGRESS_CB,
    c_void_p,
    c_bool,
    c_bool,
    _P,
    POINTER(Attrs),
)
_sig("psftp_getfo", c_int, _P, c_char_p, WRITE_CB, PROGRESS_CB, c_void_p, POINTER(c_uint64))
_sig(
    "psftp_putfo",
    c_int,
    _P,
    READ_CB,
    c_char_p,
    c_uint64,
    PROGRESS_CB,
    c_void_p,
    c_bool,
    _P,
    POINTER(Attrs),
)
for _name in ("get_d", "get_r"):
    _sig(
        "psftp_" + _name,
        c_int,
        _P,
        c_char_p,
        c_char_p,
        c_bool,
        TREE_PROGRESS_CB,
        c_void_p,
        _P,
        POINTER(POINTER(FailureList)),
    )
for _name in ("put_d", "put_r"):
    _sig(
        "psftp_" + _name,
        c_int,
        _P,
        c_char_p,
        c_char_p,
        c_bool,
        c_bool,
        TREE_PROGRESS_CB,
        c_void_p,
        _P,
        POINTER(POINTER(FailureList)),
    )

NO_PROGRESS = PROGRESS_CB()
NO_WALK = WALK_CB()
NO_TREE_PROGRESS = TREE_PROGRESS_CB()

# ---------------------------------------------------------------------------
# Errors: what the C API says about the last failure on this thread.


class ErrorInfo(NamedTuple):
    """A failed call: the code's name ("NOT_FOUND"), message, errno (0 for
    none), SFTP status (-1 for none) and, for PSFTP_E_USER, the value the
    callback returned to stop the call (0 otherwise)."""

    code: int
    name: str
    message: str
    errno: int
    sftp_status: int
    callback_value: int = 0


def _code_table() -> Dict[int, str]:
    """The library's result codes, {-6: "NOT_FOUND", ...}: its C names
    without "PSFTP_E_". The codes are contiguous from -1, so the table ends
    at the first one psftp_error_name() does not know."""
    table = {}
    code = -1
    while lib.psftp_error_name(code) != b"EUNKNOWN":
        table[code] = lib.psftp_strerror(code).decode("ascii")[len("PSFTP_E_") :]
        code -= 1
    return table


#: Every result code of the loaded library, by code.
CODES = _code_table()


def code_name(code: int) -> str:
    """A result code's name ("NOT_FOUND"); "UNKNOWN" for one the library
    does not define."""
    return CODES.get(code, "UNKNOWN")


def last_error(code: int) -> ErrorInfo:
    """Read right after the failed call, on the thread that made it."""
    msg = (lib.psftp_last_error() or b"").decode("utf-8", "replace")
    return ErrorInfo(
        code,
        code_name(code),
        msg,
        int(lib.psftp_last_error_errno()),
        int(lib.psftp_last_error_sftp_status()),
        int(lib.psftp_last_callback_value()),
    )


# ---------------------------------------------------------------------------
# Values: paths, strings, lists, buffers, attributes, modes.

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def enc_remote(path: Union[str, bytes]) -> bytes:
    """A remote path for C: str as UTF-8 (surrogate escapes give back the
    original bytes, as os.fsencode does), bytes unchanged."""
    if isinstance(path, bytes):
        return path
    if isinstance(path, str):
        return path.encode("utf-8", "surrogateescape")
    raise TypeError(f"a remote path is str or bytes, not {type(path).__name__}")


def dec_remote(raw: bytes, as_bytes: bool) -> Union[str, bytes]:
    """A remote path from C: bytes when the caller gave bytes, else str
    with surrogate escapes for bytes that are not UTF-8 (as os.listdir)."""
    return raw if as_bytes else raw.decode("utf-8", "surrogateescape")


def dec_str(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def enc_local(path: PathArg) -> bytes:
    return os.fsencode(os.fspath(path))


def opt(s: Optional[str]) -> Optional[bytes]:
    return None if s is None else s.encode("utf-8")


def take_string(p: Optional[int]) -> Optional[bytes]:
    """A psftp-owned char* out-parameter: copy, free, return (None for NULL)."""
    if not p:
        return None
    try:
        return ctypes.string_at(p)
    finally:
        lib.psftp_string_free(p)


def take_bytes(p: Optional[int], n: int) -> bytes:
    if not p:
        return b""
    try:
        return ctypes.string_at(p, n)
    finally:
        lib.psftp_bytes_free(p, n)


def strarray_items(a: StrArray) -> List[bytes]:
    return [ctypes.string_at(a.strings[i]) for i in range(a.count)]


def take_strarray(p: "ctypes._Pointer[StrArray]") -> List[bytes]:
    try:
        return strarray_items(p.contents)
    finally:
        lib.psftp_strarray_free(p)


def take_dirents(p: "ctypes._Pointer[DirentList]") -> List[Tuple[bytes, bytes, Attrs]]:
    try:
        lst = p.contents
        out = []
        for i in range(lst.count):
            e = lst.entries[i].contents
            a = Attrs.from_buffer_copy(e.attrs)
            out.append((ctypes.string_at(e.filename), ctypes.string_at(e.longname), a))
        return out
    finally:
        lib.psftp_dirent_list_free(p)


class HostKeyValue(NamedTuple):
    key_type: str
    base64: str
    fingerprint: str


def hostkey_value(k: HostKeyStruct) -> HostKeyValue:
    return HostKeyValue(
        (k.key_type or b"").decode(),
        (k.base64 or b"").decode(),
        (k.fingerprint or b"").decode(),
    )


def take_hostkey(p: "ctypes._Pointer[HostKeyStruct]") -> HostKeyValue:
    try:
        return hostkey_value(p.contents)
    finally:
        lib.psftp_hostkey_free(p)


class FailureValue(NamedTuple):
    path: str
    code: int
    message: str


def take_failures(p: "ctypes._Pointer[FailureList]") -> List[FailureValue]:
    if not p:
        return []
    try:
        items = [p.contents.items[i].contents for i in range(p.contents.count)]
        return [
            FailureValue(
                dec_str(f.path or b""),
                f.code,
                (f.message or b"").decode("utf-8", "replace"),
            )
            for f in items
        ]
    finally:
        lib.psftp_failure_list_free(p)


class AttrValues(NamedTuple):
    size: Optional[int]
    uid: Optional[int]
    gid: Optional[int]
    mode: Optional[int]
    atime: Optional[int]
    mtime: Optional[int]


def attr_values(a: Attrs) -> AttrValues:
    f = a.flags
    has_ids = bool(f & ATTR_UIDGID)
    has_times = bool(f & ATTR_ACMODTIME)
    return AttrValues(
        a.size if f & ATTR_SIZE else None,
        a.uid if has_ids else None,
        a.gid if has_ids else None,
        a.mode if f & ATTR_PERMISSIONS else None,
        a.atime if has_times else None,
        a.mtime if has_times else None,
    )


# Modes. The C API takes POSIX bits, as chmod(2) does (0o644). pysftp
# writes modes as decimal numbers that read like octal (chmod(path, 644)
# means rw-r--r--); this is the one place that converts them.


def pysftp_mode_to_posix(mode: int) -> int:
    """pysftp's rule: int(str(mode), 8). 648 raises ValueError, as in pysftp."""
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise TypeError(f"mode must be an int like 644, not {type(mode).__name__}")
    return posix_mode_for_c(int(str(mode), 8))


def mode_for_c(pysftp_mode: int) -> int:
    """A mode in pysftp's integer form (644), as the C API takes it (0o644)."""
    return pysftp_mode_to_posix(pysftp_mode)


def posix_mode_for_c(bits: int) -> int:
    """A mode in POSIX bits (paramiko's form, 0o644), checked: permission,
    setuid, setgid and sticky bits only."""
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"mode must be an int like 0o644, not {type(bits).__name__}")
    if bits < 0 or bits > 0o7777:
        raise ValueError(f"mode {bits:#o} is outside 0o0..0o7777")
    return bits


def version() -> str:
    return (lib.psftp_version() or b"").decode()


Callback = Callable[..., Any]
