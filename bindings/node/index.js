'use strict';
// psftp for Node: the pysftp 0.2.9 API over libpsftp, through koffi.
// Every network call runs on a worker thread and returns a Promise.

const { connect, Connection } = require('./lib/connection');
const { CnOpts } = require('./lib/cnopts');
const { SftpFile, SEEK } = require('./lib/file');
const { Attributes, DirEntry } = require('./lib/attrs');
const { PsftpError, codes } = require('./lib/errors');
const { AbortError } = require('./lib/channel');
const { WALK_SKIP } = require('./lib/callbacks');
const helpers = require('./lib/helpers');
const SftpClient = require('./lib/client');

module.exports = {
  connect,
  Connection,
  SftpClient,
  CnOpts,
  SftpFile,
  Attributes,
  DirEntry,
  PsftpError,
  AbortError,
  codes,
  WALK_SKIP,
  SEEK_SET: SEEK.SET,
  SEEK_CUR: SEEK.CUR,
  SEEK_END: SEEK.END,
  stModeToInt: helpers.stModeToInt,
  st_mode_to_int: helpers.stModeToInt,
  pathAdvance: helpers.pathAdvance,
  path_advance: helpers.pathAdvance,
  pathRetreat: helpers.pathRetreat,
  path_retreat: helpers.pathRetreat,
  reparent: helpers.reparent,
  walktree: helpers.walktree,
  cd: helpers.cd,
  localCdPush: helpers.localCdPush,
  localCdPop: helpers.localCdPop,
  version: helpers.version,
  strerror: helpers.strerror,
};
