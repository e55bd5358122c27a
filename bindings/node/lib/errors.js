'use strict';
// psftp result codes as JS errors. Messages always come from psftp: from
// the connection's stored copy after an async call (worker threads do not
// share psftp's thread-local error), from an out-parameter for connect, or
// from the thread-local error after a synchronous call.

const os = require('node:os');
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

// Node's codes for psftp's kinds (what fs and net use for the same failure).
const NODE_CODES = {
  ENOTFOUND: 'ENOENT', // no such file; Node's ENOTFOUND is a failed DNS lookup
  EPERM: 'EACCES', // the server refused: permission denied
  EEXIST: 'EEXIST',
  ENOTDIR: 'ENOTDIR',
  ENOTEMPTY: 'ENOTEMPTY',
  ETIMEDOUT: 'ETIMEDOUT',
  ECANCELED: 'ECANCELED',
  ECONNLOST: 'ECONNRESET',
  EUNSUPPORTED: 'ENOTSUP',
  EINVAL: 'EINVAL',
  ELOCALIO: 'EIO',
};

const OS_NAMES = Object.fromEntries(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/**
 * The Node code of a psftp failure: the OS errno's name when psftp has
 * one (ECONNREFUSED, ENOSPC, a local EACCES), ENOTFOUND only for a host
 * name that did not resolve, else the Node name of psftp's kind; kinds
 * Node has no name for (EAUTH, EHOSTKEY, ESSH, ...) keep psftp's.
 */
function nodeCode(kind, osErrno, message) {
  if (kind === 'ECONNECT' && /cannot resolve host/.test(message)) return 'ENOTFOUND';
  const fromMessage = /\(os error (\d+)\)/.exec(message);
  const errno = osErrno > 0 ? osErrno : fromMessage && ['ECONNECT', 'ELOCALIO', 'ECONNLOST'].includes(kind) ? Number(fromMessage[1]) : 0;
  if (errno > 0 && OS_NAMES[errno]) return OS_NAMES[errno];
  return NODE_CODES[kind] ?? kind;
}

class PsftpError extends Error {
  /**
   * @param {number} errno psftp result code (negative)
   * @param {string} message psftp's message
   * @param {number} osErrno the OS errno psftp recorded (0: none)
   */
  constructor(errno, message, osErrno = 0) {
    super(message || fns.psftp_strerror(errno));
    this.name = 'PsftpError';
    /** psftp's name of the failure (ENOTFOUND, EPERM, EAUTH, ...). */
    this.psftpCode = codeName(errno);
    /** Node's code for it (ENOENT, EACCES, ECONNREFUSED, ENOTFOUND for DNS, ...). */
    this.code = nodeCode(this.psftpCode, osErrno, this.message);
    /** psftp's number of the failure (psftp.codes). */
    this.errno = errno;
  }
}

/** The error of a failed synchronous call, from this thread's last error. */
function threadError(rc) {
  return new PsftpError(rc, fns.psftp_last_error(), fns.psftp_last_error_errno());
}

/** Throw if a synchronous call failed. */
function checkSync(rc) {
  if (rc < 0) throw threadError(rc);
  return rc;
}

/** The error of a failed async call on `conn`, from the connection's copy. */
function connError(conn, rc) {
  // These take only the stored error's own lock, never the connection's,
  // so reading them cannot block the event loop. Each connection call runs
  // on its own handle and file calls run one at a time (see channel.js),
  // so the stored error is this call's; the code check guards that
  // assumption rather than show a wrong message.
  if (fns.psftp_conn_last_error_code(conn) !== rc) return new PsftpError(rc, '');
  const osErrno = fns.psftp_conn_last_error_errno(conn);
  return new PsftpError(rc, takeString(fns.psftp_conn_last_error(conn)), osErrno);
}

module.exports = { PsftpError, codes, codeName, nodeCode, checkSync, connError };
