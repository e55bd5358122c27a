package psftp

/*
#include <stdlib.h>
#include <stdint.h>
#include <psftp.h>

// The //export trampolines of callbacks.go (that file's preamble may only
// declare, so the C adapters live here). user_data carries a
// runtime/cgo.Handle, never a Go pointer.
extern int psftpGoProgress(uint64_t done, uint64_t total, uintptr_t h);
extern int psftpGoWrite(uint8_t *data, size_t len, uintptr_t h);
extern int64_t psftpGoRead(uint8_t *buf, size_t len, uintptr_t h);
extern int psftpGoWalk(int kind, char *path, psftp_attrs *attrs, uintptr_t h);
extern int psftpGoBody(uintptr_t h);
extern int psftpGoTreeProgress(psftp_tree_progress *p, uintptr_t h);
extern int psftpGoHostKey(char *host, int port, psftp_hostkey *key, int status, uintptr_t h);
extern int psftpGoKbdInt(psftp_kbdint_request *req, psftp_kbdint_answers *answers, uintptr_t h);
extern void psftpGoReleaseHandle(uintptr_t h);

// Adapters with the exact C callback types. They turn user_data back into
// the handle value. Not static: Go takes their addresses (cgo links those
// by symbol).
int psftpgo_progress(uint64_t done, uint64_t total, void *ud) {
	return psftpGoProgress(done, total, (uintptr_t)ud);
}
int psftpgo_write(const uint8_t *data, size_t len, void *ud) {
	return psftpGoWrite((uint8_t *)data, len, (uintptr_t)ud);
}
int64_t psftpgo_read(uint8_t *buf, size_t len, void *ud) {
	return psftpGoRead(buf, len, (uintptr_t)ud);
}
int psftpgo_walk_file(const char *path, const psftp_attrs *a, void *ud) {
	return psftpGoWalk(0, (char *)path, (psftp_attrs *)a, (uintptr_t)ud);
}
int psftpgo_walk_dir(const char *path, const psftp_attrs *a, void *ud) {
	return psftpGoWalk(1, (char *)path, (psftp_attrs *)a, (uintptr_t)ud);
}
int psftpgo_walk_unknown(const char *path, const psftp_attrs *a, void *ud) {
	return psftpGoWalk(2, (char *)path, (psftp_attrs *)a, (uintptr_t)ud);
}
int psftpgo_cd_body(psftp_conn *conn, void *ud) {
	(void)conn;
	return psftpGoBody((uintptr_t)ud);
}
int psftpgo_local_cd_body(void *ud) {
	return psftpGoBody((uintptr_t)ud);
}
int psftpgo_tree_progress(const psftp_tree_progress *p, void *ud) {
	return psftpGoTreeProgress((psftp_tree_progress *)p, (uintptr_t)ud);
}
int psftpgo_hostkey(const char *host, int port, const psftp_hostkey *key, int status, void *ud) {
	return psftpGoHostKey((char *)host, port, (psftp_hostkey *)key, status, (uintptr_t)ud);
}
void psftpgo_release_handle(void *ud) {
	psftpGoReleaseHandle((uintptr_t)ud);
}

int psftpgo_kbdint(const psftp_kbdint_request *req, psftp_kbdint_answers *answers, void *ud) {
	return psftpGoKbdInt((psftp_kbdint_request *)req, answers, (uintptr_t)ud);
}
// The i-th prompt of a request (Go cannot index a C array directly).
const psftp_kbdint_prompt *psftpgo_prompt(const psftp_kbdint_request *r, size_t i) {
	return r->prompts[i];
}

// A handle value as user_data. Converting in C spares Go a uintptr to
// unsafe.Pointer conversion (which go vet rightly flags).
static void *psftpgo_ud(uintptr_t h) { return (void *)h; }
*/
import "C"

import (
	"runtime"
	"strings"
	"unsafe"
)

// C function pointers of the adapters above.
var (
	cProgress    = C.psftp_progress_cb(C.psftpgo_progress)
	cWrite       = C.psftp_write_cb(C.psftpgo_write)
	cRead        = C.psftp_read_cb(C.psftpgo_read)
	cWalkFile    = C.psftp_walk_cb(C.psftpgo_walk_file)
	cWalkDir     = C.psftp_walk_cb(C.psftpgo_walk_dir)
	cWalkUnknown = C.psftp_walk_cb(C.psftpgo_walk_unknown)
	cCdBody      = C.psftp_cd_cb(C.psftpgo_cd_body)
	cLocalCdBody = C.psftp_local_cd_cb(C.psftpgo_local_cd_body)
	cTreeProg    = C.psftp_tree_progress_cb(C.psftpgo_tree_progress)
	cHostKey     = C.psftp_hostkey_cb(C.psftpgo_hostkey)
	cKbdInt      = C.psftp_kbdint_cb(C.psftpgo_kbdint)
	cRelease     = C.psftp_finalizer(C.psftpgo_release_handle)
)

// call runs one C call and turns its result code into an error.
//
// psftp_last_error() is thread-local and Go may move a goroutine to another
// OS thread between two cgo calls, so the thread stays locked from the call
// until its message is read. (The per-connection copy,
// psftp_conn_last_error(), could be overwritten by a failing call of another
// goroutine on the same Conn in between; the thread-local one cannot.)
// LockOSThread nests, so callbacks that call back into psftp are fine.
func call(args *cArgs, f func() C.int) error {
	if args != nil && args.err != nil {
		return args.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc == C.PSFTP_OK {
		return nil
	}
	return &Error{Code: ErrorCode(rc), Message: C.GoString(C.psftp_last_error())}
}

// cArgs collects the C strings of one call and frees them afterwards. The
// first invalid argument is kept and returned by call() instead of calling C.
type cArgs struct {
	ptrs    []unsafe.Pointer
	secrets [][]byte // C copies of secrets among ptrs, wiped before they are freed
	err     error
}

// str is a C copy of s. A NUL byte would silently cut the string short in C,
// so it is refused here, naming the parameter.
func (a *cArgs) str(param, s string) *C.char {
	if a.err != nil {
		return nil
	}
	if strings.IndexByte(s, 0) >= 0 {
		a.err = invalidArg(param, "contains a NUL byte")
		return nil
	}
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// optStr is str, with "" meaning "not given" (NULL), as pysftp's None.
func (a *cArgs) optStr(param, s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(param, s)
}

// secret is a C copy of b (a private key's contents) that free() wipes
// before releasing it; nil for an empty b.
func (a *cArgs) secret(b []byte) *C.uint8_t {
	if a.err != nil || len(b) == 0 {
		return nil
	}
	p := C.CBytes(b)
	a.secrets = append(a.secrets, unsafe.Slice((*byte)(p), len(b)))
	a.ptrs = append(a.ptrs, p)
	return (*C.uint8_t)(p)
}

func (a *cArgs) free() {
	for _, s := range a.secrets {
		clear(s)
	}
	a.secrets = nil
	for _, p := range a.ptrs {
		C.free(p)
	}
	a.ptrs = nil
}

// takeString converts a string psftp returned and frees it; NULL gives "".
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.psftp_string_free(p)
	return C.GoString(p)
}

// strarrayValues copies a psftp_strarray without freeing it.
func strarrayValues(a *C.psftp_strarray) []string {
	out := make([]string, int(a.count))
	for i, s := range unsafe.Slice(a.strings, int(a.count)) {
		out[i] = C.GoString(s)
	}
	return out
}

// takeStrarray converts a list psftp returned and frees it.
func takeStrarray(a *C.psftp_strarray) []string {
	if a == nil {
		return nil
	}
	defer C.psftp_strarray_free(a)
	return strarrayValues(a)
}

// userData turns a callback handle into C's user_data (0 stays NULL).
func userData(h C.uintptr_t) unsafe.Pointer {
	return C.psftpgo_ud(h)
}
