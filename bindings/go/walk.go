package psftp

// #include <psftp.h>
import "C"

import (
	"io/fs"
	"os"
)

// WalkFunc is a Walktree callback: the entry's path (the root joined with
// the names below it) and its attributes. Returning SkipDir from a
// directory callback skips that directory's contents (from other callbacks
// it is ignored); fs.SkipAll ends the walk without an error; any other
// error stops the walk and Walktree returns it.
type WalkFunc func(path string, info os.FileInfo) error

// SkipDir is fs.SkipDir: return it from a directory callback to skip the
// directory's contents.
var SkipDir = fs.SkipDir

// Indexes of callbackState.walk, matching the kind psftpgo_walk_* pass.
const (
	walkFile = iota
	walkDir
	walkUnknown
	walkKinds
)

// Walktree is pysftp walktree(remotepath, fcallback, dcallback, ucallback,
// recurse): depth first, entries sorted by name, fcallback for regular
// files, dcallback for directories (before their contents), ucallback for
// anything else; any may be nil. A symlink goes to the callback of its
// target's type with the link's own attributes and is never descended
// into. Callbacks may use the Conn. A panicking callback stops the walk
// and the panic is raised again from Walktree.
func (c *Conn) Walktree(remotepath string, fcallback, dcallback, ucallback WalkFunc, recurse bool) error {
	var a cArgs
	defer a.free()
	p := a.str("remotepath", remotepath)
	s := &callbackState{walk: [walkKinds]WalkFunc{fcallback, dcallback, ucallback}}
	f, d, u := walkCallbacks(s)
	return c.callWith(&a, s, func(h *C.psftp_conn, ud C.uintptr_t) C.int {
		return C.psftp_walktree(h, p, f, d, u, C.bool(recurse), userData(ud))
	})
}

// Walk walks the tree under root, calling fn for every entry (files,
// directories and others alike), like filepath.Walk; it is Walktree with fn
// as all three callbacks.
func (c *Conn) Walk(root string, fn WalkFunc) error {
	return c.Walktree(root, fn, fn, fn, true)
}

// LocalWalktree is pysftp's module function walktree(localpath, ...): the
// same walk, with the same rules, over a local directory.
func LocalWalktree(localpath string, fcallback, dcallback, ucallback WalkFunc, recurse bool) error {
	var a cArgs
	defer a.free()
	p := a.str("localpath", localpath)
	s := &callbackState{walk: [walkKinds]WalkFunc{fcallback, dcallback, ucallback}}
	f, d, u := walkCallbacks(s)
	return withCallbacks(&a, s, func(ud C.uintptr_t) C.int {
		return C.psftp_local_walktree(p, f, d, u, C.bool(recurse), userData(ud))
	})
}

// walkCallbacks are the C callbacks for the Go callbacks s has (NULL for a
// nil one, so psftp skips the call).
func walkCallbacks(s *callbackState) (f, d, u C.psftp_walk_cb) {
	pick := func(kind int, cb C.psftp_walk_cb) C.psftp_walk_cb {
		if s.walk[kind] == nil {
			return nil
		}
		return cb
	}
	return pick(walkFile, cWalkFile), pick(walkDir, cWalkDir), pick(walkUnknown, cWalkUnknown)
}
