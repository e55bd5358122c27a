//! Per-call cancellation (issue 18): a cancel token, and connection
//! handles whose calls it stops. Cancelling stops only the calls made
//! through such a handle; the connection and every other call go on.

use std::ffi::c_int;

use super::conn::{conn_handle, psftp_conn, ConnHandle, CONNS};
use super::{arg_out, guard, guard_void, Registry};
use crate::sftp::CancelToken;

/// A cancel token: psftp_cancel_token_cancel() from any thread stops the
/// calls made through the connection handles that psftp_conn_with_cancel()
/// tied to it. Create with psftp_cancel_token_new(), release with
/// psftp_cancel_token_free() (handles tied to it keep working; they keep
/// their own reference).
pub struct psftp_cancel_token {
    _private: [u8; 0],
}

static TOKENS: Registry<CancelToken> = Registry::new("psftp_cancel_token", 7);

/// A new token, not cancelled.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_cancel_token_new(out: *mut *mut psftp_cancel_token) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            *out = TOKENS.insert(CancelToken::new());
            Ok(())
        })
    }
}

/// Cancel: from any thread. A call made through a handle tied to the
/// token returns PSFTP_E_CANCELLED at its next reply (at once if it is
/// waiting for another call's reading); its outstanding requests are
/// abandoned (their replies are dropped as they arrive), its remote
/// handles are closed and a get or put leaves no part file behind, as for
/// a callback's stop. Later calls through such handles fail with
/// PSFTP_E_CANCELLED until psftp_cancel_token_reset(). The connection and
/// calls through other handles are not affected. A call blocked on a
/// frozen link only returns when something arrives: psftp_interrupt() is
/// for that.
#[no_mangle]
pub extern "C" fn psftp_cancel_token_cancel(token: *mut psftp_cancel_token) -> c_int {
    guard(|| {
        TOKENS.get(token, "token")?.cancel();
        Ok(())
    })
}

/// Make the token usable again (not cancelled).
#[no_mangle]
pub extern "C" fn psftp_cancel_token_reset(token: *mut psftp_cancel_token) -> c_int {
    guard(|| {
        TOKENS.get(token, "token")?.reset();
        Ok(())
    })
}

/// Whether the token was cancelled.
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_cancel_token_is_cancelled(
    token: *mut psftp_cancel_token,
    out: *mut bool,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            *out = TOKENS.get(token, "token")?.is_cancelled();
            Ok(())
        })
    }
}

/// Release a token. NULL and a second free are ignored.
#[no_mangle]
pub extern "C" fn psftp_cancel_token_free(token: *mut psftp_cancel_token) {
    guard_void(|| {
        TOKENS.remove(token);
    })
}

/// A second handle on the connection `conn` whose calls `token` stops
/// (see psftp_cancel_token_cancel). It shares everything with `conn` (the
/// session, the working directory, the log); use it from any thread, and
/// release it with psftp_close(), which closes only this handle: the
/// connection stays open until psftp_close(conn). Once the connection is
/// closed, calls through the handle fail with PSFTP_E_CONNECTION_LOST.
/// A handle from this function may itself be `conn` (the new handle then
/// has `token` instead).
///
/// # Safety
/// `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn psftp_conn_with_cancel(
    conn: *mut psftp_conn,
    token: *mut psftp_cancel_token,
    out: *mut *mut psftp_conn,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `out` is writable.
    unsafe {
        guard(|| {
            let out = arg_out(out, "out")?;
            let h = conn_handle(conn)?;
            let token = TOKENS.get(token, "token")?;
            *out = CONNS.insert(ConnHandle::new(h.conn.clone(), Some((*token).clone())));
            Ok(())
        })
    }
}
