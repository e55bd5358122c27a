'use strict';
// connect()'s keyboardInteractive over psftp_connect_opts_set_kbdint_callback.
//
// psftp asks during psftp_connect_with, on the worker thread running it; koffi
// runs the JS function on the event loop thread while that worker waits,
// so the answers are needed synchronously (a code from a TOTP secret, a
// value prepared beforehand). A one-time code cannot be asked for again on
// a second attempt the way a host key can, so a Promise is not accepted.

const { koffi, fns, types, entriesOf } = require('./native');
const { checkSync } = require('./errors');
const { ConnectCallback } = require('./callbacks');
const args = require('./args');

class KbdIntAnswerer extends ConnectCallback {
  #fn;

  constructor(fn) {
    super();
    this.#fn = fn;
  }

  #answer(reqPtr, answers) {
    const req = koffi.decode(reqPtr, types.kbdRequest);
    const count = Number(req.num_prompts);
    const prompts = entriesOf(req.prompts, count, types.kbdPrompt).map((p) => ({ prompt: p.text, echo: p.echo }));
    const replies = this.#fn({ host: req.host, port: req.port, user: req.user, name: req.name, instruction: req.instruction, prompts });
    if (replies === false || replies === null) return 1; // give up: EUSER
    if (replies !== undefined && typeof replies.then === 'function') {
      throw args.invalid('keyboardInteractive\'s answer', 'an array of strings, returned synchronously', 'a Promise');
    }
    (replies ?? []).slice(0, count).forEach((r, i) => {
      checkSync(fns.psftp_kbdint_answer(answers, i, args.str(r, `keyboardInteractive answer ${i}`)));
    });
    return 0;
  }

  /**
   * Register on `connectOpts` for one psftp_connect_with; returns the
   * unregister function (psftp never calls it after the connect: the
   * extra connections of tree operations do not ask).
   */
  install(connectOpts) {
    const answer = (reqPtr, answers) => this.#answer(reqPtr, answers);
    return this.register(answer, types.kbdintCb, 1, 'psftp_connect_opts_set_kbdint_callback', connectOpts);
  }
}

module.exports = { KbdIntAnswerer };
