package psftp

// #include <psftp.h>
import "C"

import (
	"context"
	"time"
	"unsafe"
)

// TreeProgress is the progress of a tree operation: files and bytes done
// so far and in total (files skipped by Sync count as done), and the file
// most recently started or finished, relative to the root.
type TreeProgress struct {
	FilesDone, FilesTotal int64
	BytesDone, BytesTotal int64
	CurrentPath           string
}

// SymlinkPolicy is what a tree operation does with symbolic links.
type SymlinkPolicy int

const (
	// SymlinksSkip leaves links out (the default).
	SymlinksSkip SymlinkPolicy = C.PSFTP_SYMLINKS_SKIP
	// SymlinksFollow copies what a link points to when that lies inside
	// the tree; loops are detected, links leading outside are left out.
	SymlinksFollow SymlinkPolicy = C.PSFTP_SYMLINKS_FOLLOW
	// SymlinksCopy recreates links as links with the same target text
	// when it stays inside the tree (rsync --safe-links); absolute and
	// escaping links are left out.
	SymlinksCopy SymlinkPolicy = C.PSFTP_SYMLINKS_COPY
	// SymlinksCopyAll recreates every link verbatim.
	SymlinksCopyAll SymlinkPolicy = C.PSFTP_SYMLINKS_COPY_ALL
)

// ErrorPolicy is what a failed entry of a tree operation does.
type ErrorPolicy int

const (
	// StopOnError stops at the first failure (the default).
	StopOnError ErrorPolicy = C.PSFTP_ON_ERROR_STOP
	// ContinueOnError goes on and reports every failed entry.
	ContinueOnError ErrorPolicy = C.PSFTP_ON_ERROR_CONTINUE
)

// TreeOptions tune GetD, GetR, PutD and PutR. A nil *TreeOptions means the
// defaults: no progress function, mtimes not preserved, uploads
// confirmed, 4 connections, no sync, no filters, symlinks skipped, modes
// not copied, stop at the first failure, atomic replacement, no resume,
// no fsync.
type TreeOptions struct {
	// Progress is called with the progress of the whole operation when a
	// file finishes and at least every 100 ms, on the calling goroutine,
	// during the call only. It must not call the same Conn. Cancel the
	// context to stop the operation.
	Progress func(TreeProgress)
	// PreserveMtime copies modification and access times (pysftp
	// preserve_mtime).
	PreserveMtime bool
	// NoConfirm skips the check of each remote size after an upload (PutD,
	// PutR; pysftp confirm=False).
	NoConfirm bool
	// Parallelism is the number of connections working at once, 1 to 64;
	// 0 means psftp's default, 4. The extra connections use the Conn's
	// host, credentials and options and trust only the host key the Conn
	// verified.
	Parallelism int
	// Sync skips files whose destination already has the same size and
	// mtime; what it copies keeps its mtime, so the next run can compare.
	Sync bool
	// Include, when not empty, copies only files matching one of these
	// globs, relative to the root: one without a slash ("*.c") matches a
	// name at any depth, one with a slash ("docs/{a,b}.txt") the whole
	// relative path, where "**" spans directory levels. An invalid pattern
	// is ErrInvalidArg.
	Include []string
	// Exclude leaves out files and directories matching one of these globs
	// (same syntax); an excluded directory is not descended into.
	Exclude []string
	// Symlinks is what to do with symbolic links (default SymlinksSkip).
	Symlinks SymlinkPolicy
	// PreserveMode copies the permission bits of files and directories (a
	// downloaded file never gets setuid, setgid or sticky bits).
	PreserveMode bool
	// OnError is what a failed entry does (default StopOnError).
	OnError ErrorPolicy
	// InPlace, Resume and Fsync work as in TransferOptions, for each file.
	InPlace, Resume, Fsync bool
	// Retries and RetryDelay work as in TransferOptions: a retry skips the
	// files already completed.
	Retries    int
	RetryDelay time.Duration
	// Verify works as in TransferOptions, for each file.
	Verify VerifyMode
}

// Failure is one entry a tree operation could not copy: its source path
// (relative to the root) and psftp's error for it.
type Failure struct {
	Path string
	Err  *Error
}

// setters are the psftp_transfer_opts_* calls o asks for; a keeps the C
// strings of the patterns.
func (o *TreeOptions) setters(a *cArgs) []optSetter {
	cint := func(param string, v int) C.int {
		n, err := cInt(param, v)
		if err != nil && a.err == nil {
			a.err = err
		}
		return n
	}
	s := fileOptSetters(o.InPlace, o.Resume, o.Fsync)
	if o.Parallelism != 0 {
		n := cint("Parallelism", o.Parallelism)
		s = append(s, parallelismSetter(n))
	}
	if o.Retries != 0 {
		s = append(s, retrySetter(cint("Retries", o.Retries), o.RetryDelay))
	}
	if o.Verify != VerifyOff {
		s = append(s, verifySetter(o.Verify))
	}
	links, onError := cint("Symlinks", int(o.Symlinks)), cint("OnError", int(o.OnError))
	s = append(s,
		func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_sync(x, C.bool(o.Sync)) },
		func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_symlinks(x, links) },
		func(x *C.psftp_transfer_opts) C.int {
			return C.psftp_transfer_opts_set_preserve_mode(x, C.bool(o.PreserveMode))
		},
		func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_on_error(x, onError) },
	)
	for _, p := range o.Include {
		cp := a.str("Include", p)
		s = append(s, func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_add_include(x, cp) })
	}
	for _, p := range o.Exclude {
		cp := a.str("Exclude", p)
		s = append(s, func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_add_exclude(x, cp) })
	}
	return s
}

// treeCall is the part the four tree calls differ in.
type treeCall func(h *C.psftp_conn, cb C.psftp_tree_progress_cb, ud unsafe.Pointer,
	x *C.psftp_transfer_opts, failures **C.psftp_failure_list) C.int

// tree runs a tree operation: progress to o.Progress, stopped once ctx is
// done (and interrupted if it does not stop within the grace period), a
// callback's panic raised again, and the failure list psftp writes on
// success and failure alike returned.
func (c *Conn) tree(ctx context.Context, a *cArgs, o *TreeOptions, f treeCall) ([]Failure, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	if o == nil {
		o = &TreeOptions{}
	}
	var list *C.psftp_failure_list
	defer func() { C.psftp_failure_list_free(list) }() // also when a callback's panic is raised again
	s := &callbackState{ctx: ctx, tree: o.Progress}
	err := withTransferOpts(a, o.setters(a), func(x *C.psftp_transfer_opts) error {
		return c.withContext(ctx, func(h *C.psftp_conn) error {
			return c.callWithOn(h, a, s, func(h *C.psftp_conn, ud C.uintptr_t) C.int {
				return f(h, cTreeProg, userData(ud), x, &list)
			})
		})
	})
	return failuresOf(list), err
}

// failuresOf copies a failure list (nil for NULL or an empty list).
func failuresOf(list *C.psftp_failure_list) []Failure {
	if list == nil || list.count == 0 {
		return nil
	}
	out := make([]Failure, int(list.count))
	for i, f := range unsafe.Slice(list.items, int(list.count)) {
		out[i] = Failure{
			Path: C.GoString(f.path),
			Err:  &Error{Code: ErrorCode(f.code), Message: C.GoString(f.message)},
		}
	}
	return out
}

// GetD is pysftp get_d(remotedir, localdir, preserve_mtime): copy the
// regular files directly inside remotedir into localdir (created if
// missing).
//
// The failures are the entries that could not be copied: with
// ContinueOnError every one of them (the error is then the first one's,
// with a message counting them all), with StopOnError the one that
// stopped the operation. Cancelling ctx stops every connection, leaves no
// partial file, and returns ctx.Err(); a destination file is never left
// truncated.
func (c *Conn) GetD(ctx context.Context, remotedir, localdir string, opts *TreeOptions) ([]Failure, error) {
	var a cArgs
	defer a.free()
	r, l := a.str("remotedir", remotedir), a.str("localdir", localdir)
	mtime := opts != nil && opts.PreserveMtime
	return c.tree(ctx, &a, opts, func(h *C.psftp_conn, cb C.psftp_tree_progress_cb, ud unsafe.Pointer,
		x *C.psftp_transfer_opts, out **C.psftp_failure_list) C.int {
		return C.psftp_get_d(h, r, l, C.bool(mtime), cb, ud, x, out)
	})
}

// GetR is pysftp get_r(remotedir, localdir, preserve_mtime): copy the
// whole tree. As in pysftp it lands at Reparent(localdir, remotedir):
// "public" goes to localdir/public, "/srv/pub" to localdir/./srv/pub. Names
// the server lists are checked: one that could lead outside localdir is
// ErrUnsafePath, and an existing symlink inside the destination is never
// written through. Failures and cancellation as for GetD.
func (c *Conn) GetR(ctx context.Context, remotedir, localdir string, opts *TreeOptions) ([]Failure, error) {
	var a cArgs
	defer a.free()
	r, l := a.str("remotedir", remotedir), a.str("localdir", localdir)
	mtime := opts != nil && opts.PreserveMtime
	return c.tree(ctx, &a, opts, func(h *C.psftp_conn, cb C.psftp_tree_progress_cb, ud unsafe.Pointer,
		x *C.psftp_transfer_opts, out **C.psftp_failure_list) C.int {
		return C.psftp_get_r(h, r, l, C.bool(mtime), cb, ud, x, out)
	})
}

// PutD is pysftp put_d(localpath, remotepath, confirm, preserve_mtime):
// copy the regular files directly inside localpath into remotepath.
// Failures and cancellation as for GetD.
func (c *Conn) PutD(ctx context.Context, localpath, remotepath string, opts *TreeOptions) ([]Failure, error) {
	var a cArgs
	defer a.free()
	l, r := a.str("localpath", localpath), a.str("remotepath", remotepath)
	confirm, mtime := opts == nil || !opts.NoConfirm, opts != nil && opts.PreserveMtime
	return c.tree(ctx, &a, opts, func(h *C.psftp_conn, cb C.psftp_tree_progress_cb, ud unsafe.Pointer,
		x *C.psftp_transfer_opts, out **C.psftp_failure_list) C.int {
		return C.psftp_put_d(h, l, r, C.bool(confirm), C.bool(mtime), cb, ud, x, out)
	})
}

// PutR is pysftp put_r(localpath, remotepath, confirm, preserve_mtime):
// copy the contents of localpath, recursively, into remotepath.
// Directories are created, and existing ones are fine. Failures and
// cancellation as for GetD.
func (c *Conn) PutR(ctx context.Context, localpath, remotepath string, opts *TreeOptions) ([]Failure, error) {
	var a cArgs
	defer a.free()
	l, r := a.str("localpath", localpath), a.str("remotepath", remotepath)
	confirm, mtime := opts == nil || !opts.NoConfirm, opts != nil && opts.PreserveMtime
	return c.tree(ctx, &a, opts, func(h *C.psftp_conn, cb C.psftp_tree_progress_cb, ud unsafe.Pointer,
		x *C.psftp_transfer_opts, out **C.psftp_failure_list) C.int {
		return C.psftp_put_r(h, l, r, C.bool(confirm), C.bool(mtime), cb, ud, x, out)
	})
}
