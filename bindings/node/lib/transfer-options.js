'use strict';
// psftp_transfer_opts from a plain options object. Every transfer call
// (get, put, putfo, and later getR/putR/getD/putD) builds its options here:
// a new C option is one more line in SETTERS.

const { fns } = require('./native');
const { checkSync } = require('./errors');
const args = require('./args');

// JS option name -> [C setter, argument check].
const SETTERS = {
  atomic: ['psftp_transfer_opts_set_atomic', args.bool],
  resume: ['psftp_transfer_opts_set_resume', args.bool],
  fsync: ['psftp_transfer_opts_set_fsync', args.bool],
};

function givenSettings(options) {
  return Object.keys(SETTERS).filter((name) => options[name] !== undefined);
}

/** Build the C options, let `body(handle)` use them, free them. NULL when none are given. */
async function withTransferOptions(options, body) {
  const given = givenSettings(options);
  if (given.length === 0) return body(null);
  const values = given.map((name) => SETTERS[name][1](options[name], `options.${name}`));
  const out = [null];
  checkSync(fns.psftp_transfer_opts_new(out));
  const handle = out[0];
  try {
    given.forEach((name, i) => checkSync(fns[SETTERS[name][0]](handle, values[i])));
    return await body(handle);
  } finally {
    fns.psftp_transfer_opts_free(handle);
  }
}

module.exports = { withTransferOptions };
