'use strict';
// connect()'s hostKeyCallback over psftp_cnopts_set_hostkey_callback.
//
// psftp asks during psftp_connect, on the worker thread running it; koffi
// runs the JS function on the event loop thread while that worker waits,
// so the C callback needs its answer synchronously. A function may still
// answer with a Promise (a prompt, a lookup): the binding then answers
// "reject" for now, lets that connect attempt fail, awaits the decision and,
// if it accepts, connects again, answering for exactly the key that was
// decided on (a different key is asked about again). No worker thread is
// ever held while the program decides, and the connect timeout does not
// run meanwhile.

const { koffi, types } = require('./native');
const { ConnectCallback } = require('./callbacks');
const args = require('./args');

// PSFTP_HOSTKEY_* answers by their JS names; true and false mean accept and reject.
const ANSWERS = { reject: 0, accept: 1, 'accept-and-save': 2 };
// PSFTP_HOSTKEY_STATUS_*.
const STATUS = { 1: 'unknown', 2: 'changed' };

/** The C answer for what the program's callback returned (or resolved with). */
function answerOf(value) {
  if (value === true) return ANSWERS.accept;
  if (value === false || value === undefined) return ANSWERS.reject; // no answer is no trust
  if (typeof value === 'string' && Object.hasOwn(ANSWERS, value)) return ANSWERS[value];
  throw args.invalid('hostKeyCallback\'s answer', "true, false, 'accept', 'accept-and-save' or 'reject'", value);
}

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
}

/** One connect() call's host-key decisions, over as many attempts as it takes. */
class HostKeyAsker extends ConnectCallback {
  #fn;
  // status + key -> C answer the program gave asynchronously
  #decided = new Map();
  #pending = null;

  constructor(fn) {
    super();
    this.#fn = fn;
  }

  #ask(host, port, keyPtr, status) {
    const raw = koffi.decode(keyPtr, types.hostkey);
    const key = {
      host,
      port,
      status: STATUS[status] ?? 'unknown',
      keyType: raw.key_type,
      base64: raw.base64,
      fingerprint: raw.fingerprint,
    };
    const id = `${key.status} ${key.keyType} ${key.base64}`;
    if (this.#decided.has(id)) return this.#decided.get(id);
    const result = this.#fn(key);
    if (!isThenable(result)) return answerOf(result);
    const decision = Promise.resolve(result);
    decision.catch(() => {}); // handled in acceptedLater(), after this attempt fails
    this.#pending = { id, decision };
    return ANSWERS.reject;
  }

  /**
   * Register the C callback on `cnoptsHandle` for one psftp_connect; the
   * returned function unregisters it (after psftp_connect has returned:
   * psftp calls it only during psftp_connect, never from a connection's
   * extra workers, which trust the key the first connection verified).
   */
  install(cnoptsHandle) {
    this.#pending = null;
    const ask = (host, port, keyPtr, status) => this.#ask(host, port, keyPtr, status);
    return this.register(ask, types.hostkeyCb, ANSWERS.reject, 'psftp_cnopts_set_hostkey_callback', cnoptsHandle);
  }

  /**
   * After a failed attempt: whether the program answered with a Promise
   * that resolved to accept, so connecting again is worth it. Rejects with
   * the Promise's rejection.
   */
  async acceptedLater() {
    if (!this.#pending) return false;
    const { id, decision } = this.#pending;
    this.#pending = null;
    const answer = answerOf(await decision);
    this.#decided.set(id, answer);
    return answer !== ANSWERS.reject;
  }
}

module.exports = { HostKeyAsker, HOSTKEY_ANSWERS: Object.freeze(Object.keys(ANSWERS)) };
