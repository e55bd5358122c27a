// ES module entry point: the same objects as the CommonJS one (index.js).
import psftp from './index.js';

export const {
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
  SEEK_SET,
  SEEK_CUR,
  SEEK_END,
  stModeToInt,
  st_mode_to_int,
  pathAdvance,
  path_advance,
  pathRetreat,
  path_retreat,
  reparent,
  walktree,
  cd,
  localCdPush,
  localCdPop,
  version,
  strerror,
} = psftp;

export default psftp;
