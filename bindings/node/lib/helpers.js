'use strict';
// pysftp's module functions. None touches the network, and none has a
// connection to keep its error, so they run synchronously and read
// psftp's thread-local error on this thread.

const fs = require('node:fs');
const { fns, takeString, takeStrarray } = require('./native');
const { checkSync } = require('./errors');
const { CallbackScope } = require('./callbacks');
const args = require('./args');

/** pysftp `st_mode_to_int`: 33188 gives 644. */
function stModeToInt(mode) {
  return fns.psftp_st_mode_to_int(args.int(mode, 'mode', 'uint32'));
}

function strarrayOf(name, ...rest) {
  const out = [null];
  checkSync(fns[name](...rest, out));
  return takeStrarray(out[0]);
}

// The path helpers take and give bytes like every path: a walked Buffer
// path can be reparented, and what is not UTF-8 comes back as a Buffer.

/** pysftp `path_advance`: './a/b' gives ['.', './a', './a/b']. */
function pathAdvance(thepath) {
  return strarrayOf('psftp_path_advance', args.path(thepath, 'thepath'));
}

/** pysftp `path_retreat`: the same paths, longest first. */
function pathRetreat(thepath) {
  return strarrayOf('psftp_path_retreat', args.path(thepath, 'thepath'));
}

/** pysftp `reparent(newparent, oldpath)`. */
function reparent(newparent, oldpath) {
  const out = [null];
  checkSync(fns.psftp_reparent(args.path(newparent, 'newparent'), args.path(oldpath, 'oldpath'), out));
  return takeString(out[0]);
}

/**
 * pysftp's module `walktree(localpath, fcallback, dcallback, ucallback,
 * recurse=True)` over a local directory, with the remote walk's rules.
 */
function walktree(localpath, fcallback, dcallback, ucallback, recurse = true) {
  const scope = new CallbackScope();
  const cb = (fn, name) => scope.walk(args.optFunc(fn, name));
  const rc = fns.psftp_local_walktree(
    args.path(localpath, 'localpath'),
    cb(fcallback, 'fcallback'),
    cb(dcallback, 'dcallback'),
    cb(ucallback, 'ucallback'),
    args.bool(recurse, 'recurse'),
    null,
  );
  scope.rethrow();
  checkSync(rc);
}

// Node caches process.cwd() and only process.chdir() refreshes it, so
// after psftp changed the directory with chdir(2), tell Node where it is
// (the native realpath resolves '.' from the real directory, not the cache).
function syncNodeCwd() {
  process.chdir(fs.realpathSync.native('.'));
}

/** Remember the process's directory and chdir to `localpath` (null: only remember). */
function localCdPush(localpath) {
  checkSync(fns.psftp_local_cd_push(args.optPath(localpath, 'localpath')));
  syncNodeCwd();
}

function localCdPop() {
  checkSync(fns.psftp_local_cd_pop());
  syncNodeCwd();
}

/**
 * pysftp's module `with cd(localpath):` — runs `await body()` in
 * `localpath` and restores the process's directory. Process-wide, like
 * process.chdir(): other code running meanwhile sees it too.
 */
async function cd(localpath, body) {
  if (typeof localpath === 'function') return cd(null, localpath);
  args.func(body, 'body');
  localCdPush(localpath);
  try {
    return await body();
  } finally {
    localCdPop();
  }
}

/** The library's version, 'MAJOR.MINOR.PATCH'. */
function version() {
  return fns.psftp_version();
}

/** The C name of a result code ('PSFTP_E_NOT_FOUND'). */
function strerror(code) {
  return fns.psftp_strerror(args.int(code, 'code', 'int32'));
}

module.exports = {
  stModeToInt,
  pathAdvance,
  pathRetreat,
  reparent,
  walktree,
  cd,
  localCdPush,
  localCdPop,
  version,
  strerror,
};
