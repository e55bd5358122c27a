//! The keyboard-interactive callback of psftp_connect_opts: the round it
//! is given, the answers handle it fills, and the C callback as the core
//! calls it.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::{Arc, Mutex};

use parking_lot::ReentrantMutex;

use super::cnopts::{psftp_finalizer, ForeignData};
use super::{arg_str, c_message, guard, Registry};
use crate::core::auth::{KbdAnswers, KbdIntCallback, KbdRequest};

/// One prompt of a keyboard-interactive round. Handed out by psftp:
/// `struct_size` is what it filled (see PSFTP_HAS_FIELD).
#[repr(C)]
pub struct psftp_kbdint_prompt {
    pub struct_size: usize,
    /// The server's text, such as "Password: " or "Verification code: ".
    pub text: *const c_char,
    /// Whether the answer may be shown as it is typed (false for secrets).
    pub echo: bool,
}

/// A keyboard-interactive round: who asks, and what. Handed out by psftp
/// (`struct_size` is what it filled), valid during the callback only.
#[repr(C)]
pub struct psftp_kbdint_request {
    pub struct_size: usize,
    /// The endpoint asking: the server, or a jump host.
    pub host: *const c_char,
    pub port: c_int,
    pub user: *const c_char,
    /// The server's name for the exchange (often empty).
    pub name: *const c_char,
    /// The server's instruction text (often empty).
    pub instruction: *const c_char,
    pub num_prompts: usize,
    /// `num_prompts` pointers to the prompts, in the server's order.
    pub prompts: *const *const psftp_kbdint_prompt,
}

/// The answers of one keyboard-interactive round; fill them with
/// psftp_kbdint_answer() during the callback (valid during it only).
pub struct psftp_kbdint_answers {
    _private: [u8; 0],
}

static ANSWERS: Registry<Mutex<KbdAnswers>> = Registry::new("psftp_kbdint_answers", 6);

/// Answers keyboard-interactive prompts (passwords, one-time codes of a
/// second factor): answer each prompt with psftp_kbdint_answer(); a prompt
/// left unanswered gets the connection's password (for the server only),
/// else an empty answer. Return 0 to send the answers. Any other value
/// gives up: the connect fails with PSFTP_E_USER, and
/// psftp_last_callback_value() gives the value returned.
///
/// Called during psftp_connect_with(), on its thread, once per round (a
/// server may ask several: a password, then a code), for the server and
/// for jump hosts. Options shared by connects on several threads call it
/// from each of them, but never two at once: `user_data` must be usable
/// from any thread, one call at a time. Not called for the extra
/// connections of tree and split operations (a one-time code cannot be
/// given twice): once the callback was called while connecting (for the
/// server or a jump host), those operations run on the one connection.
pub type psftp_kbdint_cb = Option<
    unsafe extern "C" fn(
        request: *const psftp_kbdint_request,
        answers: *mut psftp_kbdint_answers,
        user_data: *mut c_void,
    ) -> c_int,
>;

/// Answer prompt `index` (0-based) of the round the callback was given;
/// psftp copies `answer` (and overwrites its copy after use), and never
/// shows it in a message or log. Callable only during the callback; a
/// later answer to the same prompt replaces the earlier one.
/// PSFTP_E_INVALID_ARG for a stale handle, an index out of range or an
/// answer that is not UTF-8 (RFC 4256 answers are UTF-8).
///
/// # Safety
/// `answer` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn psftp_kbdint_answer(
    answers: *mut psftp_kbdint_answers,
    index: usize,
    answer: *const c_char,
) -> c_int {
    // SAFETY: the caller keeps this function's contract: `answer` is a
    // NUL-terminated string.
    unsafe {
        guard(|| {
            let h = ANSWERS.get(answers, "answers")?;
            let answer = arg_str(answer, "answer")?;
            let mut a = h.lock().unwrap_or_else(|p| p.into_inner());
            a.set(index, answer)
        })
    }
}

/// The C callback and its user_data, callable from the core.
struct KbdIntCb {
    f: unsafe extern "C" fn(
        *const psftp_kbdint_request,
        *mut psftp_kbdint_answers,
        *mut c_void,
    ) -> c_int,
    user_data: ForeignData,
    /// Connects on several threads with the same options call the
    /// callback one at a time (re-entrant: a callback may connect).
    one_at_a_time: ReentrantMutex<()>,
}

impl KbdIntCb {
    fn ask(&self, q: &KbdRequest<'_>, answers: &mut KbdAnswers) -> std::result::Result<(), i64> {
        let texts: Vec<CString> = q.prompts.iter().map(|p| c_message(p.text)).collect();
        let prompts: Vec<psftp_kbdint_prompt> = q
            .prompts
            .iter()
            .zip(&texts)
            .map(|(p, t)| psftp_kbdint_prompt {
                struct_size: std::mem::size_of::<psftp_kbdint_prompt>(),
                text: t.as_ptr(),
                echo: p.echo,
            })
            .collect();
        let prompt_ptrs: Vec<*const psftp_kbdint_prompt> =
            prompts.iter().map(|p| p as *const _).collect();
        let (host, user, name, instruction) = (
            c_message(q.host),
            c_message(q.user),
            c_message(q.name),
            c_message(q.instruction),
        );
        let req = psftp_kbdint_request {
            struct_size: std::mem::size_of::<psftp_kbdint_request>(),
            host: host.as_ptr(),
            port: q.port as c_int,
            user: user.as_ptr(),
            name: name.as_ptr(),
            instruction: instruction.as_ptr(),
            num_prompts: prompt_ptrs.len(),
            prompts: prompt_ptrs.as_ptr(),
        };
        let _one = self.one_at_a_time.lock();
        // The answers live in the registry while the callback runs, so a
        // stale or forged handle is refused rather than followed.
        let handle: *mut psftp_kbdint_answers = ANSWERS.insert(Mutex::new(std::mem::take(answers)));
        // SAFETY: `f` and its user_data were given together to
        // psftp_connect_opts_set_kbdint_callback, whose contract makes them
        // a valid pair callable from any thread, one call at a time (the
        // lock above); the request, its strings and prompts live until it
        // returns.
        let rc = unsafe { (self.f)(&req, handle, self.user_data.get()) };
        if let Some(h) = ANSWERS.remove(handle) {
            // A psftp_kbdint_answer() still running on another thread
            // holds a reference for a moment: its answer is then lost,
            // as the callback had returned already.
            if let Ok(m) = Arc::try_unwrap(h) {
                *answers = m.into_inner().unwrap_or_else(|p| p.into_inner());
            }
        }
        match rc {
            0 => Ok(()),
            value => Err(value.into()),
        }
    }
}

/// The core's callback for a C callback and its user_data (which psftp
/// owns from here on: `finalizer` runs once, when the callback is dropped).
pub(crate) fn kbdint_callback(
    callback: psftp_kbdint_cb,
    user_data: *mut c_void,
    finalizer: psftp_finalizer,
) -> Option<KbdIntCallback> {
    let user_data = ForeignData::new(user_data, finalizer);
    callback.map(|f| {
        let cb = KbdIntCb {
            f,
            user_data,
            one_at_a_time: ReentrantMutex::new(()),
        };
        Arc::new(move |q: &KbdRequest<'_>, a: &mut KbdAnswers| cb.ask(q, a)) as KbdIntCallback
    })
}
