"""pysftp's CnOpts and the host keys it holds."""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from . import _ffi
from .attributes import HostKey
from .exceptions import HostKeysException, InvalidArgumentError, SSHException, from_info

#: A host-key callback: (host, port, key, status) -> answer, where status is
#: "unknown" or "changed" and the answer "reject", "accept" or
#: "accept-and-save" (True means "accept", False "reject").
HostKeyCallback = Callable[[str, int, HostKey, str], Union[str, bool, None]]


def known_hosts() -> str:
    """pysftp's default known_hosts file: ~/.ssh/known_hosts."""
    return os.path.expanduser(os.path.join("~", ".ssh", "known_hosts"))


def _count_entries(path: str) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip() and not line.lstrip().startswith(b"#"))


class HostKeys:
    """The known_hosts files a CnOpts checks against (paramiko's HostKeys
    in pysftp): ``load(filename)`` merges another file; ``lookup(host)``
    gives the keys for a host ("[host]:port" for a port other than 22)."""

    def __init__(self, filename: Optional[str] = None) -> None:
        self._files: List[str] = []
        if filename is not None:
            self.load(filename)

    def load(self, filename: str) -> None:
        """Merge a known_hosts file (``~`` expanded). IOError if it cannot
        be read, as paramiko."""
        path = os.path.expanduser(filename)
        with open(path, "rb"):
            pass
        self._files.append(path)

    @property
    def filenames(self) -> List[str]:
        return list(self._files)

    def lookup(self, hostname: str) -> Optional[Dict[str, HostKey]]:
        """{key type: HostKey} for the first key known for ``hostname``, or
        None."""
        try:
            k = _lookup(self._files, hostname)
        except SSHException:
            return None
        return {k.get_name(): k}

    def __len__(self) -> int:
        total = 0
        for f in self._files:
            try:
                total += _count_entries(f)
            except OSError:
                pass
        return total

    def items(self) -> List[Any]:
        return [(f, None) for f in self._files]


def _lookup(files: Sequence[str], host: str) -> HostKey:
    if not files:
        raise SSHException(f"No hostkey for host {host} found.")
    c = _build_c(files, hostkeys_on=True)
    try:
        out = ctypes.POINTER(_ffi.HostKeyStruct)()
        rc = _ffi.lib.psftp_cnopts_get_hostkey(c, _ffi.enc_remote(host), ctypes.byref(out))
        if rc != 0:
            info = _ffi.last_error(rc)
            if info.name == "HOSTKEY_UNKNOWN":
                raise SSHException(f"No hostkey for host {host} found.")
            raise from_info(info)
        return HostKey._from_value(_ffi.take_hostkey(out))
    finally:
        _ffi.lib.psftp_cnopts_free(c)


def _check(rc: int) -> None:
    if rc != 0:
        raise from_info(_ffi.last_error(rc))


def _build_c(files: Sequence[str], hostkeys_on: bool, first_is_default: bool = False) -> int:
    """A C cnopts checking against `files` (or nothing when off). With
    `first_is_default`, the first file is ~/.ssh/known_hosts because the
    caller named none: psftp is then told so (NULL), and ssh_config's
    UserKnownHostsFile may replace it, as it replaces ssh's default."""
    out = ctypes.c_void_p()
    first = files[0] if files and not first_is_default else None
    _check(_ffi.lib.psftp_cnopts_new(_ffi.opt(first), ctypes.byref(out)))
    handle = int(out.value or 0)
    try:
        if not hostkeys_on:
            _check(_ffi.lib.psftp_cnopts_set_hostkeys(handle, None))
        else:
            for extra in files[1:]:
                _check(_ffi.lib.psftp_cnopts_load(handle, _ffi.enc_local(extra)))
    except BaseException:
        _ffi.lib.psftp_cnopts_free(handle)
        raise
    return handle


class CnOpts:
    """pysftp ``CnOpts(knownhosts=None)``: options beyond authentication.

    pysftp's attributes: ``log`` (False, True for a temporary file, or a
    path; the name is ``Connection.logfile``), ``compression``, ``ciphers``
    (a list), ``hostkeys`` (None turns host-key checking off: NOT ADVISED).

    Beyond pysftp (keywords or attributes): ``accept_new`` (trust on first
    use: an unknown host's key is saved to the first known_hosts file),
    ``hostkey_callback`` (decide about unknown and changed keys),
    ``connect_timeout`` (seconds for resolution, TCP, handshake and
    authentication in total, default 30; 0 waits forever),
    ``timeout`` (the initial ``Connection.timeout``), ``stall_timeout``
    (a call whose bytes stop moving this many seconds raises
    TimeoutError; default 60, 0 turns it off), ``keepalive`` (seconds of
    silence before a keepalive asking for a reply, as ssh's
    ServerAliveInterval; 0 never; None, the default: ssh_config's, else
    never) and ``keepalive_count_max`` (a server silent for keepalive x
    this many is lost, ServerAliveCountMax; None: ssh_config's, else 3).

    Connecting wherever ``ssh`` connects (off by default, as pysftp):
    ``ssh_config`` (True reads ~/.ssh/config and /etc/ssh/ssh_config, a
    path reads that file only, as ``ssh -F``; the host may then be a Host
    alias, and what Connection() is given explicitly, and every option set
    here, wins over the files), ``proxy_jump`` (jump hosts as ``ssh -J``:
    "user@host:port,host2"; "none" ignores ssh_config's) and
    ``proxy_command`` (a command carrying the connection on its
    stdin/stdout, with %h %p %r tokens); set one of the two: both raise
    InvalidArgumentError when the options are used. ``ssh_config_report(host)``
    shows what a connect to ``host`` would use, as ``ssh -G``.
    """

    def __init__(
        self,
        knownhosts: Optional[str] = None,
        *,
        accept_new: bool = False,
        hostkey_callback: Optional[HostKeyCallback] = None,
        connect_timeout: float = 30.0,
        timeout: Optional[float] = None,
        stall_timeout: float = 60.0,
        keepalive: Optional[int] = None,
        keepalive_count_max: Optional[int] = None,
        ssh_config: Union[bool, str, "os.PathLike[str]"] = False,
        proxy_jump: Optional[str] = None,
        proxy_command: Optional[str] = None,
    ) -> None:
        self.log: Union[bool, str] = False
        self.compression = False
        self.ciphers: Optional[Sequence[str]] = None
        self.accept_new = accept_new
        self.hostkey_callback = hostkey_callback
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.stall_timeout = stall_timeout
        self.keepalive = keepalive
        self.keepalive_count_max = keepalive_count_max
        self.ssh_config = ssh_config
        self.proxy_jump = proxy_jump
        self.proxy_command = proxy_command
        # Whether the caller named the known_hosts file (ssh_config's
        # UserKnownHostsFile then does not replace it).
        self._knownhosts_given = knownhosts is not None
        if knownhosts is None:
            knownhosts = known_hosts()
        # Where accept_new and the callback's "accept-and-save" write.
        self._knownhosts = os.path.expanduser(knownhosts)
        self.hostkeys: Optional[HostKeys] = HostKeys()
        try:
            self.hostkeys.load(knownhosts)
        except OSError:
            if accept_new or hostkey_callback is not None:
                return  # the file comes into being with the first key saved
            warnings.warn(
                f"Failed to load HostKeys from {knownhosts}.  You will need to "
                "explicitly load HostKeys (cnopts.hostkeys.load(filename)) or "
                "disableHostKey checking (cnopts.hostkeys = None).",
                UserWarning,
                stacklevel=2,
            )
        else:
            if len(self.hostkeys) == 0 and not accept_new and hostkey_callback is None:
                raise HostKeysException("No Host Keys Found")

    def get_hostkey(self, host: str) -> HostKey:
        """The key known_hosts holds for ``host``, or SSHException (as
        pysftp). For a port other than 22, ask for "[host]:port"."""
        if self.hostkeys is None:
            raise SSHException(f"No hostkey for host {host} found.")
        return _lookup(self.hostkeys.filenames, host)

    def ssh_config_report(self, host: str) -> str:
        """What a Connection(host, cnopts=self) would use, one "keyword
        value" line each as ``ssh -G host`` prints them, then "#" lines
        naming the config files read, the jump hosts and anything psftp
        cannot honour. Nothing is sent anywhere. A malformed config file
        raises InvalidArgumentError naming the file and line."""
        handle = self._to_c([])
        try:
            out = ctypes.c_void_p()
            _check(_ffi.lib.psftp_cnopts_ssh_config_report(handle, host.encode(), ctypes.byref(out)))
            return (_ffi.take_string(out.value) or b"").decode("utf-8", "replace")
        finally:
            _ffi.lib.psftp_cnopts_free(handle)

    def _route_to_c(self, handle: int) -> None:
        """ssh_config, proxy_jump and proxy_command on the C options."""
        if self.proxy_jump is not None and self.proxy_command is not None:
            # psftp's setters replace each other: both is a mistake, not a choice.
            both = InvalidArgumentError("proxy_jump: give it or proxy_command, not both")
            both.code = "INVALID_ARG"
            raise both
        lib = _ffi.lib
        cfg = self.ssh_config
        if cfg is True:
            _check(lib.psftp_cnopts_set_ssh_config(handle, True, None))
        elif cfg is not False and cfg is not None:
            _check(lib.psftp_cnopts_set_ssh_config(handle, True, _ffi.enc_local(cfg)))
        if self.proxy_jump is not None:
            _check(lib.psftp_cnopts_set_proxy_jump(handle, self.proxy_jump.encode()))
        if self.proxy_command is not None:
            _check(lib.psftp_cnopts_set_proxy_command(handle, self.proxy_command.encode()))

    def _to_c(self, errors: List[BaseException]) -> int:
        """Build the C options for one connect. What the host-key callback
        raises goes to `errors`."""
        on = self.hostkeys is not None
        files = self.hostkeys.filenames if self.hostkeys is not None else []
        if on and not files:
            files = [self._knownhosts]
        default_first = not self._knownhosts_given and files[:1] == [self._knownhosts]
        handle = _build_c(files, on, default_first)
        lib = _ffi.lib
        try:
            _check(lib.psftp_cnopts_set_compression(handle, bool(self.compression)))
            if self.log:
                path = None if self.log is True else _ffi.enc_local(str(self.log))
                _check(lib.psftp_cnopts_set_log(handle, True, path))
            if self.ciphers:
                ciphers = self.ciphers
                if isinstance(ciphers, str):
                    ciphers = [ciphers]
                _check(lib.psftp_cnopts_set_ciphers(handle, ",".join(ciphers).encode()))
            _check(lib.psftp_cnopts_set_accept_new(handle, bool(self.accept_new)))
            _check(lib.psftp_cnopts_set_connect_timeout(handle, float(self.connect_timeout or 0)))
            if self.timeout:
                _check(lib.psftp_cnopts_set_timeout(handle, float(self.timeout)))
            _check(lib.psftp_cnopts_set_stall_timeout(handle, float(self.stall_timeout or 0)))
            if self.keepalive is not None:
                _check(lib.psftp_cnopts_set_keepalive(handle, int(self.keepalive)))
            if self.keepalive_count_max is not None:
                _check(lib.psftp_cnopts_set_keepalive_count_max(handle, int(self.keepalive_count_max)))
            self._route_to_c(handle)
            if self.hostkey_callback is not None:
                cb = _hostkey_trampoline(self.hostkey_callback, errors)
                _check(lib.psftp_cnopts_set_hostkey_callback(handle, cb, hold(cb), RELEASE_HELD))
        except BaseException:
            lib.psftp_cnopts_free(handle)
            raise
        return handle


# A stored callback's trampoline (host-key, keyboard-interactive) must live
# as long as psftp may call it: the C options and every connection made
# with them hold it. psftp owns the callback's user_data (a key into _held)
# and calls the finalizer once, when nothing holds the callback any more,
# or at once if it is not set.
_held: Dict[int, Any] = {}
_held_lock = threading.Lock()
_held_keys = itertools.count(1)


def hold(trampoline: Any) -> int:
    key = next(_held_keys)
    with _held_lock:
        _held[key] = trampoline
    return key


def _release(user_data: Optional[int], held: Dict[int, Any] = _held, lock: Any = _held_lock) -> None:
    with lock:
        held.pop(user_data or 0, None)


RELEASE_HELD = _ffi.FINALIZER(_release)


_ANSWERS = {
    "reject": _ffi.HOSTKEY_REJECT,
    "accept": _ffi.HOSTKEY_ACCEPT,
    "accept-and-save": _ffi.HOSTKEY_ACCEPT_AND_SAVE,
    "accept_and_save": _ffi.HOSTKEY_ACCEPT_AND_SAVE,
}


def _hostkey_trampoline(fn: HostKeyCallback, errors: List[BaseException]) -> Any:
    """A C host-key callback calling `fn`; an exception it raises is kept
    in `errors` (re-raised after the connect) and rejects the key."""

    def call(host: bytes, port: int, key: Any, status: int, _ud: Any) -> int:
        try:
            hk = HostKey._from_value(_ffi.hostkey_value(key.contents))
            why = "changed" if status == _ffi.HOSTKEY_STATUS_CHANGED else "unknown"
            answer = fn(_ffi.dec_str(host), port, hk, why)
            if answer is True:
                return _ffi.HOSTKEY_ACCEPT
            if answer is None or answer is False:
                return _ffi.HOSTKEY_REJECT
            return _ANSWERS.get(str(answer).lower(), _ffi.HOSTKEY_REJECT)
        except BaseException as e:  # noqa: BLE001 - handed back after the call
            errors.append(e)
            return _ffi.HOSTKEY_REJECT

    return _ffi.HOSTKEY_CB(call)
