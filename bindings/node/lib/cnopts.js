'use strict';
// pysftp CnOpts over psftp_cnopts. These calls only read local files
// (known_hosts), never the network, so they are synchronous.

const { koffi, fns, types, takeString } = require('./native');
const { checkSync, PsftpError, codes } = require('./errors');
const args = require('./args');

const kHandle = Symbol('psftp_cnopts');

const freeOnCollect = new FinalizationRegistry((handle) => fns.psftp_cnopts_free(handle));

/** Copy a psftp_hostkey and free it. */
function takeHostkey(ptr) {
  try {
    const key = koffi.decode(ptr, types.hostkey);
    return { keyType: key.key_type, base64: key.base64, fingerprint: key.fingerprint };
  } finally {
    fns.psftp_hostkey_free(ptr);
  }
}

// Options-object key -> the method that applies it.
const APPLY = {
  hostkeys: (o, v) => o.setHostkeys(v),
  load: (o, v) => [v].flat().forEach((file) => o.load(file)),
  acceptNew: (o, v) => o.setAcceptNew(v),
  log: (o, v) => o.setLog(v),
  compression: (o, v) => o.setCompression(v),
  ciphers: (o, v) => o.setCiphers(v),
  connectTimeout: (o, v) => o.setConnectTimeout(v),
  timeout: (o, v) => o.setTimeout(v),
  keepalive: (o, v) => o.setKeepalive(v),
  keepaliveCountMax: (o, v) => o.setKeepaliveCountMax(v),
  stallTimeout: (o, v) => o.setStallTimeout(v),
  sshConfig: (o, v) => o.setSshConfig(v),
  proxyJump: (o, v) => o.setProxyJump(v),
  proxyCommand: (o, v) => o.setProxyCommand(v),
};

const kCopy = Symbol('copy');

class CnOpts {
  #knownHosts;
  // Every setting applied, in order: a copy replays them (see kCopy).
  #settings = [];
  #freed = false;

  /**
   * pysftp `CnOpts(knownhosts=None)`: `new CnOpts()`, `new CnOpts(path)`, or
   * `new CnOpts({ knownHosts, hostkeys, load, acceptNew, log, compression,
   * ciphers, connectTimeout, timeout, keepalive, sshConfig, proxyJump,
   * proxyCommand })`. proxyJump and proxyCommand together throw EINVAL
   * (the setters replace each other instead, as in C).
   */
  constructor(knownHostsOrOptions) {
    const opts =
      typeof knownHostsOrOptions === 'string'
        ? { knownHosts: knownHostsOrOptions }
        : args.options(knownHostsOrOptions, ['knownHosts', ...Object.keys(APPLY)], 'CnOpts option');
    const given = (v) => v !== undefined && v !== null;
    if (given(opts.proxyJump) && given(opts.proxyCommand)) {
      throw new PsftpError(codes.EINVAL, 'proxyJump: given together with proxyCommand; set one');
    }
    this.#knownHosts = args.optStr(opts.knownHosts, 'knownHosts');
    const out = [null];
    checkSync(fns.psftp_cnopts_new(this.#knownHosts, out));
    this[kHandle] = out[0];
    freeOnCollect.register(this, out[0], this);
    for (const [key, value] of Object.entries(opts)) {
      if (key !== 'knownHosts' && value !== undefined) APPLY[key](this, value);
    }
  }

  #set(name, ...values) {
    checkSync(fns[name](this[kHandle], ...values));
    this.#settings.push([name, values]);
    return this;
  }

  /**
   * A new CnOpts with the same settings (known_hosts files are read again).
   * connect() uses one when it installs a host-key callback, so the
   * program's own CnOpts is never changed, even by concurrent connects.
   */
  [kCopy]() {
    if (this.#freed) throw new PsftpError(codes.EINVAL, 'cnopts is not a live psftp_cnopts (free() was called)');
    const copy = new CnOpts(this.#knownHosts ?? {});
    for (const [name, values] of this.#settings) copy.#set(name, ...values);
    return copy;
  }

  /** pysftp `hostkeys.load(path)`: merge another known_hosts file. */
  load(path) {
    return this.#set('psftp_cnopts_load', args.str(path, 'path'));
  }

  /** pysftp `hostkeys = None` (null: no host-key checking, NOT ADVISED) or the only known_hosts file. */
  setHostkeys(knownHosts) {
    return this.#set('psftp_cnopts_set_hostkeys', args.optStr(knownHosts, 'knownHosts'));
  }

  /** Trust on first use: record an unknown host's key; a changed key is still refused. */
  setAcceptNew(acceptNew) {
    return this.#set('psftp_cnopts_set_accept_new', args.bool(acceptNew, 'acceptNew'));
  }

  /** pysftp `log`: false, true (a new temporary file) or a log file path. */
  setLog(log) {
    if (typeof log === 'string') return this.#set('psftp_cnopts_set_log', true, args.str(log, 'log'));
    return this.#set('psftp_cnopts_set_log', args.bool(log, 'log'), null);
  }

  setCompression(compression) {
    return this.#set('psftp_cnopts_set_compression', args.bool(compression, 'compression'));
  }

  /** Cipher preference: 'a,b' or ['a', 'b']; null restores the default. */
  setCiphers(ciphers) {
    const list = Array.isArray(ciphers) ? ciphers.join(',') : ciphers;
    return this.#set('psftp_cnopts_set_ciphers', args.optStr(list, 'ciphers'));
  }

  /** Seconds for TCP connect, handshake and authentication; 0 waits forever. */
  setConnectTimeout(seconds) {
    return this.#set('psftp_cnopts_set_connect_timeout', args.num(seconds, 'seconds'));
  }

  /** pysftp `timeout`: the longest a later read or write may wait; 0 waits forever. */
  setTimeout(seconds) {
    return this.#set('psftp_cnopts_set_timeout', args.num(seconds, 'seconds'));
  }

  /** A call whose bytes stop moving this long fails with TIMEOUT (default 60; 0: off). */
  setStallTimeout(seconds) {
    return this.#set('psftp_cnopts_set_stall_timeout', args.num(seconds, 'seconds'));
  }

  /** A server silent for keepalive x count is lost (ServerAliveCountMax; default 3). */
  setKeepaliveCountMax(count) {
    return this.#set('psftp_cnopts_set_keepalive_count_max', args.int(count, 'count', 'int32'));
  }

  /** Keepalives asking for a reply after this many silent seconds (ServerAliveInterval; 0: never). */
  setKeepalive(seconds) {
    return this.#set('psftp_cnopts_set_keepalive', args.int(seconds, 'seconds', 'int32'));
  }

  /**
   * Read ssh_config as `ssh HOST` does: true for ~/.ssh/config and
   * /etc/ssh/ssh_config, a path for that file only (ssh -F), false to stop
   * (the default). connect()'s host may then be a Host alias; what
   * connect() is given, and every option set here, wins over the files.
   */
  setSshConfig(useOrPath) {
    if (typeof useOrPath === 'string') return this.#set('psftp_cnopts_set_ssh_config', true, args.str(useOrPath, 'sshConfig'));
    return this.#set('psftp_cnopts_set_ssh_config', args.bool(useOrPath, 'sshConfig'), null);
  }

  /** What connecting to `host` would use, as `ssh -G host` prints it. */
  sshConfigReport(host) {
    const out = [null];
    checkSync(fns.psftp_cnopts_ssh_config_report(this[kHandle], args.str(host, 'host'), out));
    return takeString(out[0]);
  }

  /** Jump hosts, as ssh -J: 'user@host:port,host2'; 'none' ignores ssh_config's; null removes. Replaces a proxyCommand. */
  setProxyJump(hops) {
    return this.#set('psftp_cnopts_set_proxy_jump', args.optStr(hops, 'proxyJump'));
  }

  /** A command carrying the connection on stdin/stdout (%h %p %r), as ssh's ProxyCommand; null removes. Replaces a proxyJump. */
  setProxyCommand(command) {
    return this.#set('psftp_cnopts_set_proxy_command', args.optStr(command, 'proxyCommand'));
  }

  /** pysftp `get_hostkey(host)`; write '[host]:port' for a port other than 22. */
  getHostkey(host) {
    const out = [null];
    checkSync(fns.psftp_cnopts_get_hostkey(this[kHandle], args.str(host, 'host'), out));
    return takeHostkey(out[0]);
  }

  /** Release the options now (a connection keeps its own copy). */
  free() {
    this.#freed = true;
    freeOnCollect.unregister(this);
    fns.psftp_cnopts_free(this[kHandle]);
  }
}

/**
 * A CnOpts from connect()'s `cnopts` option; `owned` when made here. With
 * `copy`, always one of connect()'s own (the defaults, or a copy of the
 * program's CnOpts) that it may change and must free.
 */
function cnoptsFrom(value, copy = false) {
  if (value instanceof CnOpts) return copy ? { cnopts: value[kCopy](), owned: true } : { cnopts: value, owned: false };
  if (value === undefined || value === null) {
    return copy ? { cnopts: new CnOpts(), owned: true } : { cnopts: null, owned: false };
  }
  return { cnopts: new CnOpts(value), owned: true };
}

module.exports = { CnOpts, cnoptsFrom, takeHostkey, kHandle };
