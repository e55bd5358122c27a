'use strict';
// psftp_transfer_opts from a plain options object. Every transfer call
// (get, put, putfo and the tree operations) builds its options here: a new
// C option is one more line in SETTERS.

const { fns } = require('./native');
const { checkSync } = require('./errors');
const args = require('./args');

// PSFTP_SYMLINKS_* and PSFTP_ON_ERROR_* by their JS names.
const SYMLINKS = { skip: 0, follow: 1, copy: 2, 'copy-all': 3 };
const ON_ERROR = { stop: 0, continue: 1 };
// PSFTP_VERIFY_*.
const VERIFY = { off: 0, on: 1, 'allow-exec': 2 };

function oneOf(table) {
  const names = Object.keys(table);
  return (value, name) => {
    if (!Object.hasOwn(table, value)) {
      throw args.invalid(name, `one of ${names.map((n) => `'${n}'`).join(', ')}`, value);
    }
    return table[value];
  };
}

/** A glob or a list of globs. */
function patterns(value, name) {
  const list = Array.isArray(value) ? value : [value];
  return list.map((pattern, i) => args.str(pattern, Array.isArray(value) ? `${name}[${i}]` : name));
}

// JS option name -> [C setter, argument check]. A check that returns an
// array of values (include, exclude) calls the setter once per value.
const SETTERS = {
  atomic: ['psftp_transfer_opts_set_atomic', args.bool],
  resume: ['psftp_transfer_opts_set_resume', args.bool],
  fsync: ['psftp_transfer_opts_set_fsync', args.bool],
  parallelism: ['psftp_transfer_opts_set_parallelism', (v, name) => args.int(v, name, 'int32')],
  sync: ['psftp_transfer_opts_set_sync', args.bool],
  include: ['psftp_transfer_opts_add_include', patterns],
  exclude: ['psftp_transfer_opts_add_exclude', patterns],
  symlinks: ['psftp_transfer_opts_set_symlinks', oneOf(SYMLINKS)],
  preserveMode: ['psftp_transfer_opts_set_preserve_mode', args.bool],
  onError: ['psftp_transfer_opts_set_on_error', oneOf(ON_ERROR)],
  verify: ['psftp_transfer_opts_set_verify', oneOf(VERIFY)],
  // With retryDelay (seconds, default 1) as the setter's second argument.
  retries: ['psftp_transfer_opts_set_retries', (v, name, options) => [[
    args.int(v, name, 'int32'),
    options.retryDelay === undefined ? 1 : args.num(options.retryDelay, 'options.retryDelay'),
  ]]],
};

/** The option names of tree operations (get and put take atomic, resume, fsync, parallelism). */
const TREE_SETTINGS = Object.keys(SETTERS);

function givenSettings(options) {
  return Object.keys(SETTERS).filter((name) => options[name] !== undefined);
}

/**
 * Check the settings of `options` (TypeErrors before anything reaches C)
 * and return a function that builds the C options, lets `body(handle)` use
 * them and frees them; NULL when none are given.
 */
function transferOptions(options) {
  const given = givenSettings(options);
  const values = given.map((name) => SETTERS[name][1](options[name], `options.${name}`, options));
  return async (body) => {
    if (given.length === 0) return body(null);
    const out = [null];
    checkSync(fns.psftp_transfer_opts_new(out));
    const handle = out[0];
    try {
      given.forEach((name, i) => {
        const setter = fns[SETTERS[name][0]];
        for (const value of [values[i]].flat()) checkSync(setter(handle, ...[value].flat()));
      });
      return await body(handle);
    } finally {
      fns.psftp_transfer_opts_free(handle);
    }
  };
}

/** Build the C options, let `body(handle)` use them, free them. NULL when none are given. */
async function withTransferOptions(options, body) {
  return transferOptions(options)(body);
}

module.exports = { withTransferOptions, transferOptions, TREE_SETTINGS };
