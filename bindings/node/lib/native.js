'use strict';
// The one place that knows the C ABI: finds libpsftp, configures koffi and
// declares every type and function of include/psftp.h.

const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');

// libpsftp.so.0.MINOR: while the major version is 0, a minor version is an
// ABI of its own, so the binding loads only the one it was written for.
const ABI_VERSION = '0.1';

// Async calls run the Rust core and libssh2 on koffi's own stacks, which
// default to 128 KiB. Rust threads get 2 MiB by default (psftp's own tests
// run there); twice that leaves a margin without wasting memory.
const ASYNC_STACK_SIZE = 4 * 1024 * 1024;

const LIB_FILE = process.platform === 'darwin' ? 'libpsftp.dylib' : 'libpsftp.so';
const SONAME = process.platform === 'darwin' ? `libpsftp.${ABI_VERSION}.dylib` : `${LIB_FILE}.${ABI_VERSION}`;

// Debian's multiarch directory (lib/x86_64-linux-gnu) of this machine.
const MULTIARCH = `${{ x64: 'x86_64', arm64: 'aarch64', ia32: 'i386', arm: 'arm' }[process.arch] ?? process.arch}-linux-gnu`;

// The optional dependency that carries the prebuilt library (pack.sh builds it).
const PLATFORM_PACKAGE = `@psftp/${process.platform}-${process.arch}-gnu`;

function libraryError(message) {
  const err = new Error(
    `psftp: ${message}. Set PSFTP_LIB to the full path of ${LIB_FILE}, or ` +
      `PSFTP_PREFIX to the prefix it is installed under (PREFIX/lib, lib64 or lib/${MULTIARCH}), ` +
      `or install the prebuilt package for this platform (${PLATFORM_PACKAGE}).`,
  );
  err.code = 'ERR_PSFTP_LIBRARY';
  return err;
}

/** The directories under a prefix where libraries go: lib, lib64, and Debian's multiarch one. */
function libDirs(prefix) {
  return ['lib', 'lib64', path.join('lib', MULTIARCH)].map((dir) => path.join(prefix, dir));
}

/** The first of `files` that exists, or null. */
function firstExisting(files) {
  return files.find((f) => fs.existsSync(f)) ?? null;
}

/** The prebuilt library of the platform package (an optional dependency), or null. */
function platformLibrary() {
  try {
    return require(PLATFORM_PACKAGE);
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND') return null;
    throw e;
  }
}

/**
 * Where to load the library from, and why (for error messages): PSFTP_LIB;
 * PSFTP_PREFIX's lib, lib64 or multiarch directory; the platform package;
 * else the dynamic loader's search (with /usr/local and /usr's lib
 * directories tried after it, for an install ldconfig does not know).
 */
function librarySource(env) {
  if (env.PSFTP_LIB) return { file: env.PSFTP_LIB, origin: 'PSFTP_LIB' };
  if (env.PSFTP_PREFIX) {
    const candidates = libDirs(env.PSFTP_PREFIX).map((dir) => path.join(dir, LIB_FILE));
    return { file: firstExisting(candidates) ?? candidates[0], origin: 'PSFTP_PREFIX' };
  }
  const prebuilt = platformLibrary();
  if (prebuilt) return { file: prebuilt, origin: PLATFORM_PACKAGE };
  const fallbacks = ['/usr/local', '/usr'].flatMap((prefix) => libDirs(prefix).map((dir) => path.join(dir, SONAME)));
  return { file: SONAME, origin: 'the system library path', fallbacks };
}

function configureKoffi() {
  const current = koffi.config();
  if (current.async_stack_size >= ASYNC_STACK_SIZE) return;
  try {
    koffi.config({ ...current, async_stack_size: ASYNC_STACK_SIZE });
  } catch (e) {
    // koffi refuses changes once any library is loaded.
    throw new Error(
      `psftp needs koffi's async_stack_size >= ${ASYNC_STACK_SIZE} bytes but it is ` +
        `${current.async_stack_size} and can no longer be changed (${e.message}). ` +
        `Require psftp before loading other libraries with koffi, or call ` +
        `koffi.config({ async_stack_size: ${ASYNC_STACK_SIZE} }) first.`,
    );
  }
}

function loadLibrary(env) {
  const { file, origin, fallbacks = [] } = librarySource(env);
  if (path.isAbsolute(file) && !fs.existsSync(file)) {
    throw libraryError(`the library was not found: ${file} (from ${origin}) does not exist`);
  }
  configureKoffi();
  try {
    return koffi.load(file);
  } catch (e) {
    const fallback = firstExisting(fallbacks);
    if (fallback) return koffi.load(fallback);
    throw libraryError(`cannot load ${file} (from ${origin}): ${e.message}`);
  }
}

const lib = loadLibrary(process.env);

// Opaque handles.
koffi.opaque('psftp_conn');
koffi.opaque('psftp_cnopts');
koffi.opaque('psftp_file');
koffi.opaque('psftp_cancel_token');
koffi.opaque('psftp_transfer_opts');
koffi.opaque('psftp_connect_opts');

const types = {
  attrs: koffi.struct('psftp_attrs', {
    struct_size: 'size_t',
    flags: 'uint32_t',
    size: 'uint64_t',
    uid: 'uint32_t',
    gid: 'uint32_t',
    mode: 'uint32_t',
    atime: 'int64_t',
    mtime: 'int64_t',
  }),
  hostkey: koffi.struct('psftp_hostkey', {
    struct_size: 'size_t',
    key_type: 'char *',
    base64: 'char *',
    fingerprint: 'char *',
  }),
  // `strings` stays a raw pointer: decoded with its count (stringsOf).
  strarray: koffi.struct('psftp_strarray', { strings: 'void *', count: 'size_t' }),
  dirent: koffi.struct('psftp_dirent', {
    struct_size: 'size_t',
    // Bytes, decoded by nameOf: a file name need not be UTF-8.
    filename: 'void *',
    longname: 'char *',
    attrs: 'psftp_attrs',
  }),
  // `entries` stays a raw pointer to `count` pointers (entriesOf).
  direntList: koffi.struct('psftp_dirent_list', { entries: 'void *', count: 'size_t' }),
  statvfs: koffi.struct('psftp_statvfs_info', {
    struct_size: 'size_t',
    bsize: 'uint64_t',
    frsize: 'uint64_t',
    blocks: 'uint64_t',
    bfree: 'uint64_t',
    bavail: 'uint64_t',
    files: 'uint64_t',
    ffree: 'uint64_t',
    favail: 'uint64_t',
    fsid: 'uint64_t',
    flag: 'uint64_t',
    namemax: 'uint64_t',
  }),
};
types.failure = koffi.struct('psftp_failure', {
  struct_size: 'size_t',
  path: 'void *', // bytes, decoded by nameOf
  code: 'int',
  message: 'char *',
});
// `items` stays a raw pointer to `count` pointers: decoded with entriesOf.
types.failureList = koffi.struct('psftp_failure_list', { items: 'void *', count: 'size_t' });
types.treeProgress = koffi.struct('psftp_tree_progress', {
  struct_size: 'size_t',
  files_done: 'uint64_t',
  files_total: 'uint64_t',
  bytes_done: 'uint64_t',
  bytes_total: 'uint64_t',
  current_path: 'void *', // bytes, decoded by nameOf
});
types.securityInfo = koffi.struct('psftp_security_info', {
    struct_size: 'size_t',
  ciphers: 'psftp_strarray',
  digests: 'psftp_strarray',
  key_types: 'psftp_strarray',
  kex: 'psftp_strarray',
  compression: 'psftp_strarray',
});

types.relayState = koffi.struct('psftp_relay_state', {
  struct_size: 'size_t',
  updates: 'uint64_t',
  files_done: 'uint64_t',
  files_total: 'uint64_t',
  bytes_done: 'uint64_t',
  bytes_total: 'uint64_t',
  stopped: 'bool',
});

// Paths psftp hands out are bytes, so they come as raw pointers for nameOf,
// never as koffi strings (which would replace bytes that are not UTF-8).
koffi.proto('int psftp_walk_cb(const void *path, const psftp_attrs *attrs, void *user_data)');
koffi.proto('int psftp_progress_cb(uint64_t bytes_done, uint64_t bytes_total, void *user_data)');
koffi.proto('int psftp_write_cb(const uint8_t *data, size_t len, void *user_data)');
koffi.proto('int64_t psftp_read_cb(uint8_t *buf, size_t len, void *user_data)');
koffi.proto('int psftp_tree_progress_cb(const psftp_tree_progress *progress, void *user_data)');
koffi.proto('int psftp_hostkey_cb(const char *host, int port, const psftp_hostkey *key, int status, void *user_data)');
// The host-key callback is stored in the options and called later, during
// psftp_connect: it must be a registered callback of this pointer type.
types.hostkeyCb = 'psftp_hostkey_cb *';
types.kbdPrompt = koffi.struct('psftp_kbdint_prompt', { struct_size: 'size_t', text: 'const char *', echo: 'bool' });
// `prompts` stays a raw pointer to `num_prompts` pointers (entriesOf).
types.kbdRequest = koffi.struct('psftp_kbdint_request', {
  struct_size: 'size_t',
  host: 'const char *',
  port: 'int',
  user: 'const char *',
  name: 'const char *',
  instruction: 'const char *',
  num_prompts: 'size_t',
  prompts: 'void *',
});
koffi.proto('int psftp_kbdint_cb(const psftp_kbdint_request *request, void *answers, void *user_data)');
// Stored in the connect options and called during psftp_connect_with.
types.kbdintCb = 'psftp_kbdint_cb *';

// Strings and lists psftp allocates come back as raw pointers (`void **`),
// so the binding can copy them and release them with psftp's own free.
const PROTOTYPES = [
  'const char *psftp_last_error()',
  'int psftp_last_error_code()',
  'int psftp_last_error_errno()',
  'const char *psftp_strerror(int code)',
  'const char *psftp_error_name(int code)',
  'const char *psftp_version()',
  'void psftp_string_free(void *s)',

  'int psftp_cnopts_new(const char *knownhosts, _Out_ psftp_cnopts **out)',
  'void psftp_cnopts_free(psftp_cnopts *opts)',
  'int psftp_cnopts_load(psftp_cnopts *opts, const char *path)',
  'int psftp_cnopts_set_hostkeys(psftp_cnopts *opts, const char *knownhosts)',
  'int psftp_cnopts_set_accept_new(psftp_cnopts *opts, bool accept_new)',
  'int psftp_cnopts_set_log(psftp_cnopts *opts, bool log, const char *path)',
  'int psftp_cnopts_set_compression(psftp_cnopts *opts, bool compression)',
  'int psftp_cnopts_set_ciphers(psftp_cnopts *opts, const char *ciphers)',
  'int psftp_cnopts_set_connect_timeout(psftp_cnopts *opts, double seconds)',
  'int psftp_cnopts_set_timeout(psftp_cnopts *opts, double seconds)',
  'int psftp_cnopts_set_keepalive(psftp_cnopts *opts, int seconds)',
  'int psftp_cnopts_set_keepalive_count_max(psftp_cnopts *opts, int count)',
  'int psftp_cnopts_set_stall_timeout(psftp_cnopts *opts, double seconds)',
  'int psftp_cnopts_get_hostkey(const psftp_cnopts *opts, const char *host, _Out_ void **out)',
  'int psftp_cnopts_set_hostkey_callback(psftp_cnopts *opts, psftp_hostkey_cb *callback, void *user_data, ' +
    'void *finalizer)',
  'int psftp_cnopts_set_ssh_config(psftp_cnopts *opts, bool use_, const char *path)',
  'int psftp_cnopts_ssh_config_report(const psftp_cnopts *opts, const char *host, _Out_ void **out)',
  'int psftp_cnopts_set_proxy_jump(psftp_cnopts *opts, const char *hops)',
  'int psftp_cnopts_set_proxy_command(psftp_cnopts *opts, const char *command)',

  'int psftp_connect_opts_new(const char *host, _Out_ psftp_connect_opts **out)',
  'void psftp_connect_opts_free(psftp_connect_opts *opts)',
  'int psftp_connect_opts_set_port(psftp_connect_opts *opts, int port)',
  'int psftp_connect_opts_set_username(psftp_connect_opts *opts, const char *username)',
  'int psftp_connect_opts_set_password(psftp_connect_opts *opts, const char *password)',
  'int psftp_connect_opts_set_private_key(psftp_connect_opts *opts, const char *path, const char *passphrase)',
  'int psftp_connect_opts_set_private_key_data(psftp_connect_opts *opts, const uint8_t *data, size_t len, ' +
    'const char *passphrase)',
  'int psftp_connect_opts_set_cnopts(psftp_connect_opts *opts, const psftp_cnopts *cnopts)',
  'int psftp_connect_opts_set_default_path(psftp_connect_opts *opts, const char *path)',
  'int psftp_connect_opts_set_socket(psftp_connect_opts *opts, int fd)',
  'int psftp_connect_opts_set_kbdint_callback(psftp_connect_opts *opts, psftp_kbdint_cb *callback, ' +
    'void *user_data, void *finalizer)',
  'int psftp_kbdint_answer(void *answers, size_t index, const char *answer)',
  'int psftp_connect_with(const psftp_connect_opts *opts, _Out_ psftp_conn **conn_out, _Out_ void **error_out)',
  'int psftp_connect(const char *host, const char *username, const char *private_key, ' +
    'const char *password, int port, const char *private_key_pass, const psftp_cnopts *cnopts, ' +
    'const char *default_path, _Out_ psftp_conn **conn_out, _Out_ void **error_out)',
  'void psftp_close(psftp_conn *conn)',
  'int psftp_conn_last_error_code(const psftp_conn *conn)',
  'int psftp_conn_last_error_errno(const psftp_conn *conn)',
  'void *psftp_conn_last_error(const psftp_conn *conn)',
  'int psftp_remote_server_key(psftp_conn *conn, _Out_ void **out)',
  'int psftp_active_ciphers(psftp_conn *conn, _Out_ void **local_out, _Out_ void **remote_out)',
  'int psftp_active_compression(psftp_conn *conn, _Out_ void **local_out, _Out_ void **remote_out)',
  'int psftp_security_options(psftp_conn *conn, _Out_ void **out)',
  'int psftp_timeout(psftp_conn *conn, _Out_ double *out)',
  'int psftp_set_timeout(psftp_conn *conn, double seconds)',
  'int psftp_logfile(psftp_conn *conn, _Out_ void **out)',
  'int psftp_execute(psftp_conn *conn, const char *command, _Out_ void **lines_out, _Out_ int *exit_status_out)',
  'int psftp_sftp_client(psftp_conn *conn, _Out_ void **session_out, _Out_ void **sftp_out)',
  'int psftp_lock(psftp_conn *conn)',
  'int psftp_unlock(psftp_conn *conn)',
  'int psftp_has_extension(psftp_conn *conn, const char *name, _Out_ bool *out)',
  'void psftp_interrupt(psftp_conn *conn)',
  'int psftp_cancel_token_new(_Out_ psftp_cancel_token **out)',
  'int psftp_cancel_token_cancel(psftp_cancel_token *token)',
  'void psftp_cancel_token_free(psftp_cancel_token *token)',
  'int psftp_conn_with_cancel(psftp_conn *conn, psftp_cancel_token *token, _Out_ psftp_conn **out)',

  'int psftp_open(psftp_conn *conn, const char *remote_file, const char *mode, int64_t bufsize, _Out_ psftp_file **out)',
  'int psftp_file_read(psftp_file *file, void *buf, size_t size, _Out_ size_t *read_out)',
  'int psftp_file_readline(psftp_file *file, void *buf, size_t size, _Out_ size_t *read_out)',
  'int psftp_file_write(psftp_file *file, const void *data, size_t size)',
  'int psftp_file_seek(psftp_file *file, int64_t offset, int whence, _Out_ uint64_t *pos_out)',
  'int psftp_file_tell(psftp_file *file, _Out_ uint64_t *pos_out)',
  'int psftp_file_stat(psftp_file *file, _Inout_ psftp_attrs *out)',
  'int psftp_file_flush(psftp_file *file)',
  'int psftp_file_fsync(psftp_file *file)',
  'int psftp_file_truncate(psftp_file *file, uint64_t size)',
  'int psftp_file_close(psftp_file *file)',

  'int psftp_listdir(psftp_conn *conn, const char *remotepath, _Out_ void **out)',
  'int psftp_listdir_attr(psftp_conn *conn, const char *remotepath, _Out_ void **out)',
  'int psftp_stat(psftp_conn *conn, const char *remotepath, _Inout_ psftp_attrs *out)',
  'int psftp_lstat(psftp_conn *conn, const char *remotepath, _Inout_ psftp_attrs *out)',
  'int psftp_exists(psftp_conn *conn, const char *remotepath, _Out_ bool *out)',
  'int psftp_lexists(psftp_conn *conn, const char *remotepath, _Out_ bool *out)',
  'int psftp_isdir(psftp_conn *conn, const char *remotepath, _Out_ bool *out)',
  'int psftp_isfile(psftp_conn *conn, const char *remotepath, _Out_ bool *out)',
  'int psftp_chdir(psftp_conn *conn, const char *remotepath)',
  'int psftp_cwd(psftp_conn *conn, const char *remotepath)',
  'int psftp_cd_push(psftp_conn *conn, const char *remotepath)',
  'int psftp_cd_pop(psftp_conn *conn)',
  'int psftp_getcwd(psftp_conn *conn, _Out_ void **out)',
  'int psftp_pwd(psftp_conn *conn, _Out_ void **out)',
  'int psftp_normalize(psftp_conn *conn, const char *remotepath, _Out_ void **out)',
  'int psftp_readlink(psftp_conn *conn, const char *remotelink, _Out_ void **out)',
  'int psftp_mkdir(psftp_conn *conn, const char *remotepath, uint32_t mode)',
  'int psftp_makedirs(psftp_conn *conn, const char *remotedir, uint32_t mode)',
  'int psftp_rmdir(psftp_conn *conn, const char *remotepath)',
  'int psftp_remove(psftp_conn *conn, const char *remotefile)',
  'int psftp_unlink(psftp_conn *conn, const char *remotefile)',
  'int psftp_rename(psftp_conn *conn, const char *remote_src, const char *remote_dest)',
  'int psftp_posix_rename(psftp_conn *conn, const char *remote_src, const char *remote_dest)',
  'int psftp_hardlink(psftp_conn *conn, const char *remote_src, const char *remote_dest)',
  'int psftp_symlink(psftp_conn *conn, const char *remote_src, const char *remote_dest)',
  'int psftp_chmod(psftp_conn *conn, const char *remotepath, uint32_t mode)',
  'int psftp_chown(psftp_conn *conn, const char *remotepath, int64_t uid, int64_t gid)',
  'int psftp_truncate(psftp_conn *conn, const char *remotepath, uint64_t size, _Out_ uint64_t *new_size_out)',
  'int psftp_utime(psftp_conn *conn, const char *remotepath, int64_t atime, int64_t mtime)',
  'int psftp_statvfs(psftp_conn *conn, const char *remotepath, _Inout_ psftp_statvfs_info *out)',
  'uint32_t psftp_st_mode_to_int(uint32_t mode)',
  'int psftp_path_advance(const char *thepath, _Out_ void **out)',
  'int psftp_path_retreat(const char *thepath, _Out_ void **out)',
  'int psftp_reparent(const char *newparent, const char *oldpath, _Out_ void **out)',
  'int psftp_walktree(psftp_conn *conn, const char *remotepath, psftp_walk_cb *fcallback, ' +
    'psftp_walk_cb *dcallback, psftp_walk_cb *ucallback, bool recurse, void *user_data)',
  'int psftp_local_walktree(const char *localpath, psftp_walk_cb *fcallback, ' +
    'psftp_walk_cb *dcallback, psftp_walk_cb *ucallback, bool recurse, void *user_data)',
  'int psftp_local_cd_push(const char *localpath)',
  'int psftp_local_cd_pop()',

  'int psftp_transfer_opts_new(_Out_ psftp_transfer_opts **out)',
  'void psftp_transfer_opts_free(psftp_transfer_opts *opts)',
  'int psftp_transfer_opts_set_atomic(psftp_transfer_opts *opts, bool atomic)',
  'int psftp_transfer_opts_set_resume(psftp_transfer_opts *opts, bool resume)',
  'int psftp_transfer_opts_set_fsync(psftp_transfer_opts *opts, bool fsync)',
  'int psftp_get(psftp_conn *conn, const char *remotepath, const char *localpath, ' +
    'psftp_progress_cb *callback, void *user_data, bool preserve_mtime, const psftp_transfer_opts *opts)',
  'int psftp_put(psftp_conn *conn, const char *localpath, const char *remotepath, ' +
    'psftp_progress_cb *callback, void *user_data, bool confirm, bool preserve_mtime, ' +
    'const psftp_transfer_opts *opts, _Inout_ psftp_attrs *attrs_out)',
  'int psftp_getfo(psftp_conn *conn, const char *remotepath, psftp_write_cb *write, ' +
    'psftp_progress_cb *callback, void *user_data, _Out_ uint64_t *bytes_out)',
  'int psftp_putfo(psftp_conn *conn, psftp_read_cb *read, const char *remotepath, uint64_t file_size, ' +
    'psftp_progress_cb *callback, void *user_data, bool confirm, const psftp_transfer_opts *opts, ' +
    '_Inout_ psftp_attrs *attrs_out)',

  'int psftp_transfer_opts_set_parallelism(psftp_transfer_opts *opts, int connections)',
  'int psftp_transfer_opts_set_retries(psftp_transfer_opts *opts, int retries, double delay_seconds)',
  'int psftp_conn_last_retries(const psftp_conn *conn)',
  'int psftp_transfer_opts_set_verify(psftp_transfer_opts *opts, int mode)',
  'int psftp_transfer_opts_set_sync(psftp_transfer_opts *opts, bool sync)',
  'int psftp_transfer_opts_add_include(psftp_transfer_opts *opts, const char *pattern)',
  'int psftp_transfer_opts_add_exclude(psftp_transfer_opts *opts, const char *pattern)',
  'int psftp_transfer_opts_set_symlinks(psftp_transfer_opts *opts, int policy)',
  'int psftp_transfer_opts_set_preserve_mode(psftp_transfer_opts *opts, bool preserve_mode)',
  'int psftp_transfer_opts_set_on_error(psftp_transfer_opts *opts, int policy)',
  'void psftp_failure_list_free(void *list)',
  'int psftp_get_d(psftp_conn *conn, const char *remotedir, const char *localdir, bool preserve_mtime, ' +
    'psftp_tree_progress_cb *callback, void *user_data, const psftp_transfer_opts *opts, _Out_ void **failures_out)',
  'int psftp_get_r(psftp_conn *conn, const char *remotedir, const char *localdir, bool preserve_mtime, ' +
    'psftp_tree_progress_cb *callback, void *user_data, const psftp_transfer_opts *opts, _Out_ void **failures_out)',
  'int psftp_put_d(psftp_conn *conn, const char *localpath, const char *remotepath, bool confirm, ' +
    'bool preserve_mtime, psftp_tree_progress_cb *callback, void *user_data, const psftp_transfer_opts *opts, ' +
    '_Out_ void **failures_out)',
  'int psftp_put_r(psftp_conn *conn, const char *localpath, const char *remotepath, bool confirm, ' +
    'bool preserve_mtime, psftp_tree_progress_cb *callback, void *user_data, const psftp_transfer_opts *opts, ' +
    '_Out_ void **failures_out)',

  'int psftp_relay_new(int fd, _Out_ void **out)',
  'void psftp_relay_free(void *relay)',
  'int psftp_relay_stop(void *relay)',
  'int psftp_relay_get_state(void *relay, _Inout_ psftp_relay_state *out)',
  'int psftp_relay_current_path(void *relay, _Out_ void **out)',

  'void psftp_strarray_free(void *list)',
  'void psftp_dirent_list_free(void *list)',
  'void psftp_hostkey_free(void *key)',
  'void psftp_security_info_free(void *info)',
];

function declareAll() {
  const fns = {};
  for (const proto of PROTOTYPES) {
    const fn = lib.func(proto);
    fns[fn.info.name] = fn;
  }
  return fns;
}

const fns = declareAll();

// Test hooks of libpsftp that psftp.h does not declare, for the binding's
// own tests; not part of the API.
const testHooks = {
  // Panics inside a download of `remotepath` on `conn` (outside any
  // connection when conn is null) and returns PSFTP_E_PANIC.
  psftp_debug_panic: lib.func('int psftp_debug_panic(psftp_conn *conn, const char *remotepath)'),
};

const version = fns.psftp_version();
if (!version.startsWith(`${ABI_VERSION}.`)) {
  throw libraryError(
    `${librarySource(process.env).file} is psftp ${version}, but this binding needs ${ABI_VERSION}.x`,
  );
}

// psftp's relay callbacks (relay.js): C functions, passed by address, that
// never wait for the event loop thread.
const relayCallbacks = {
  progress: lib.symbol('psftp_relay_progress_cb'),
  treeProgress: lib.symbol('psftp_relay_tree_progress_cb'),
  write: lib.symbol('psftp_relay_write_cb'),
  read: lib.symbol('psftp_relay_read_cb'),
};

const libc = koffi.load('libc.so.6');
const strlen = libc.func('size_t strlen(const void *s)');
const posix = {
  pipe2: libc.func('int pipe2(_Out_ int *fds, int flags)'),
  // fcntl(fd, F_SETPIPE_SZ, size): its third argument is variadic.
  fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
};
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A C string from psftp that may be a file name: a string when it is
 * UTF-8, else a Buffer of its bytes (as fs does with encoding 'buffer'), so
 * a name that is not UTF-8 still names its file.
 */
function nameOf(ptr) {
  const bytes = Buffer.from(koffi.decode(ptr, 'uint8_t', Number(strlen(ptr))));
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes;
  }
}

/** Copy a string psftp allocated and free it; NULL gives null. */
function takeString(ptr) {
  if (ptr === null) return null;
  try {
    return nameOf(ptr);
  } finally {
    fns.psftp_string_free(ptr);
  }
}

/**
 * A value struct for psftp to fill: its struct_size set (psftp.h's rule),
 * as an _Inout_ argument.
 */
function sized(type) {
  return { struct_size: koffi.sizeof(type) };
}

/** The `count` structs of `type` a list's array of pointers points to. */
function entriesOf(array, count, type) {
  if (count === 0) return [];
  return koffi.decode(array, 'void *', count).map((p) => koffi.decode(p, type));
}

/** The strings of a decoded psftp_strarray struct (not freed here). */
function stringsOf(array) {
  if (array.count === 0) return [];
  return koffi.decode(array.strings, 'void *', Number(array.count)).map(nameOf);
}

/** Copy a psftp_strarray psftp allocated and free it. */
function takeStrarray(ptr) {
  try {
    return stringsOf(koffi.decode(ptr, types.strarray));
  } finally {
    fns.psftp_strarray_free(ptr);
  }
}

module.exports = { koffi, fns, types, relayCallbacks, posix, takeString, takeStrarray, stringsOf, nameOf, sized, entriesOf, testHooks };
