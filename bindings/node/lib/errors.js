'use strict';
// psftp result codes as JS errors. Messages always come from psftp: from
// the connection's stored copy after an async call (worker threads do not
// share psftp's thread-local error), from an out-parameter for connect, or
// from the thread-local error after a synchronous call.

const { fns, takeString } = require('./native');

// psftp's one table of result codes, read from the library: the codes are
// contiguous from -1, each with its short name ("ENOTFOUND"), so a code
// added to psftp is known here without a change.
function readCodeTable() {
  const names = [];
  for (let code = -1; ; code--) {
    const name = fns.psftp_error_name(code);
    if (name === 'EUNKNOWN') return names;
    names.push(name);
  }
}

// Index i names the code -(i + 1).
const CODE_NAMES = readCodeTable();

/** { EINVAL: -1, ECONNECT: -2, ... }: the numeric psftp code of each name. */
const codes = Object.freeze(Object.fromEntries(CODE_NAMES.map((name, i) => [name, -(i + 1)])));

function codeName(errno) {
  return CODE_NAMES[-errno - 1] ?? 'EUNKNOWN';
}

class PsftpError extends Error {
  /**
   * @param {number} errno psftp result code (negative)
   * @param {string} message psftp's message
   */
  constructor(errno, message) {
    super(message || fns.psftp_strerror(errno));
    this.name = 'PsftpError';
    this.code = codeName(errno);
    this.errno = errno;
  }
}

/** The error of a failed synchronous call, from this thread's last error. */
function threadError(rc) {
  return new PsftpError(rc, fns.psftp_last_error());
}

/** Throw if a synchronous call failed. */
function checkSync(rc) {
  if (rc < 0) throw threadError(rc);
  return rc;
}

/** The error of a failed async call on `conn`, from the connection's copy. */
function connError(conn, rc) {
  // These take only the stored error's own lock, never the connection's,
  // so reading them cannot block the event loop. Calls on one connection
  // are queued (see channel.js), so the stored error is this call's; the
  // code check guards that assumption rather than show a wrong message.
  if (fns.psftp_conn_last_error_code(conn) !== rc) return new PsftpError(rc, '');
  return new PsftpError(rc, takeString(fns.psftp_conn_last_error(conn)));
}

module.exports = { PsftpError, codes, codeName, checkSync, connError };
