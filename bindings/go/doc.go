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
// # Cancellation
//
// Transfers take a context.Context. It is checked at every progress step of
// the transfer (each chunk psftp moves), so cancelling it stops the
// transfer promptly and the call returns ctx.Err(). The destination is left
// as it was (psftp's atomic replacement). A transfer stalled on the network
// only notices at its next step; Config.Timeout bounds that.
//
// # Callbacks
//
// Progress functions, Walktree callbacks, Getfo's writer, Putfo's reader
// and Cd bodies run on the calling goroutine, during the call. C reaches
// them through a runtime/cgo.Handle, never a Go pointer. A callback that
// panics stops the C call, and the panic is raised again once C has
// returned, so no Go panic unwinds through C frames. Do not call
// runtime.Goexit (t.FailNow) in a callback.
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
// set PKG_CONFIG_PATH to the directory holding psftp.pc.
package psftp
