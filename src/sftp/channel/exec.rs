//! Remote commands (pysftp's `execute`, the verification's exec digest)
//! on an exec channel beside the SFTP channel, sharing the session the way
//! the SFTP ports do: each libssh2 call runs non-blocking under the
//! writer lock, for one packet's worth of work, and the waits in between
//! hold nothing. So a silent command never freezes the other calls of the
//! connection (before, the whole command ran under the writer lock with
//! the session blocking).

use std::io::Read;
use std::time::Instant;

use super::SftpLink;
use crate::core::liveness::{Limit, WaitFailure};
use crate::error::{Error, ErrorKind, Result};

/// What a remote command wrote, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_status: i32,
}

/// One try of a non-blocking libssh2 call.
enum Step<R> {
    Done(R),
    /// Bytes moved, not finished: try again at once.
    Moved,
    /// Would block: wait for the socket.
    Again,
}

/// libssh2's "would block" as a step; any other error fails with `fail`.
fn ssh_step<R>(
    r: std::result::Result<R, ssh2::Error>,
    fail: impl FnOnce(ssh2::Error) -> Error,
) -> Result<Step<R>> {
    match r {
        Ok(v) => Ok(Step::Done(v)),
        Err(e) if e.code() == ssh2::ErrorCode::Session(libssh2_sys::LIBSSH2_ERROR_EAGAIN) => {
            Ok(Step::Again)
        }
        Err(e) => Err(fail(e)),
    }
}

/// Both output streams of a channel, read as they come (a command that
/// fills its stderr window while psftp waits on stdout would wait for
/// ever otherwise).
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    eof: [bool; 2],
    /// The most bytes of stdout wanted (more is an error).
    limit: usize,
}

impl Output {
    fn read(&mut self, ch: &mut ssh2::Channel, doing: &str) -> Result<Step<()>> {
        let mut moved = false;
        let mut buf = [0u8; 32 * 1024];
        for (i, stream) in [0, ssh2::EXTENDED_DATA_STDERR].into_iter().enumerate() {
            if self.eof[i] {
                continue;
            }
            match ch.stream(stream).read(&mut buf) {
                Ok(0) => self.eof[i] = true,
                Ok(n) => {
                    let out = if i == 0 {
                        &mut self.stdout
                    } else {
                        &mut self.stderr
                    };
                    out.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::ConnectionLost,
                        format!("{doing}: {e}"),
                    ))
                }
            }
        }
        if self.stdout.len() > self.limit {
            return Err(Error::new(
                ErrorKind::Ssh,
                format!("{doing}: more than {} bytes of output", self.limit),
            ));
        }
        Ok(match (self.eof, moved) {
            ([true, true], _) => Step::Done(()),
            (_, true) => Step::Moved,
            _ => Step::Again,
        })
    }
}

impl SftpLink {
    /// Run `command` on the server over an exec channel of this link's
    /// session: stdout (at most `limit` bytes), stderr and the exit
    /// status. The other calls of the connection go on meanwhile. Waits
    /// are bounded by `bound`: the stall timeout, or only pysftp's
    /// `timeout` (execute: a command may stay silent for minutes); a dead
    /// server (keepalives) ends either. A stall leaves the link usable.
    pub fn exec(&self, command: &str, limit: usize, bound: Limit) -> Result<ExecOutput> {
        let doing = format!("execute '{command}' on {}", self.peer);
        let ssh_fail = |e: ssh2::Error| Error::new(ErrorKind::Ssh, format!("{doing}: {e}"));
        let _nb = super::NonBlocking::new(self);
        let mut ch = {
            let _one = self.opening.lock();
            self.run(&doing, bound, || {
                ssh_step(self.session.channel_session(), ssh_fail)
            })?
        };
        let result = self.exec_on(&mut ch, command, limit, bound, &doing);
        if result.is_ok() {
            // The server closed its side: this sends ours and is done, so
            // freeing the channel sends nothing.
            let _ = self.run(&doing, bound, || ssh_step(ch.close(), ssh_fail));
        }
        // After a failure, no wait for a command that may still run: one
        // try to send the close, and libssh2 keeps the channel (a few
        // hundred bytes) until the session ends if it could not finish.
        let _w = self.writer.lock();
        if result.is_err() && self.check_usable().is_ok() {
            let _ = ch.close();
        }
        drop(ch);
        result
    }

    fn exec_on(
        &self,
        ch: &mut ssh2::Channel,
        command: &str,
        limit: usize,
        bound: Limit,
        doing: &str,
    ) -> Result<ExecOutput> {
        let ssh_fail = |e: ssh2::Error| Error::new(ErrorKind::Ssh, format!("{doing}: {e}"));
        self.run(doing, bound, || ssh_step(ch.exec(command), ssh_fail))?;
        let mut out = Output {
            stdout: Vec::new(),
            stderr: Vec::new(),
            eof: [false; 2],
            limit,
        };
        self.run(doing, bound, || out.read(ch, doing))?;
        self.run(doing, bound, || ssh_step(ch.wait_close(), ssh_fail))?;
        let exit_status = ch.exit_status().map_err(ssh_fail)?;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_status,
        })
    }

    /// Try `step` until it is done: each try under the writer (never
    /// into another port's half-sent packet), the waits between tries
    /// holding nothing unless libssh2 has a packet of this step half sent.
    fn run<R>(
        &self,
        doing: &str,
        bound: Limit,
        mut step: impl FnMut() -> Result<Step<R>>,
    ) -> Result<R> {
        let mut since = Instant::now();
        loop {
            let w = self.writer.lock();
            match step()? {
                Step::Done(r) => return Ok(r),
                Step::Moved => since = Instant::now(),
                Step::Again => {
                    let sending = matches!(
                        self.session.block_directions(),
                        ssh2::BlockDirections::Outbound | ssh2::BlockDirections::Both
                    );
                    let held = sending.then_some(w);
                    self.wait_for(since, held.is_some(), bound)
                        .map_err(|f| self.exec_wait_failed(f, doing))?;
                }
            }
        }
    }

    /// A stalled command is the command's failure (Timeout); a server
    /// given up is the link's (it is broken for every call).
    fn exec_wait_failed(&self, f: WaitFailure, doing: &str) -> Error {
        match f {
            WaitFailure::Stalled(..) => f.into_error("waiting for", doing),
            _ => self.fail(f.into_error("waiting for", doing)),
        }
    }
}
