package psftp

/*
#include <psftp.h>

// A test hook of libpsftp that psftp.h does not declare (see debugPanic).
int psftp_debug_panic(psftp_conn *conn, const char *remotepath);
*/
import "C"

// Version is the psftp library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.psftp_version()) }

// StModeToInt is pysftp st_mode_to_int(mode): the permission bits as the
// decimal number that reads like their octal form (33188 gives 644).
func StModeToInt(mode uint32) uint32 { return uint32(C.psftp_st_mode_to_int(C.uint32_t(mode))) }

// pathList runs path_advance or path_retreat.
func pathList(thepath string, f func(p *C.char, out **C.psftp_strarray) C.int) ([]string, error) {
	var a cArgs
	defer a.free()
	p := a.str("thepath", thepath)
	var out *C.psftp_strarray
	if err := call(&a, func() C.int { return f(p, &out) }); err != nil {
		return nil, err
	}
	return takeStrarray(out), nil
}

// PathAdvance is pysftp path_advance(thepath): "./pub/example/example01"
// gives ".", "./pub", "./pub/example", "./pub/example/example01".
func PathAdvance(thepath string) ([]string, error) {
	return pathList(thepath, func(p *C.char, out **C.psftp_strarray) C.int { return C.psftp_path_advance(p, out) })
}

// PathRetreat is pysftp path_retreat(thepath): the same paths, longest first.
func PathRetreat(thepath string) ([]string, error) {
	return pathList(thepath, func(p *C.char, out **C.psftp_strarray) C.int { return C.psftp_path_retreat(p, out) })
}

// Reparent is pysftp reparent(newparent, oldpath): ("backup",
// "/home/test/pub") gives "backup/./home/test/pub".
func Reparent(newparent, oldpath string) (string, error) {
	var a cArgs
	defer a.free()
	n, o := a.str("newparent", newparent), a.str("oldpath", oldpath)
	var out *C.char
	if err := call(&a, func() C.int { return C.psftp_reparent(n, o, &out) }); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// LocalCd is pysftp's module function `with cd(localpath):` — it runs body
// in localpath ("" only bookmarks) and restores the process's working
// directory afterwards, even if body panics. Like os.Chdir it affects the
// whole process, every goroutine included.
func LocalCd(localpath string, body func() error) error {
	if body == nil {
		return invalidArg("body", "is nil")
	}
	var a cArgs
	defer a.free()
	p := a.optStr("localpath", localpath)
	s := &callbackState{body: body}
	return withCallbacks(&a, s, func(ud C.uintptr_t) C.int {
		return C.psftp_local_cd(p, cLocalCdBody, userData(ud))
	})
}

// LocalCdPush remembers the process's working directory and changes to
// localpath ("" only bookmarks). Pair it with LocalCdPop.
func LocalCdPush(localpath string) error {
	var a cArgs
	defer a.free()
	p := a.optStr("localpath", localpath)
	return call(&a, func() C.int { return C.psftp_local_cd_push(p) })
}

// LocalCdPop returns to the directory the matching LocalCdPush remembered.
func LocalCdPop() error {
	return call(nil, func() C.int { return C.psftp_local_cd_pop() })
}

// debugPanic makes psftp panic internally (psftp_debug_panic, a test hook
// of the library), for the tests of the ErrPanic mapping: outside any
// connection when c is nil, else in the middle of a download of
// remotepath on c (which poisons c).
func debugPanic(c *Conn, remotepath string) error {
	if c == nil {
		return call(nil, func() C.int { return C.psftp_debug_panic(nil, nil) })
	}
	return c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int {
		return C.psftp_debug_panic(h, p)
	})
}
