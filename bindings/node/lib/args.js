'use strict';
// Argument checks before anything reaches C: a wrong JS type is a
// TypeError naming the parameter (as Node's own APIs do), never a crash or
// a silently truncated string. Values C can judge (a mode of 0o10000, a
// port of 70000) are left to psftp, whose message names the parameter too.

/**
 * How Node's own messages show a received value, except that a string's
 * contents are never shown: it may be a password or a key given in the
 * wrong argument.
 */
function describe(value) {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') return `type string (${value.length} characters, not shown)`;
  return `type ${typeof value} (${String(value)})`;
}

function invalid(name, expected, value) {
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

function str(value, name) {
  if (typeof value !== 'string') throw invalid(name, 'of type string', value);
  // A C string ends at the first NUL: 'a\0b' would silently become 'a'.
  if (value.includes('\0')) {
    const err = new TypeError(`The "${name}" argument must be a string without null bytes`);
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  return value;
}

/** undefined and null both mean "not given" (NULL in C). */
function optStr(value, name) {
  return value === undefined || value === null ? null : str(value, name);
}

/**
 * A path: a string, or a Buffer of its bytes (file names need not be UTF-8,
 * as with fs and encoding 'buffer'). A Buffer reaches C NUL-terminated.
 */
function path(value, name) {
  checkPath(value, name);
  return typeof value === 'string' ? value : Buffer.concat([value, Buffer.from([0])]);
}

/** Check a path (see `path`) and hand it back unchanged. */
function checkPath(value, name) {
  if (typeof value === 'string') return str(value, name);
  if (!(value instanceof Uint8Array)) {
    throw invalid(name, 'of type string or an instance of Buffer or Uint8Array', value);
  }
  if (value.includes(0)) {
    const err = new TypeError(`The "${name}" argument must be a path without null bytes`);
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  return value;
}

function optPath(value, name) {
  return value === undefined || value === null ? null : path(value, name);
}

function bool(value, name) {
  if (typeof value !== 'boolean') throw invalid(name, 'of type boolean', value);
  return value;
}

function optBool(value, name, fallback) {
  return value === undefined ? fallback : bool(value, name);
}

// koffi wraps an out-of-range number silently (2 ** 32 + 22 would reach an
// `int` port as 22), so every integer is checked against its C type.
const RANGES = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** An integer (number or bigint) that fits the C type `kind`. */
function int(value, name, kind = 'int64') {
  if (typeof value !== 'bigint' && !Number.isSafeInteger(value)) throw invalid(name, 'an integer', value);
  const [lo, hi] = RANGES[kind];
  if (BigInt(value) < lo || BigInt(value) > hi) {
    const err = new RangeError(`The value of "${name}" is out of range. It must be >= ${lo} and <= ${hi}. Received ${value}`);
    err.code = 'ERR_OUT_OF_RANGE';
    throw err;
  }
  return value;
}

function num(value, name) {
  if (typeof value !== 'number' || Number.isNaN(value)) throw invalid(name, 'a number', value);
  return value;
}

function func(value, name) {
  if (typeof value !== 'function') throw invalid(name, 'a function', value);
  return value;
}

function optFunc(value, name) {
  return value === undefined || value === null ? null : func(value, name);
}

/** An AbortSignal (or anything shaped like one), or null when not given. */
function signal(value, name) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || typeof value.aborted !== 'boolean' || typeof value.addEventListener !== 'function') {
    throw invalid(name, 'an instance of AbortSignal', value);
  }
  return value;
}

/** An options object; a key outside `known` (a typo) is an error, not ignored. */
function options(value, known = null, name = 'options') {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw invalid(name, 'an object', value);
  const unknown = known ? Object.keys(value).filter((key) => !known.includes(key)) : [];
  if (unknown.length) {
    const err = new TypeError(`Unknown ${name} ${unknown.join(', ')}; known: ${known.join(', ')}`);
    err.code = 'ERR_INVALID_ARG_VALUE';
    throw err;
  }
  return value;
}

/**
 * A mode as Node's fs.chmod takes it: POSIX bits as a number (0o755 is
 * rwxr-xr-x) or as a string of octal digits ('755', '0644'). psftp rejects
 * bits above 0o7777.
 */
function mode(value, name = 'mode') {
  if (typeof value === 'string' && /^[0-7]{1,12}$/.test(value)) return Number.parseInt(value, 8);
  if (typeof value === 'string') throw invalid(name, "octal digits such as '755'", value);
  return int(value, name, 'uint32');
}

/** Seconds since the epoch from a number of seconds or a Date. */
function seconds(value, name) {
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  return int(value, name);
}

/** Bytes to send: a Buffer or typed array as is, a string as UTF-8. */
function bytes(value, name) {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (ArrayBuffer.isView(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  throw invalid(name, 'a Buffer, a typed array or a string', value);
}

module.exports = { invalid, str, path, optPath, checkPath, optStr, bool, optBool, int, num, func, optFunc, signal, options, mode, seconds, bytes };
