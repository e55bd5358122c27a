"""Running C calls that take long or call back into Python: keeping the
ctypes trampolines alive, handing exceptions raised in callbacks back to
the caller, and stopping a call on Ctrl-C.

Python runs signal handlers only on the main thread, between bytecodes: a
main thread blocked in a C call (even with the GIL released) would not
see Ctrl-C until the transfer ends. So a long call made on the main thread
runs on a helper thread while the main thread waits, interruptibly. On
Ctrl-C the call is first asked to stop at its next progress step (the
destination is left as it was, the connection stays usable); if it has not
stopped within CANCEL_GRACE seconds (a stalled link), the connection is
interrupted (psftp_interrupt: the call returns at once, the connection is
unusable). Either way the caller gets KeyboardInterrupt once the call has
ended.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Optional, Tuple

from . import _ffi

CANCEL_GRACE = 1.0


class CallState:
    """One C call's Python side: trampolines kept alive, exceptions raised
    by callbacks, and the flag that makes progress callbacks stop it."""

    def __init__(self) -> None:
        self.keep: List[Any] = []
        self.errors: List[BaseException] = []
        self.cancel = threading.Event()

    def guard(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Run a user callback; False (stop the call) if it raised."""
        try:
            fn(*args)
            return True
        except BaseException as e:  # noqa: BLE001 - re-raised after the call
            self.errors.append(e)
            return False

    def progress(self, user: Optional[Callable[[int, int], Any]]) -> Any:
        """A C progress callback: pysftp's callback(bytes_so_far, total),
        and the stop flag."""

        def cb(done: int, total: int, _ud: Any) -> int:
            if self.cancel.is_set() or self.errors:
                return 1
            if user is not None and not self.guard(user, done, total):
                return 1
            return 0

        t = _ffi.PROGRESS_CB(cb)
        self.keep.append(t)
        return t


Outcome = Tuple[int, Optional["_ffi.ErrorInfo"]]


def invoke(fn: Callable[[], int]) -> Outcome:
    """Make the C call and read its error on the same thread."""
    rc = int(fn())
    return rc, (_ffi.last_error(rc) if rc < 0 else None)


def run(
    state: CallState,
    fn: Callable[[], int],
    interrupt: Optional[Callable[[], None]],
    abandon: Optional[Callable[[], None]] = None,
) -> Outcome:
    """Run `fn` so that Ctrl-C stops it (see the module's text). With
    `abandon` (a connect, which nothing can cut short), Ctrl-C raises at
    once and `abandon` runs on the helper thread when the call ends."""
    if threading.current_thread() is not threading.main_thread():
        return invoke(fn)
    box: List[Any] = []
    done = threading.Event()
    lock = threading.Lock()
    abandoned = [False]

    def worker(state: CallState = state) -> None:
        # `state` keeps the call's trampolines alive until the C call has
        # returned, also when the caller has gone (an abandoned connect).
        try:
            box.append(invoke(fn))
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box.append(e)
        finally:
            with lock:
                done.set()
                if abandoned[0] and abandon is not None:
                    abandon()

    threading.Thread(target=worker, name="psftp-call", daemon=True).start()
    caught: Optional[BaseException] = None
    deadline_passed = False
    while not done.is_set():
        try:
            if caught is None:
                done.wait()
            elif not deadline_passed:
                if not done.wait(CANCEL_GRACE):
                    deadline_passed = True
                    if interrupt is not None:
                        interrupt()
            else:
                done.wait()
        except KeyboardInterrupt as e:
            if caught is None:
                caught = e
                state.cancel.set()
            if abandon is not None:
                with lock:
                    if not done.is_set():
                        abandoned[0] = True
                        raise
    if caught is not None:
        raise caught
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result  # type: ignore[no-any-return]
