// Package psftp is the Go binding of psftp, the pysftp 0.2.9 SFTP API as a
// C library (libpsftp, written in Rust, over libssh2). Every pysftp
// Connection member is a method of *Conn in Go spelling (get → Get,
// listdir_attr → ListdirAttr, walktree → Walktree); pysftp's CnOpts and
// Connection arguments are the fields of Config.
//
//	conn, err := psftp.Dial("example.com", psftp.Config{
//		User:       "me",
//		KeyFile:    "~/.ssh/id_ed25519",
//		KnownHosts: "~/.ssh/known_hosts",
//	})
//	if err != nil {
//		return err
//	}
//	defer conn.Close()
//	err = conn.Cd("public", func() error { // with sftp.cd('public'):
//		if _, err := conn.Put(ctx, "/my/local/filename", "", nil); err != nil {
//			return err
//		}
//		return conn.Get(ctx, "remote_file", "local_copy", &psftp.TransferOptions{PreserveMtime: true})
//	})
//
// # Errors
//
// A failed call returns an *Error with psftp's result code and message.
// Each code is a sentinel for errors.Is: ErrNotFound, ErrAuth,
// ErrHostKeyUnknown, ErrHostKeyMismatch and so on, one per PSFTP_E_* code.
// ErrNotFound, ErrPermission and ErrExists also match fs.ErrNotExist,
// fs.ErrPermission and fs.ErrExist.
//
// # Tree operations
//
// GetD, GetR, PutD and PutR are pysftp's get_d, get_r, put_d and put_r
// with TreeOptions: parallel connections, sync, include/exclude globs,
// symlink and error policies, modes, and a TreeProgress function. They
// return the entries that failed as []Failure alongside the error; with
// ContinueOnError that is every failed path.
//
// # Cancellation
//
// Transfers and tree operations take a context.Context. It is checked at
// every progress step (each chunk of a transfer; at least every 100 ms in
// a tree operation), so cancelling it stops the call promptly and the
// call returns ctx.Err(). The destination is left as it was (psftp's
// atomic replacement) and the Conn stays usable.
//
// A call blocked on the network (a stalled link) reaches no progress step.
// If the call has not stopped Config.CancelGrace (default 2 s) after its
// context is done, the binding interrupts the connection (Conn.Interrupt):
// the call returns at once with an error matching both ctx.Err() and
// ErrInterrupted, and the Conn is unusable afterwards — Interrupted()
// reports it and every later call that needs the network fails with
// ErrInterrupted; close it and dial again. An interrupt stops every call on
// the Conn, including those of other goroutines. Calls without a context
// (Listdir, Stat, ...) can be ended with Conn.Interrupt or bounded with
// Config.Timeout.
//
// Known psftp 0.1.0 limitation: once a tree operation has been asked to
// stop through its progress callback, an interrupt no longer reaches its
// extra connections (Parallelism > 1), so on a stalled link the call
// returns only when their Config.Timeout expires, or never without one.
//
// # Connecting through ssh_config, jump hosts and proxies
//
// Off unless set, as in pysftp. Config.SSHConfig (or SSHConfigFile) reads
// ssh_config, so Dial's host may be a Host alias (SSHConfigReport shows
// what it resolves to, as ssh -G); ProxyJump goes through jump hosts, as
// ssh -J; ProxyCommand runs a command carrying the connection (set one
// of the two: both fail with ErrInvalidArg); NetConn carries the
// connection over a net.Conn the application dialled (psftp duplicates
// its descriptor); KeyData is a private key's contents; and
// KeyboardInteractive answers keyboard-interactive prompts, with a
// KeyboardInteractiveRequest naming the server or jump host that asks
// (nil answers leave the prompts to Password; an error gives up).
//
// # Callbacks
//
// Progress functions, Walktree callbacks, Getfo's writer, Putfo's reader,
// Cd bodies, Config.HostKeyCallback and Config.KeyboardInteractive run on
// the calling goroutine, during the call. C reaches them through a
// runtime/cgo.Handle, never a Go pointer. A callback that panics stops the
// C call (a panicking HostKeyCallback rejects the key), and the panic is
// raised again once C has returned, so no Go panic unwinds through C
// frames. Do not call runtime.Goexit (t.FailNow) in a callback.
//
// # Goroutines and lifetime
//
// A Conn may be used by several goroutines at once; psftp serializes their
// calls on the connection. Close is explicit and idempotent; a Conn or File
// that becomes unreachable is closed by the garbage collector as a safety
// net. Methods of a closed Conn return ErrInvalidArg, never crash.
//
// # Building
//
// The package links libpsftp through pkg-config (`#cgo pkg-config: psftp`):
// set PKG_CONFIG_PATH to the directory holding psftp.pc; its rpath lets
// the program find libpsftp.so without LD_LIBRARY_PATH. The build tag
// psftp_static links libpsftp.a instead (through psftp-static.pc).
//
// # The os and io/fs idioms
//
// Besides the pysftp API: OpenFile (os flags), Create, ReadFile, ReadDir,
// Glob, RemoveAll and WalkDir as the os and path/filepath functions, a
// File that is an io.ReaderAt, WriterAt, ReaderFrom and WriterTo (io.Copy
// takes psftp's pipelined path), Conn.FS for io/fs (fs.WalkDir, http.FS,
// template.ParseFS) and DialContext. The methods with an os counterpart
// (those, and Stat, Lstat, Remove, Mkdir, Chmod, ...) return
// *fs.PathError (*os.LinkError for Rename, Symlink, Hardlink) wrapping an
// *Error, as os does; the others return the *Error itself.
package psftp
