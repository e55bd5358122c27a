"""pysftp's Connection over libpsftp."""

from __future__ import annotations

import ctypes
import hashlib
import base64
import io
import os
import posixpath
import warnings
import weakref
from contextlib import contextmanager
from typing import (
    Any,
    Dict,
    Callable,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _calls, _ffi
from .attributes import HostKey, SecurityOptions, SFTPAttributes
from .cnopts import RELEASE_HELD, CnOpts, hold
from .exceptions import (
    ConnectionLostError,
    CredentialException,
    Error,
    Failure,
    from_info,
)
from .file import SFTPFile, c_mode

RemotePath = Union[str, bytes]
LocalPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Progress = Callable[[int, int], Any]
WalkCallback = Callable[[str], Any]


class TreeProgress(NamedTuple):
    """Progress of get_d/get_r/put_d/put_r (the ``progress`` keyword).

    The totals grow while the walk finds files. Files that ``sync`` skips
    count as done, their bytes too: when every file succeeded, done equals
    total."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current_path: str


TreeCallback = Callable[[TreeProgress], Any]


class KeyboardInteractiveRequest(NamedTuple):
    """One keyboard-interactive round, as the ``keyboard_interactive``
    handler gets it: who asks (``host``, ``port`` and ``user`` of the
    server, or of a jump host: each hop authenticates on its own), the
    server's ``name`` and ``instruction`` (paramiko's title and
    instructions; often empty), and its ``prompts`` as paramiko lists
    them: [(text, echo), ...], echo False for a secret."""

    host: str
    port: int
    user: str
    name: str
    instruction: str
    prompts: List[Tuple[str, bool]]


#: A keyboard-interactive handler: the round -> the answers, in order.
#: Prompts left without an answer (a shorter list, or None) get the
#: password given to Connection() (for the server), else an empty answer.
#: An exception raised in it gives up.
KeyboardInteractive = Callable[[KeyboardInteractiveRequest], Optional[Sequence[str]]]


def _kbd_request(r: _ffi.KbdRequestStruct) -> KeyboardInteractiveRequest:
    def text(b: Optional[bytes]) -> str:
        return (b or b"").decode("utf-8", "replace")

    prompts = [(text(p.text), bool(p.echo)) for p in (r.prompts[i].contents for i in range(r.num_prompts))]
    return KeyboardInteractiveRequest(
        text(r.host), r.port, text(r.user), text(r.name), text(r.instruction), prompts
    )


def _kbdint_trampoline(fn: KeyboardInteractive, errors: List[BaseException]) -> Any:
    """A C keyboard-interactive callback calling `fn`; an exception it
    raises gives up (kept in `errors`, re-raised from Connection())."""

    def call(req: Any, answers: Any, _ud: Any) -> int:
        try:
            r = _kbd_request(req.contents)
            replies = fn(r)
            if replies is None:
                return 0
            if isinstance(replies, (str, bytes)):
                raise TypeError("keyboard_interactive must return a list of answers, not one string")
            for i, answer in enumerate(list(replies)[: len(r.prompts)]):
                if not isinstance(answer, str):
                    raise TypeError(f"keyboard_interactive answer {i} must be a str, not {type(answer).__name__}")
                rc = _ffi.lib.psftp_kbdint_answer(answers, i, answer.encode("utf-8"))
                if rc != 0:
                    raise from_info(_ffi.last_error(rc))
            return 0
        except BaseException as e:  # noqa: BLE001 - re-raised after the connect
            errors.append(e)
            return 1

    return _ffi.KBDINT_CB(call)


def _socket_fd(sock: Any) -> int:
    """The descriptor of a socket object (anything with fileno()) or an int."""
    if isinstance(sock, bool):
        raise TypeError("sock must be a socket or a file descriptor, not bool")
    if isinstance(sock, int):
        return sock
    fileno = getattr(sock, "fileno", None)
    if fileno is None:
        raise TypeError(f"sock must be a socket or a file descriptor, not {type(sock).__name__}")
    return int(fileno())


def _agent_key_name(key: Any) -> str:
    """paramiko's AgentKey (or any key object with asbytes()) as psftp's
    "agent:SHA256:..." selector: the ssh-agent key with that fingerprint."""
    blob = key.asbytes()
    fp = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return "agent:SHA256:" + fp


def _private_key_text(key: Any) -> Optional[bytes]:
    """The private key of a paramiko-style key object (RSAKey, ECDSAKey,
    anything with write_private_key()) as PEM or OpenSSH text, or None for
    a key that has no private part here (paramiko's AgentKey, whose
    write_private_key raises)."""
    write = getattr(key, "write_private_key", None)
    if write is None:
        return None
    text = io.StringIO()
    try:
        write(text)
    except Exception:  # noqa: BLE001 - "not implemented": no private part
        return None
    data = text.getvalue()
    return data.encode("ascii") if data.strip() else None


class _Key(NamedTuple):
    """How the private key reaches the C API: a path or selector
    ("agent:..."), or the key itself."""

    path: Optional[bytes] = None
    data: Optional[bytes] = None


def _key_arg(private_key: Any, private_key_data: Union[bytes, str, None] = None) -> _Key:
    if private_key_data is not None:
        if private_key is not None:
            raise ValueError("private_key_data: give it or private_key, not both")
        if isinstance(private_key_data, str):
            private_key_data = private_key_data.encode("utf-8")
        if not isinstance(private_key_data, (bytes, bytearray, memoryview)):
            raise TypeError(f"private_key_data must be bytes or str, not {type(private_key_data).__name__}")
        return _Key(data=bytes(private_key_data))
    if private_key is None:
        return _Key()
    if isinstance(private_key, (str, bytes, os.PathLike)):
        return _Key(path=_ffi.enc_local(private_key))
    data = _private_key_text(private_key)
    if data is not None:
        return _Key(data=data)
    if hasattr(private_key, "asbytes"):
        return _Key(path=_ffi.enc_local(_agent_key_name(private_key)))
    raise CredentialException(
        f"private_key must be a key file path, a key object (paramiko's RSAKey, "
        f"ECDSAKey, ...) or an agent key, not {type(private_key).__name__}"
    )


class _Extras(NamedTuple):
    """What only the connect options take: a socket's descriptor, the
    keyboard-interactive handler."""

    sock: Optional[int] = None
    keyboard_interactive: Optional[KeyboardInteractive] = None


def _split_lines(data: bytes) -> List[bytes]:
    """readlines() of a binary stream: lines keep their b'\\n'."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


class Connection:
    """pysftp ``Connection(host, username=None, private_key=None,
    password=None, port=22, private_key_pass=None, ciphers=None, log=False,
    cnopts=None, default_path=None)``: connects and logs in.

    ``private_key`` is a key file path (Ed25519, ECDSA, RSA; ``~`` expanded),
    a key object that can write its private key (paramiko's RSAKey or
    ECDSAKey: used from memory, never written to disk), or an ssh-agent
    key (paramiko's AgentKey, or "agent" / "agent:COMMENT"). Without
    password or key, the default keys in ~/.ssh and then ssh-agent are
    tried. ``ciphers`` and ``log`` are deprecated in
    pysftp in favour of ``cnopts``; they still work, with a warning.
    ``port`` None (the default) is 22, or ssh_config's Port when
    ``cnopts.ssh_config`` is on; ``host`` may then be a Host alias.

    Beyond pysftp (keywords): ``private_key_data`` is a private key's
    contents (OpenSSH or PEM, bytes or str; ``private_key_pass`` decrypts
    it) instead of ``private_key``, never shown in a message and offered to
    jump hosts too. ``sock`` is a connected socket (a ``socket.socket``, or
    a file descriptor) to carry the connection, to the server or the first
    jump host, as paramiko's ``sock``: psftp duplicates its descriptor, so
    it stays yours to close, and it carries this connection only.
    ``keyboard_interactive`` answers keyboard-interactive prompts (a
    one-time code, a PAM conversation) for the server and jump hosts: it
    gets a KeyboardInteractiveRequest (who asks, and paramiko's title,
    instructions and [(prompt, echo), ...]) and returns the answers, in
    order. Prompts it leaves unanswered (a shorter list, or None) get
    ``password``; an exception raised in it gives up and comes out of
    Connection(). It runs during Connection() only.

    A Connection may be shared by threads (calls take turns); every
    blocking call releases the GIL.
    """

    def __init__(
        self,
        host: str,
        username: Optional[str] = None,
        private_key: Any = None,
        password: Optional[str] = None,
        port: Optional[int] = None,
        private_key_pass: Optional[str] = None,
        ciphers: Optional[Sequence[str]] = None,
        log: Union[bool, str] = False,
        cnopts: Optional[CnOpts] = None,
        default_path: Optional[str] = None,
        *,
        private_key_data: Union[bytes, str, None] = None,
        sock: Any = None,
        keyboard_interactive: Optional[KeyboardInteractive] = None,
    ) -> None:
        self._h: Optional[int] = None
        self._host = host
        self._port = 22 if port is None else port
        self._cnopts = cnopts or CnOpts()
        self._default_path = default_path
        if log:
            warnings.warn(
                "log parameter is deprecated and will be remove in 0.3.0. Use cnopts param.",
                DeprecationWarning,
                stacklevel=2,
            )
            self._cnopts.log = log
        if ciphers is not None:
            warnings.warn(
                "ciphers parameter is deprecated and will be remove in 0.3.0. Use cnopts param.",
                DeprecationWarning,
                stacklevel=2,
            )
            self._cnopts.ciphers = ciphers
        key = _key_arg(private_key, private_key_data)
        extras = _Extras(None if sock is None else _socket_fd(sock), keyboard_interactive)
        self._connect(host, username, key, password, port or 0, private_key_pass, default_path, extras)

    def _connect_opts(
        self,
        host: str,
        username: Optional[str],
        key: _Key,
        password: Optional[str],
        port: int,
        private_key_pass: Optional[str],
        default_path: Optional[str],
        extras: "_Extras",
        errors: List[BaseException],
    ) -> int:
        """C connect options for this connection; free with
        psftp_connect_opts_free."""
        lib = _ffi.lib
        out = ctypes.c_void_p()
        name = host.encode("idna") if host and not host.isascii() else host.encode()
        self._c(lib.psftp_connect_opts_new(name, ctypes.byref(out)))
        h = int(out.value or 0)
        try:
            self._c(lib.psftp_connect_opts_set_port(h, int(port)))
            self._c(lib.psftp_connect_opts_set_username(h, _ffi.opt(username)))
            self._c(lib.psftp_connect_opts_set_password(h, _ffi.opt(password)))
            passphrase = _ffi.opt(private_key_pass)
            if key.data is not None:
                self._c(
                    lib.psftp_connect_opts_set_private_key_data(h, key.data, len(key.data), passphrase)
                )
            else:
                self._c(lib.psftp_connect_opts_set_private_key(h, key.path, passphrase))
            if default_path is not None:
                self._c(lib.psftp_connect_opts_set_default_path(h, _ffi.enc_remote(default_path)))
            if extras.sock is not None:
                self._c(lib.psftp_connect_opts_set_socket(h, extras.sock))
            if extras.keyboard_interactive is not None:
                cb = _kbdint_trampoline(extras.keyboard_interactive, errors)
                self._c(lib.psftp_connect_opts_set_kbdint_callback(h, cb, hold(cb), RELEASE_HELD))
            cnopts = self._cnopts._to_c(errors)
            try:
                self._c(lib.psftp_connect_opts_set_cnopts(h, cnopts))
            finally:
                lib.psftp_cnopts_free(cnopts)  # the connect options hold a copy
        except BaseException:
            lib.psftp_connect_opts_free(h)
            raise
        return h

    def _connect(
        self,
        host: str,
        username: Optional[str],
        key: _Key,
        password: Optional[str],
        port: int,
        private_key_pass: Optional[str],
        default_path: Optional[str],
        extras: "_Extras",
    ) -> None:
        if not isinstance(host, str):
            raise TypeError(f"host must be a str, not {type(host).__name__}")
        state = _calls.CallState()
        opts = self._connect_opts(
            host, username, key, password, port, private_key_pass, default_path, extras, state.errors
        )
        out = ctypes.c_void_p()
        lib = _ffi.lib

        def call() -> int:
            return int(lib.psftp_connect_with(opts, ctypes.byref(out), None))

        def abandon() -> None:  # Ctrl-C during the connect: close what it made
            if out.value:
                lib.psftp_close(out.value)

        try:
            rc, info = _calls.run(state, call, None, abandon)
        finally:
            lib.psftp_connect_opts_free(opts)
        if state.errors:
            if rc == 0 and out.value:
                lib.psftp_close(out.value)
            raise state.errors[0]
        if rc != 0:
            assert info is not None
            raise from_info(info, filename=None, host=host, port=self._port)
        self._h = int(out.value or 0)
        self._finalizer = weakref.finalize(self, lib.psftp_close, self._h)

    # -- plumbing ---------------------------------------------------------

    def _handle(self) -> int:
        h = self._h
        if h is None:
            raise ConnectionLostError(f"connection to {self._host}:{self._port} is closed")
        return h

    def _raise_last(self, rc: int, filename: Optional[RemotePath] = None) -> None:
        name = None if filename is None else _ffi.dec_str(_ffi.enc_remote(filename))
        raise from_info(_ffi.last_error(rc), filename=name, host=self._host, port=self._port)

    def _c(self, rc: int, filename: Optional[Any] = None) -> None:
        """Raise for a failed short call (read on the calling thread)."""
        if rc != 0:
            self._raise_last(rc, filename)

    def _run(
        self, state: _calls.CallState, fn: Callable[[], int], filename: Optional[Any] = None
    ) -> None:
        """A long call: interruptible by Ctrl-C; exceptions raised in
        callbacks come out of it."""
        h = self._handle()
        rc, info = _calls.run(state, fn, lambda: _ffi.lib.psftp_interrupt(h))
        if state.errors:
            raise state.errors[0]
        if rc != 0:
            assert info is not None
            name = None if filename is None else _ffi.dec_str(_ffi.enc_remote(filename))
            exc = from_info(info, filename=name, host=self._host, port=self._port)
            raise exc

    def _string(self, fn: Callable[[Any], int], like: Any = None, path: Any = None) -> Any:
        out = ctypes.c_void_p()
        self._c(fn(ctypes.byref(out)), path)
        raw = _ffi.take_string(out.value)
        if raw is None:
            return None
        return _ffi.dec_remote(raw, isinstance(like, bytes))

    def _bool(self, name: str, remotepath: RemotePath) -> bool:
        out = ctypes.c_bool()
        fn = getattr(_ffi.lib, "psftp_" + name)
        self._c(fn(self._handle(), _ffi.enc_remote(remotepath), ctypes.byref(out)), remotepath)
        return bool(out.value)

    def _attrs(self, name: str, remotepath: RemotePath) -> SFTPAttributes:
        a = _ffi.sized(_ffi.Attrs)
        fn = getattr(_ffi.lib, "psftp_" + name)
        self._c(fn(self._handle(), _ffi.enc_remote(remotepath), ctypes.byref(a)), remotepath)
        return SFTPAttributes._from_c(a)

    # -- connection -------------------------------------------------------

    def close(self) -> None:
        """Closes the connection and cleans up. A second close does nothing."""
        if self._h is not None:
            self._h = None
            self._finalizer()

    def interrupt(self) -> None:
        """Beyond pysftp: abort what the connection is doing, from any
        thread. The call in progress raises promptly; the connection is
        unusable afterwards (close it and connect again)."""
        h = self._h
        if h is not None:
            _ffi.lib.psftp_interrupt(h)

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # weakref.finalize closes the handle; nothing else to release.
        pass

    @property
    def username(self) -> str:
        """Beyond pysftp: the user name the connection logged in as."""
        return str(self._string(lambda o: _ffi.lib.psftp_username(self._handle(), o)))

    @property
    def remote_server_key(self) -> HostKey:
        """The server's host key (PKey-like: get_name(), get_base64())."""
        out = ctypes.POINTER(_ffi.HostKeyStruct)()
        self._c(_ffi.lib.psftp_remote_server_key(self._handle(), ctypes.byref(out)))
        return HostKey._from_value(_ffi.take_hostkey(out))

    def _pair(self, name: str) -> Tuple[str, str]:
        a, b = ctypes.c_void_p(), ctypes.c_void_p()
        self._c(getattr(_ffi.lib, name)(self._handle(), ctypes.byref(a), ctypes.byref(b)))
        return (
            (_ffi.take_string(a.value) or b"").decode(),
            (_ffi.take_string(b.value) or b"").decode(),
        )

    @property
    def active_ciphers(self) -> Tuple[str, str]:
        """(local_cipher, remote_cipher) in use."""
        return self._pair("psftp_active_ciphers")

    @property
    def active_compression(self) -> Tuple[str, str]:
        """(local_compression, remote_compression) in use."""
        return self._pair("psftp_active_compression")

    @property
    def security_options(self) -> SecurityOptions:
        """The ciphers, digests, key types, kex and compression methods
        available, best first."""
        out = ctypes.POINTER(_ffi.SecurityInfo)()
        self._c(_ffi.lib.psftp_security_options(self._handle(), ctypes.byref(out)))
        try:
            s = out.contents
            lists = [
                [x.decode() for x in _ffi.strarray_items(getattr(s, f))]
                for f in ("ciphers", "digests", "key_types", "kex", "compression")
            ]
        finally:
            _ffi.lib.psftp_security_info_free(out)
        return SecurityOptions(*lists)

    @property
    def last_retries(self) -> int:
        """How many times the last get, put or tree operation to finish
        reconnected and went on (the ``retries`` keyword)."""
        return int(_ffi.lib.psftp_conn_last_retries(self._handle()))

    @property
    def logfile(self) -> Union[str, bool]:
        """The log file's name, or False when not logging."""
        name = self._string(lambda o: _ffi.lib.psftp_logfile(self._handle(), o))
        return False if name is None else str(name)

    @property
    def timeout(self) -> Optional[float]:
        """Seconds a blocking read or write may wait, or None for no limit.
        After a timeout the connection is unusable: reconnect."""
        out = ctypes.c_double()
        self._c(_ffi.lib.psftp_timeout(self._handle(), ctypes.byref(out)))
        return None if out.value == 0 else out.value

    @timeout.setter
    def timeout(self, val: Optional[float]) -> None:
        self._c(_ffi.lib.psftp_set_timeout(self._handle(), float(val or 0)))

    @property
    def sftp_client(self) -> "SFTPClient":
        """paramiko-style methods (modes in POSIX bits, no pysftp
        additions) and the raw libssh2 pointers (``session_ptr``,
        ``sftp_ptr``) of this connection."""
        return SFTPClient(self)

    def execute(self, command: str) -> List[bytes]:
        """Run ``command`` on the server (not in the remote pwd): its
        stdout lines, or its stderr lines when stdout is empty (pysftp)."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        state = _calls.CallState()
        self._run(
            state,
            lambda: _ffi.lib.psftp_execute_bytes(
                self._handle(),
                command.encode("utf-8", "surrogateescape"),
                _ffi.EXECUTE_STDERR_IF_NO_STDOUT,
                ctypes.byref(out),
                ctypes.byref(n),
                None,
                None,
                None,
            ),
        )
        return _split_lines(_ffi.take_bytes(out.value, n.value))

    def has_extension(self, name: str) -> bool:
        """Beyond pysftp: whether the server offers an SFTP extension."""
        out = ctypes.c_bool()
        self._c(_ffi.lib.psftp_has_extension(self._handle(), name.encode(), ctypes.byref(out)))
        return bool(out.value)

    # -- working directory ------------------------------------------------

    def chdir(self, remotepath: RemotePath) -> None:
        """Change the current working directory on the remote (IOError if
        it does not exist)."""
        self._c(
            _ffi.lib.psftp_chdir(
                self._handle(), None if remotepath is None else _ffi.enc_remote(remotepath)
            ),
            remotepath,
        )

    def cwd(self, remotepath: RemotePath) -> None:
        """A synonym of chdir()."""
        self.chdir(remotepath)

    @contextmanager
    def cd(self, remotepath: Optional[RemotePath] = None) -> Iterator[None]:
        """with-block that changes to ``remotepath`` (if given) and restores
        the previous directory (pwd) on exit."""
        arg = None if remotepath is None else _ffi.enc_remote(remotepath)
        self._c(_ffi.lib.psftp_cd_push(self._handle(), arg), remotepath)
        try:
            yield
        finally:
            h = self._h
            if h is not None:
                self._c(_ffi.lib.psftp_cd_pop(h))

    def getcwd(self) -> Optional[str]:
        """The current remote directory, None until the first chdir."""
        result = self._string(lambda o: _ffi.lib.psftp_getcwd(self._handle(), o))
        return None if result is None else str(result)

    @property
    def pwd(self) -> str:
        """The current working directory (normalize('.'))."""
        return str(self._string(lambda o: _ffi.lib.psftp_pwd(self._handle(), o)))

    def normalize(self, remotepath: RemotePath) -> Any:
        """The server's absolute form of ``remotepath``."""
        p = _ffi.enc_remote(remotepath)
        return self._string(
            lambda o: _ffi.lib.psftp_normalize(self._handle(), p, o), remotepath, remotepath
        )

    # -- listing and attributes -------------------------------------------

    def listdir(self, remotepath: RemotePath = ".") -> List[Any]:
        """Entry names, sorted ("." and ".." left out)."""
        out = ctypes.POINTER(_ffi.StrArray)()
        self._c(
            _ffi.lib.psftp_listdir(self._handle(), _ffi.enc_remote(remotepath), ctypes.byref(out)),
            remotepath,
        )
        as_bytes = isinstance(remotepath, bytes)
        return [_ffi.dec_remote(n, as_bytes) for n in _ffi.take_strarray(out)]

    def listdir_attr(self, remotepath: RemotePath = ".") -> List[SFTPAttributes]:
        """SFTPAttributes of the entries, sorted by filename, each with
        ``filename`` and ``longname``."""
        out = ctypes.POINTER(_ffi.DirentList)()
        self._c(
            _ffi.lib.psftp_listdir_attr(
                self._handle(), _ffi.enc_remote(remotepath), ctypes.byref(out)
            ),
            remotepath,
        )
        as_bytes = isinstance(remotepath, bytes)
        return [
            SFTPAttributes._from_c(a, _ffi.dec_remote(f, as_bytes), _ffi.dec_str(ln))  # type: ignore[arg-type]
            for f, ln, a in _ffi.take_dirents(out)
        ]

    def stat(self, remotepath: RemotePath) -> SFTPAttributes:
        return self._attrs("stat", remotepath)

    def lstat(self, remotepath: RemotePath) -> SFTPAttributes:
        return self._attrs("lstat", remotepath)

    def exists(self, remotepath: RemotePath) -> bool:
        return self._bool("exists", remotepath)

    def lexists(self, remotepath: RemotePath) -> bool:
        return self._bool("lexists", remotepath)

    def isdir(self, remotepath: RemotePath) -> bool:
        return self._bool("isdir", remotepath)

    def isfile(self, remotepath: RemotePath) -> bool:
        return self._bool("isfile", remotepath)

    def readlink(self, remotelink: RemotePath) -> Any:
        """The link's target as an absolute path."""
        p = _ffi.enc_remote(remotelink)
        return self._string(
            lambda o: _ffi.lib.psftp_readlink(self._handle(), p, o), remotelink, remotelink
        )

    # -- changes ----------------------------------------------------------

    def mkdir(self, remotepath: RemotePath, mode: int = 777) -> None:
        """Create a directory; ``mode`` in pysftp's form (755 is rwxr-xr-x)."""
        self._c(
            _ffi.lib.psftp_mkdir(self._handle(), _ffi.enc_remote(remotepath), _ffi.mode_for_c(mode)),
            remotepath,
        )

    def makedirs(self, remotedir: RemotePath, mode: int = 777) -> None:
        """Create every missing directory of ``remotedir``."""
        self._c(
            _ffi.lib.psftp_makedirs(
                self._handle(), _ffi.enc_remote(remotedir), _ffi.mode_for_c(mode)
            ),
            remotedir,
        )

    def chmod(self, remotepath: RemotePath, mode: int = 777) -> None:
        """Set the mode, in pysftp's form: chmod(path, 644)."""
        self._c(
            _ffi.lib.psftp_chmod(self._handle(), _ffi.enc_remote(remotepath), _ffi.mode_for_c(mode)),
            remotepath,
        )

    def _chmod_posix(self, remotepath: RemotePath, bits: int) -> None:
        self._c(
            _ffi.lib.psftp_chmod(
                self._handle(), _ffi.enc_remote(remotepath), _ffi.posix_mode_for_c(bits)
            ),
            remotepath,
        )

    def _mkdir_posix(self, remotepath: RemotePath, bits: int) -> None:
        self._c(
            _ffi.lib.psftp_mkdir(
                self._handle(), _ffi.enc_remote(remotepath), _ffi.posix_mode_for_c(bits)
            ),
            remotepath,
        )

    def chown(
        self, remotepath: RemotePath, uid: Optional[int] = None, gid: Optional[int] = None
    ) -> None:
        """Set uid and/or gid; a missing one keeps its current value."""
        self._c(
            _ffi.lib.psftp_chown(
                self._handle(),
                _ffi.enc_remote(remotepath),
                -1 if uid is None else uid,
                -1 if gid is None else gid,
            ),
            remotepath,
        )

    def utime(self, remotepath: RemotePath, times: Optional[Tuple[float, float]]) -> None:
        """Beyond pysftp (paramiko's): set (atime, mtime); None is now."""
        if times is None:
            import time

            now = time.time()
            times = (now, now)
        self._c(
            _ffi.lib.psftp_utime(
                self._handle(), _ffi.enc_remote(remotepath), int(times[0]), int(times[1])
            ),
            remotepath,
        )

    def rmdir(self, remotepath: RemotePath) -> None:
        self._c(_ffi.lib.psftp_rmdir(self._handle(), _ffi.enc_remote(remotepath)), remotepath)

    def remove(self, remotefile: RemotePath) -> None:
        """Delete a file (not a directory)."""
        self._c(_ffi.lib.psftp_remove(self._handle(), _ffi.enc_remote(remotefile)), remotefile)

    unlink = remove

    def _two(self, name: str, src: RemotePath, dest: RemotePath, report: RemotePath) -> None:
        fn = getattr(_ffi.lib, "psftp_" + name)
        self._c(fn(self._handle(), _ffi.enc_remote(src), _ffi.enc_remote(dest)), report)

    def rename(self, remote_src: RemotePath, remote_dest: RemotePath) -> None:
        """Rename; IOError if ``remote_dest`` exists (posix_rename replaces)."""
        self._two("rename", remote_src, remote_dest, remote_src)

    def posix_rename(self, remote_src: RemotePath, remote_dest: RemotePath) -> None:
        """Beyond pysftp: rename that atomically replaces ``remote_dest``."""
        self._two("posix_rename", remote_src, remote_dest, remote_src)

    def hardlink(self, remote_src: RemotePath, remote_dest: RemotePath) -> None:
        """Beyond pysftp: ``remote_dest`` becomes another name of ``remote_src``."""
        self._two("hardlink", remote_src, remote_dest, remote_dest)

    def symlink(self, remote_src: RemotePath, remote_dest: RemotePath) -> None:
        """Create the link ``remote_dest`` pointing to ``remote_src``."""
        self._two("symlink", remote_src, remote_dest, remote_dest)

    def truncate(self, remotepath: RemotePath, size: int) -> int:
        """Set the file's size; returns the new size."""
        out = ctypes.c_uint64()
        self._c(
            _ffi.lib.psftp_truncate(
                self._handle(), _ffi.enc_remote(remotepath), size, ctypes.byref(out)
            ),
            remotepath,
        )
        return int(out.value)

    def statvfs(self, remotepath: RemotePath = ".") -> os.statvfs_result:
        """Beyond pysftp: file-system figures (statvfs@openssh.com)."""
        out = _ffi.sized(_ffi.StatVfsInfo)
        self._c(
            _ffi.lib.psftp_statvfs(self._handle(), _ffi.enc_remote(remotepath), ctypes.byref(out)),
            remotepath,
        )
        fields = (out.bsize, out.frsize, out.blocks, out.bfree, out.bavail, out.files,
                  out.ffree, out.favail, out.flag, out.namemax)
        return os.statvfs_result(fields)

    def open(self, remote_file: RemotePath, mode: str = "r", bufsize: int = -1) -> SFTPFile:
        """Open a remote file (paramiko's SFTPFile)."""
        out = ctypes.c_void_p()
        self._c(
            _ffi.lib.psftp_open(
                self._handle(), _ffi.enc_remote(remote_file), c_mode(mode), bufsize,
                ctypes.byref(out),
            ),
            remote_file,
        )
        name = _ffi.dec_str(_ffi.enc_remote(remote_file))
        cwd = self.getcwd()
        path = posixpath.join(cwd, name) if cwd else name
        return SFTPFile(self, int(out.value or 0), path, mode)

    file = open

    # -- transfers --------------------------------------------------------

    def _xopts(
        self,
        resume: bool = False,
        atomic: bool = True,
        fsync: bool = False,
        parallelism: Optional[int] = None,
        sync: bool = False,
        include: Union[None, str, Iterable[str]] = None,
        exclude: Union[None, str, Iterable[str]] = None,
        symlinks: str = "skip",
        preserve_mode: bool = False,
        on_error: str = "stop",
        retries: int = 0,
        retry_delay: float = 1.0,
        verify: str = "off",
    ) -> int:
        """C transfer options for the beyond-pysftp keywords; free with
        psftp_transfer_opts_free."""
        lib = _ffi.lib
        out = ctypes.c_void_p()
        self._c(lib.psftp_transfer_opts_new(ctypes.byref(out)))
        h = int(out.value or 0)
        try:
            self._c(lib.psftp_transfer_opts_set_atomic(h, bool(atomic)))
            self._c(lib.psftp_transfer_opts_set_resume(h, bool(resume)))
            self._c(lib.psftp_transfer_opts_set_fsync(h, bool(fsync)))
            self._c(lib.psftp_transfer_opts_set_sync(h, bool(sync)))
            self._c(lib.psftp_transfer_opts_set_preserve_mode(h, bool(preserve_mode)))
            if parallelism is not None:
                self._c(lib.psftp_transfer_opts_set_parallelism(h, int(parallelism)))
            if retries:
                self._c(lib.psftp_transfer_opts_set_retries(h, int(retries), float(retry_delay)))
            if verify not in _ffi.VERIFY:
                raise ValueError(f"verify must be one of {sorted(_ffi.VERIFY)}, not {verify!r}")
            self._c(lib.psftp_transfer_opts_set_verify(h, _ffi.VERIFY[verify]))
            if symlinks not in _ffi.SYMLINKS:
                raise ValueError(f"symlinks must be one of {sorted(_ffi.SYMLINKS)}, not {symlinks!r}")
            self._c(lib.psftp_transfer_opts_set_symlinks(h, _ffi.SYMLINKS[symlinks]))
            if on_error not in _ffi.ON_ERROR:
                raise ValueError(f"on_error must be one of {sorted(_ffi.ON_ERROR)}, not {on_error!r}")
            self._c(lib.psftp_transfer_opts_set_on_error(h, _ffi.ON_ERROR[on_error]))
            for pats, add in ((include, lib.psftp_transfer_opts_add_include),
                              (exclude, lib.psftp_transfer_opts_add_exclude)):
                if pats is None:
                    continue
                for p in [pats] if isinstance(pats, str) else pats:
                    self._c(add(h, p.encode("utf-8", "surrogateescape")))
        except BaseException:
            lib.psftp_transfer_opts_free(h)
            raise
        return h

    def _run_transfer(
        self,
        state: _calls.CallState,
        subject: Any,
        options: Dict[str, Any],
        call: Callable[[int], int],
    ) -> None:
        """Run ``call(transfer_opts)`` as one call of this connection, with
        C transfer options built from ``options`` and freed afterwards."""
        x = self._xopts(**options)
        try:
            self._run(state, lambda: call(x), subject)
        finally:
            _ffi.lib.psftp_transfer_opts_free(x)

    def get(
        self,
        remotepath: RemotePath,
        localpath: Optional[LocalPath] = None,
        callback: Optional[Progress] = None,
        preserve_mtime: bool = False,
        *,
        resume: bool = False,
        atomic: bool = True,
        fsync: bool = False,
        parallelism: Optional[int] = None,
        retries: int = 0,
        retry_delay: float = 1.0,
        verify: str = "off",
    ) -> None:
        """Copy a remote file to ``localpath`` (default: its name in the
        local working directory). ``callback(bytes_so_far, total)``.

        Beyond pysftp: ``resume`` continues an interrupted download,
        ``atomic`` (default True) writes a part file and renames it into
        place, ``fsync`` flushes to disk first, ``parallelism`` caps the
        connections a large file may use on a slow link, ``retries``
        reconnects and continues after the link failed (first after
        ``retry_delay`` seconds, doubled each time; see last_retries),
        ``verify`` ("on": the server's check-file digest or a read-back;
        "allow-exec": also sha256sum on the server)
        checks the copy before it is put in place (IntegrityError if it
        differs; the old file stays)."""
        state = _calls.CallState()
        cb = state.progress(callback)
        rp = _ffi.enc_remote(remotepath)
        lp = None if localpath is None else _ffi.enc_local(localpath)
        self._run_transfer(
            state,
            remotepath,
            dict(resume=resume, atomic=atomic, fsync=fsync, parallelism=parallelism,
                 retries=retries, retry_delay=retry_delay, verify=verify),
            lambda x: _ffi.lib.psftp_get(self._handle(), rp, lp, cb, None, bool(preserve_mtime), x),
        )

    def put(
        self,
        localpath: LocalPath,
        remotepath: Optional[RemotePath] = None,
        callback: Optional[Progress] = None,
        confirm: bool = True,
        preserve_mtime: bool = False,
        *,
        resume: bool = False,
        atomic: bool = True,
        fsync: bool = False,
        parallelism: Optional[int] = None,
        retries: int = 0,
        retry_delay: float = 1.0,
        verify: str = "off",
    ) -> SFTPAttributes:
        """Copy a local file to ``remotepath`` (default: its name in the
        remote pwd); returns the remote SFTPAttributes (from the confirming
        stat; empty without ``confirm``). Keywords as for get()."""
        state = _calls.CallState()
        cb = state.progress(callback)
        lp = _ffi.enc_local(localpath)
        rp = None if remotepath is None else _ffi.enc_remote(remotepath)
        a = _ffi.sized(_ffi.Attrs)
        self._run_transfer(
            state,
            os.fsdecode(lp),
            dict(resume=resume, atomic=atomic, fsync=fsync, parallelism=parallelism,
                 retries=retries, retry_delay=retry_delay, verify=verify),
            lambda x: _ffi.lib.psftp_put(
                self._handle(), lp, rp, cb, None, bool(confirm), bool(preserve_mtime), x,
                ctypes.byref(a),
            ),
        )
        return SFTPAttributes._from_c(a)

    def getfo(self, remotepath: RemotePath, flo: Any, callback: Optional[Progress] = None) -> int:
        """Copy a remote file into the file-like object ``flo``; returns the
        number of bytes written."""
        state = _calls.CallState()
        write = flo.write

        def sink(data: Any, n: int, _ud: Any) -> int:
            return 0 if state.guard(write, ctypes.string_at(data, n)) else 1

        wcb = _ffi.WRITE_CB(sink)
        state.keep.append(wcb)
        cb = state.progress(callback)
        out = ctypes.c_uint64()
        rp = _ffi.enc_remote(remotepath)
        self._run(
            state,
            lambda: _ffi.lib.psftp_getfo(self._handle(), rp, wcb, cb, None, ctypes.byref(out)),
            remotepath,
        )
        return int(out.value)

    def putfo(
        self,
        flo: Any,
        remotepath: Optional[RemotePath] = None,
        file_size: int = 0,
        callback: Optional[Progress] = None,
        confirm: bool = True,
        *,
        atomic: bool = True,
        fsync: bool = False,
    ) -> SFTPAttributes:
        """Upload what ``flo.read()`` supplies to ``remotepath`` (TypeError
        if it is None). ``file_size`` is the callback's total."""
        if remotepath is None:
            raise TypeError("putfo: remotepath must be given")
        state = _calls.CallState()
        readinto = getattr(flo, "readinto", None)

        def source(buf: Any, n: int, _ud: Any) -> int:
            box: List[int] = []

            def fill() -> None:
                if readinto is not None:
                    view = (ctypes.c_uint8 * n).from_address(ctypes.addressof(buf.contents))
                    got = readinto(memoryview(view).cast("B"))
                    box.append(int(got or 0))
                    return
                data = flo.read(n)
                if isinstance(data, str):
                    data = data.encode("utf-8")
                if len(data) > n:
                    raise ValueError(f"putfo: read({n}) returned {len(data)} bytes")
                ctypes.memmove(buf, data, len(data))
                box.append(len(data))

            return box[0] if state.guard(fill) else -1

        rcb = _ffi.READ_CB(source)
        state.keep.append(rcb)
        cb = state.progress(callback)
        rp = _ffi.enc_remote(remotepath)
        a = _ffi.sized(_ffi.Attrs)
        self._run_transfer(
            state,
            remotepath,
            dict(atomic=atomic, fsync=fsync),
            lambda x: _ffi.lib.psftp_putfo(
                self._handle(), rcb, rp, int(file_size or 0), cb, None, bool(confirm), x,
                ctypes.byref(a),
            ),
        )
        return SFTPAttributes._from_c(a)

    # -- tree operations --------------------------------------------------

    def _tree(
        self,
        name: str,
        src: Any,
        dst: Any,
        flags: Tuple[bool, ...],
        progress: Optional[TreeCallback],
        opts: Dict[str, Any],
        report: Any,
    ) -> None:
        state = _calls.CallState()

        def on_progress(p: Any, _ud: Any) -> int:
            if state.cancel.is_set() or state.errors:
                return 1
            if progress is None:
                return 0
            v = p.contents
            tp = TreeProgress(
                v.files_done, v.files_total, v.bytes_done, v.bytes_total,
                _ffi.dec_str(v.current_path or b""),
            )
            return 0 if state.guard(progress, tp) else 1

        tcb = _ffi.TREE_PROGRESS_CB(on_progress)
        state.keep.append(tcb)
        failures = ctypes.POINTER(_ffi.FailureList)()
        fn = getattr(_ffi.lib, "psftp_" + name)
        try:
            self._run_transfer(
                state,
                report,
                opts,
                lambda x: fn(self._handle(), src, dst, *flags, tcb, None, x, ctypes.byref(failures)),
            )
        except Error as e:
            e.failures = [
                Failure(f.path, _ffi.code_name(f.code), f.message)
                for f in _ffi.take_failures(failures)
            ]
            failures = ctypes.POINTER(_ffi.FailureList)()
            raise
        finally:
            _ffi.take_failures(failures)

    def get_d(
        self,
        remotedir: RemotePath,
        localdir: LocalPath,
        preserve_mtime: bool = False,
        *,
        progress: Optional[TreeCallback] = None,
        **options: Any,
    ) -> None:
        """Copy the regular files directly inside ``remotedir`` into
        ``localdir``. Keywords beyond pysftp: see get_r()."""
        self._tree("get_d", _ffi.enc_remote(remotedir), _ffi.enc_local(localdir),
                   (bool(preserve_mtime),), progress, options, remotedir)

    def get_r(
        self,
        remotedir: RemotePath,
        localdir: LocalPath,
        preserve_mtime: bool = False,
        *,
        progress: Optional[TreeCallback] = None,
        **options: Any,
    ) -> None:
        """Copy the tree ``remotedir`` to ``localdir`` (it lands at
        reparent(localdir, remotedir), as in pysftp).

        Beyond pysftp, as keywords: ``progress(TreeProgress)``,
        ``parallelism`` (connections, default 4), ``sync`` (skip files with
        the same size and mtime), ``include``/``exclude`` (globs),
        ``symlinks`` ("skip", "follow", "copy": links whose target stays in
        the tree, "copy-all": every link verbatim), ``preserve_mode``,
        ``on_error`` ("stop", or "continue": the exception's ``failures``
        lists every failed entry), ``resume``, ``atomic``, ``fsync``,
        ``retries``, ``retry_delay`` and ``verify`` (as for get(); a retry
        skips the files already copied)."""
        self._tree("get_r", _ffi.enc_remote(remotedir), _ffi.enc_local(localdir),
                   (bool(preserve_mtime),), progress, options, remotedir)

    def put_d(
        self,
        localpath: LocalPath,
        remotepath: RemotePath,
        confirm: bool = True,
        preserve_mtime: bool = False,
        *,
        progress: Optional[TreeCallback] = None,
        **options: Any,
    ) -> None:
        """Copy the regular files directly inside ``localpath`` into
        ``remotepath``. Keywords beyond pysftp: see get_r()."""
        self._tree("put_d", _ffi.enc_local(localpath), _ffi.enc_remote(remotepath),
                   (bool(confirm), bool(preserve_mtime)), progress, options, remotepath)

    def put_r(
        self,
        localpath: LocalPath,
        remotepath: RemotePath,
        confirm: bool = True,
        preserve_mtime: bool = False,
        *,
        progress: Optional[TreeCallback] = None,
        **options: Any,
    ) -> None:
        """Copy the contents of ``localpath``, recursively, into
        ``remotepath`` (directories are created; existing ones are fine).
        Keywords beyond pysftp: see get_r()."""
        self._tree("put_r", _ffi.enc_local(localpath), _ffi.enc_remote(remotepath),
                   (bool(confirm), bool(preserve_mtime)), progress, options, remotepath)

    def walktree(
        self,
        remotepath: RemotePath,
        fcallback: Optional[WalkCallback],
        dcallback: Optional[WalkCallback],
        ucallback: Optional[WalkCallback],
        recurse: bool = True,
    ) -> None:
        """Walk the remote tree depth first, calling fcallback(path) for
        files, dcallback(path) for directories, ucallback(path) for the
        rest. Symlinks are never descended into."""
        state = _calls.CallState()
        as_bytes = isinstance(remotepath, bytes)
        cbs = [_walk_trampoline(state, fn, as_bytes) for fn in (fcallback, dcallback, ucallback)]
        rp = _ffi.enc_remote(remotepath)
        self._run(
            state,
            lambda: _ffi.lib.psftp_walktree(self._handle(), rp, *cbs, bool(recurse), None),
            remotepath,
        )


def _walk_trampoline(state: _calls.CallState, fn: Optional[WalkCallback], as_bytes: bool) -> Any:
    if fn is None:
        return _ffi.NO_WALK

    def cb(path: bytes, _attrs: Any, _ud: Any) -> int:
        if state.cancel.is_set():
            return -1
        return 0 if state.guard(fn, _ffi.dec_remote(path, as_bytes)) else -1

    t = _ffi.WALK_CB(cb)
    state.keep.append(t)
    return t


class SFTPClient:
    """``Connection.sftp_client``: paramiko's method names and semantics
    (modes in POSIX bits, e.g. chmod(path, 0o644); mkdir(path, mode=0o777))
    on the same connection, and ``session_ptr``/``sftp_ptr``, the raw
    LIBSSH2_SESSION and LIBSSH2_SFTP pointers for ctypes users of libssh2.
    libssh2 sessions are not thread-safe: use the pointers only inside
    ``with client.locked():``, which keeps other threads' calls on the
    connection and its keepalives waiting until the block ends."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        session, sftp = ctypes.c_void_p(), ctypes.c_void_p()
        conn._c(_ffi.lib.psftp_sftp_client(conn._handle(), ctypes.byref(session), ctypes.byref(sftp)))
        self.session_ptr = int(session.value or 0)
        self.sftp_ptr = int(sftp.value or 0)

    def chmod(self, path: RemotePath, mode: int) -> None:
        self._conn._chmod_posix(path, mode)

    def mkdir(self, path: RemotePath, mode: int = 0o777) -> None:
        self._conn._mkdir_posix(path, mode)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Take the connection for this thread while the block runs
        (psftp_lock): other threads' calls on it wait, keepalives pause,
        this thread's own calls still work. For direct libssh2 calls on
        ``session_ptr``/``sftp_ptr``; keep the block short."""
        h = self._conn._handle()
        self._conn._c(_ffi.lib.psftp_lock(h))
        try:
            yield
        finally:
            self._conn._c(_ffi.lib.psftp_unlock(h))

    def getcwd(self) -> Optional[str]:
        return self._conn.getcwd()

    def chdir(self, path: Optional[RemotePath] = None) -> None:
        self._conn._c(
            _ffi.lib.psftp_chdir(self._conn._handle(), None if path is None else _ffi.enc_remote(path)),
            path,
        )

    def __getattr__(self, name: str) -> Any:
        if name in _PARAMIKO_NAMES:
            return getattr(self._conn, name)
        raise AttributeError(name)


_PARAMIKO_NAMES = frozenset(
    "listdir listdir_attr stat lstat open file remove unlink rename posix_rename rmdir "
    "symlink readlink normalize chown utime truncate get put getfo putfo statvfs "
    "close".split()
)
