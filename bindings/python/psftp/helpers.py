"""pysftp's module helpers: st_mode_to_int, path_advance, path_retreat,
reparent, walktree (local) and cd (local), with pysftp 0.2.9's results."""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from . import _calls, _ffi
from .exceptions import from_info


def _check(rc: int, filename: Optional[str] = None) -> None:
    if rc != 0:
        raise from_info(_ffi.last_error(rc), filename=filename)


def st_mode_to_int(val: int) -> int:
    """The permission bits of an st_mode as the decimal number that reads
    like their octal form: 33188 gives 644."""
    return int(_ffi.lib.psftp_st_mode_to_int(int(val) & 0xFFFFFFFF))


def _paths(fn: Any, thepath: str) -> Iterator[str]:
    out = ctypes.POINTER(_ffi.StrArray)()
    _check(fn(_ffi.enc_remote(thepath), ctypes.byref(out)))
    for p in _ffi.take_strarray(out):
        yield _ffi.dec_str(p)


def path_advance(thepath: str, sep: str = "/") -> Iterator[str]:
    """Generator over the path and its parents, shortest first:
    './pub/example/example01' gives '.', './pub', './pub/example',
    './pub/example/example01'."""
    if sep != "/":
        raise ValueError("psftp's path_advance walks POSIX paths (sep='/')")
    return _paths(_ffi.lib.psftp_path_advance, thepath)


def path_retreat(thepath: str, sep: str = "/") -> Iterator[str]:
    """The same paths as path_advance, longest first."""
    if sep != "/":
        raise ValueError("psftp's path_retreat walks POSIX paths (sep='/')")
    return _paths(_ffi.lib.psftp_path_retreat, thepath)


def reparent(newparent: str, oldpath: str) -> str:
    """Join so that a rooted ``oldpath`` lands inside ``newparent``:
    reparent('backup', '/home/test/pub') is 'backup/./home/test/pub'."""
    out = ctypes.c_void_p()
    _check(_ffi.lib.psftp_reparent(_ffi.enc_remote(newparent), _ffi.enc_remote(oldpath),
                                   ctypes.byref(out)))
    return _ffi.dec_str(_ffi.take_string(out.value) or b"")


def walktree(
    localpath: str,
    fcallback: Optional[Callable[[str], Any]],
    dcallback: Optional[Callable[[str], Any]],
    ucallback: Optional[Callable[[str], Any]],
    recurse: bool = True,
) -> None:
    """Connection.walktree() for a local directory tree."""
    state = _calls.CallState()
    cbs = []
    for fn in (fcallback, dcallback, ucallback):
        if fn is None:
            cbs.append(_ffi.NO_WALK)
            continue

        def cb(path: bytes, _a: Any, _ud: Any, fn: Callable[[str], Any] = fn) -> int:
            return 0 if state.guard(fn, os.fsdecode(path)) else -1

        t = _ffi.WALK_CB(cb)
        state.keep.append(t)
        cbs.append(t)
    rc = _ffi.lib.psftp_local_walktree(_ffi.enc_local(localpath), *cbs, bool(recurse), None)
    if state.errors:
        raise state.errors[0]
    _check(rc, os.fsdecode(localpath))


@contextmanager
def cd(localpath: Optional[str] = None) -> Iterator[None]:
    """with-block that changes the local working directory (os.chdir) and
    restores it on exit."""
    arg = None if localpath is None else _ffi.enc_local(localpath)
    _check(_ffi.lib.psftp_local_cd_push(arg), None if localpath is None else os.fsdecode(localpath))
    try:
        yield
    finally:
        _check(_ffi.lib.psftp_local_cd_pop())
