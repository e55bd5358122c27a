'use strict';
// psftp_attrs as a JS object (paramiko's SFTPAttributes): a field the
// server did not send (its PSFTP_ATTR_* bit is clear) is undefined.

const ATTR_SIZE = 1;
const ATTR_UIDGID = 2;
const ATTR_PERMISSIONS = 4;
const ATTR_ACMODTIME = 8;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

class Attributes {
  constructor(raw) {
    this.flags = raw.flags;
    const has = (bit) => (raw.flags & bit) !== 0;
    this.size = has(ATTR_SIZE) ? raw.size : undefined;
    this.uid = has(ATTR_UIDGID) ? raw.uid : undefined;
    this.gid = has(ATTR_UIDGID) ? raw.gid : undefined;
    this.mode = has(ATTR_PERMISSIONS) ? raw.mode : undefined;
    this.atime = has(ATTR_ACMODTIME) ? raw.atime : undefined;
    this.mtime = has(ATTR_ACMODTIME) ? raw.mtime : undefined;
  }

  #type() {
    return this.mode === undefined ? undefined : this.mode & S_IFMT;
  }

  isDirectory() {
    return this.#type() === S_IFDIR;
  }

  isFile() {
    return this.#type() === S_IFREG;
  }

  isSymbolicLink() {
    return this.#type() === S_IFLNK;
  }
}

/** An entry of listdir_attr: the attributes plus filename and longname. */
class DirEntry extends Attributes {
  /** `filename` is a string, or a Buffer of its bytes when they are not UTF-8. */
  constructor(raw, filename) {
    super(raw.attrs);
    this.filename = filename;
    this.longname = raw.longname;
  }
}

module.exports = { Attributes, DirEntry };
