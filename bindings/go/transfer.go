package psftp

// #include <psftp.h>
import "C"

import (
	"context"
	"io"
	"os"
	"path"
	"runtime"
	"time"
)

// TransferOptions tune Get, Put, Getfo and Putfo. A nil *TransferOptions
// means the defaults: no progress function, mtime not preserved, the
// remote size confirmed after a put, atomic replacement, no resume, no
// fsync.
type TransferOptions struct {
	// Progress is called with the bytes done so far and the total (0 when
	// unknown), on the calling goroutine, during the call only. It must not
	// call the same Conn (psftp refuses that with ErrInvalidArg). Cancel
	// the context to stop the transfer.
	Progress func(bytesDone, bytesTotal int64)
	// PreserveMtime copies the source's modification and access times
	// (Get and Put).
	PreserveMtime bool
	// NoConfirm skips the check of the remote size after an upload (pysftp
	// confirm=False); Put and Putfo then return attributes with Flags 0.
	NoConfirm bool
	// InPlace writes the destination directly instead of a ".NAME.psftp.part"
	// file renamed into place on success (Get, Put, Putfo).
	InPlace bool
	// Resume continues from the part file an earlier failed atomic
	// transfer left behind, like OpenSSH's reget/reput (Get and Put).
	Resume bool
	// Fsync flushes the data to stable storage before the rename.
	Fsync bool
	// Parallelism caps the connections Get and Put may use for one file of
	// 64 MiB or more: a Put over a link with a round trip of 5 ms or more, a
	// Get from 30 ms (1 to 64; 0 means psftp's default, 4, where a Get's
	// extra connections join only if its first one turns out slow; a
	// number set here is used at once; 1 never opens extra connections).
	Parallelism int
	// Retries reconnects and goes on up to this many times (0 to 1000)
	// after the link failed (ErrConnectionLost, ErrTimeout), continuing
	// the part file; RetryDelay is the first wait (0 means 1 s), doubled
	// each time up to 60 s. Conn.LastRetries tells how many happened.
	Retries    int
	RetryDelay time.Duration
	// Verify checks each file against its source before it is put in place
	// (a difference is ErrIntegrity and the destination keeps its old
	// content).
	Verify VerifyMode
}

// VerifyMode is how a verified transfer checks a copy.
type VerifyMode int

const (
	VerifyOff VerifyMode = C.PSFTP_VERIFY_OFF
	// VerifyOn compares SHA-256 digests, reading the remote side back.
	VerifyOn VerifyMode = C.PSFTP_VERIFY_ON
	// VerifyAllowExec gets the remote digest from sha256sum (or md5sum) on
	// the server when that works (not for chrooted or SFTP-only accounts).
	VerifyAllowExec VerifyMode = C.PSFTP_VERIFY_ALLOW_EXEC
)

// verifySetter sets the verification mode.
func verifySetter(m VerifyMode) optSetter {
	return func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_verify(x, C.int(m)) }
}

// withCOpts calls f with the C transfer options o asks for (NULL for the
// defaults) and frees them afterwards.
func (o *TransferOptions) withCOpts(f func(x *C.psftp_transfer_opts) error) error {
	if !o.InPlace && !o.Resume && !o.Fsync && o.Parallelism == 0 && o.Retries == 0 && o.Verify == VerifyOff {
		return f(nil)
	}
	s := fileOptSetters(o.InPlace, o.Resume, o.Fsync)
	if o.Parallelism != 0 {
		n, err := cInt("Parallelism", o.Parallelism)
		if err != nil {
			return err
		}
		s = append(s, parallelismSetter(n))
	}
	if o.Retries != 0 {
		n, err := cInt("Retries", o.Retries)
		if err != nil {
			return err
		}
		s = append(s, retrySetter(n, o.RetryDelay))
	}
	if o.Verify != VerifyOff {
		s = append(s, verifySetter(o.Verify))
	}
	return withTransferOpts(nil, s, f)
}

// retrySetter sets the retries and their first delay (0: 1 s).
func retrySetter(n C.int, delay time.Duration) optSetter {
	if delay == 0 {
		delay = time.Second
	}
	secs := C.double(delay.Seconds())
	return func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_retries(x, n, secs) }
}

// LastRetries is how many times the last Get, Put or tree operation on c
// to finish reconnected and went on (see TransferOptions.Retries).
func (c *Conn) LastRetries() int {
	defer runtime.KeepAlive(c)
	return int(C.psftp_conn_last_retries(c.handle()))
}

// parallelismSetter sets how many connections a transfer may use.
func parallelismSetter(n C.int) optSetter {
	return func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_parallelism(x, n) }
}

// optSetter is one psftp_transfer_opts_* call.
type optSetter func(x *C.psftp_transfer_opts) C.int

// fileOptSetters are the setters of the options every transfer has.
func fileOptSetters(inPlace, resume, fsync bool) []optSetter {
	return []optSetter{
		func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_atomic(x, C.bool(!inPlace)) },
		func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_resume(x, C.bool(resume)) },
		func(x *C.psftp_transfer_opts) C.int { return C.psftp_transfer_opts_set_fsync(x, C.bool(fsync)) },
	}
}

// withTransferOpts calls f with new C transfer options on which setters
// have run, and frees them afterwards. a (may be nil) holds the setters'
// C strings; its first invalid one is returned before any C call.
func withTransferOpts(a *cArgs, setters []optSetter, f func(x *C.psftp_transfer_opts) error) error {
	var x *C.psftp_transfer_opts
	if err := call(a, func() C.int { return C.psftp_transfer_opts_new(&x) }); err != nil {
		return err
	}
	defer C.psftp_transfer_opts_free(x)
	for _, set := range setters {
		if err := call(a, func() C.int { return set(x) }); err != nil {
			return err
		}
	}
	return f(x)
}

// orDefaults is o, or the defaults for nil.
func (o *TransferOptions) orDefaults() *TransferOptions {
	if o == nil {
		return &TransferOptions{}
	}
	return o
}

// transfer makes a transfer call whose progress callback reports to
// opts.Progress and stops the call once ctx is done, so a cancelled
// context returns ctx.Err(); a call that does not stop within the grace
// period is interrupted (see withContext). A context that is already done
// stops it before it starts.
func (c *Conn) transfer(ctx context.Context, a *cArgs, s *callbackState, opts *TransferOptions,
	f func(h *C.psftp_conn, x *C.psftp_transfer_opts, ud C.uintptr_t) C.int) error {
	if err := checkContext(ctx); err != nil {
		return err
	}
	s.ctx = ctx
	return opts.withCOpts(func(x *C.psftp_transfer_opts) error {
		return c.withContext(ctx, func(h *C.psftp_conn) error {
			return c.callWithOn(h, a, s, func(h *C.psftp_conn, ud C.uintptr_t) C.int { return f(h, x, ud) })
		})
	})
}

// checkContext refuses a nil context and one that is already done.
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return invalidArg("ctx", "is nil")
	}
	return ctx.Err()
}

// Get is pysftp get(remotepath, localpath, callback, preserve_mtime):
// download remotepath to localpath ("" means the remote file's name in the
// current local directory). Cancelling ctx stops the transfer, leaves any
// file that was at localpath as it was, and returns ctx.Err().
func (c *Conn) Get(ctx context.Context, remotepath, localpath string, opts *TransferOptions) error {
	o := opts.orDefaults()
	var a cArgs
	defer a.free()
	r, l := a.str("remotepath", remotepath), a.optStr("localpath", localpath)
	s := &callbackState{progress: o.Progress}
	return c.transfer(ctx, &a, s, o, func(h *C.psftp_conn, x *C.psftp_transfer_opts, ud C.uintptr_t) C.int {
		return C.psftp_get(h, r, l, cProgress, userData(ud), C.bool(o.PreserveMtime), x)
	})
}

// Put is pysftp put(localpath, remotepath, callback, confirm,
// preserve_mtime): upload localpath to remotepath ("" means the local
// file's name in the remote working directory) and return the remote
// attributes found by the confirm check. Cancelling ctx stops the transfer,
// leaves any remote file as it was, and returns ctx.Err().
func (c *Conn) Put(ctx context.Context, localpath, remotepath string, opts *TransferOptions) (os.FileInfo, error) {
	o := opts.orDefaults()
	var a cArgs
	defer a.free()
	l, r := a.str("localpath", localpath), a.optStr("remotepath", remotepath)
	attrs := C.psftp_attrs{struct_size: C.sizeof_psftp_attrs}
	s := &callbackState{progress: o.Progress}
	err := c.transfer(ctx, &a, s, o, func(h *C.psftp_conn, x *C.psftp_transfer_opts, ud C.uintptr_t) C.int {
		return C.psftp_put(h, l, r, cProgress, userData(ud), C.bool(!o.NoConfirm), C.bool(o.PreserveMtime), x, &attrs)
	})
	if err != nil {
		return nil, err
	}
	name := remotepath
	if name == "" {
		name = localpath
	}
	return &FileInfo{name: path.Base(name), attrs: attrsFromC(&attrs)}, nil
}

// Getfo is pysftp getfo(remotepath, flo, callback): stream a remote file
// into w and return the bytes written. A write error stops the transfer
// and is returned. Of opts only Progress applies.
func (c *Conn) Getfo(ctx context.Context, remotepath string, w io.Writer, opts *TransferOptions) (int64, error) {
	if w == nil {
		return 0, invalidArg("w", "is nil")
	}
	o := opts.orDefaults()
	var a cArgs
	defer a.free()
	r := a.str("remotepath", remotepath)
	var n C.uint64_t
	s := &callbackState{progress: o.Progress, writer: w}
	noCOpts := &TransferOptions{} // psftp_getfo takes no transfer options
	err := c.transfer(ctx, &a, s, noCOpts, func(h *C.psftp_conn, _ *C.psftp_transfer_opts, ud C.uintptr_t) C.int {
		return C.psftp_getfo(h, r, cWrite, cProgress, userData(ud), &n)
	})
	return int64(n), err
}

// Putfo is pysftp putfo(flo, remotepath, file_size, callback, confirm):
// upload what r supplies to remotepath. fileSize is only the progress
// total (0 if unknown). A read error stops the upload, leaves any remote
// file as it was, and is returned. Resume does not apply.
func (c *Conn) Putfo(ctx context.Context, r io.Reader, remotepath string, fileSize int64, opts *TransferOptions) (os.FileInfo, error) {
	if r == nil {
		return nil, invalidArg("r", "is nil")
	}
	if fileSize < 0 {
		return nil, invalidArg("fileSize", "is negative")
	}
	o := opts.orDefaults()
	var a cArgs
	defer a.free()
	rp := a.str("remotepath", remotepath)
	attrs := C.psftp_attrs{struct_size: C.sizeof_psftp_attrs}
	s := &callbackState{progress: o.Progress, reader: r}
	err := c.transfer(ctx, &a, s, o, func(h *C.psftp_conn, x *C.psftp_transfer_opts, ud C.uintptr_t) C.int {
		return C.psftp_putfo(h, cRead, rp, C.uint64_t(fileSize), cProgress, userData(ud), C.bool(!o.NoConfirm), x, &attrs)
	})
	if err != nil {
		return nil, err
	}
	return &FileInfo{name: path.Base(remotepath), attrs: attrsFromC(&attrs)}, nil
}
