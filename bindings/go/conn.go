package psftp

// #include <psftp.h>
import "C"

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// Conn is an open SFTP connection (pysftp Connection). It is safe for use
// by several goroutines; psftp serializes their calls. Close it when done;
// a Conn that becomes unreachable is closed by the garbage collector as a
// safety net. After Close every method returns an error (ErrInvalidArg);
// after Interrupt every method that needs the network returns an error
// matching ErrInterrupted.
type Conn struct {
	ptr         *C.psftp_conn // a registry id, not an address: a closed one is detected by psftp
	cleanup     runtime.Cleanup
	cancelGrace time.Duration // Config.CancelGrace
	interrupted atomic.Bool   // set before psftp_interrupt is called
}

func newConn(p *C.psftp_conn, cancelGrace time.Duration) *Conn {
	c := &Conn{ptr: p, cancelGrace: cancelGrace}
	c.cleanup = runtime.AddCleanup(c, closeConnHandle, p)
	return c
}

func closeConnHandle(p *C.psftp_conn) { C.psftp_close(p) }

// Close ends the session (pysftp close()). It is idempotent and always
// returns nil; open Files fail afterwards with ErrConnectionLost.
func (c *Conn) Close() error {
	if c == nil {
		return nil
	}
	c.cleanup.Stop()
	C.psftp_close(c.ptr)
	return nil
}

// handle is the C handle; NULL for a nil *Conn, which psftp reports as an
// invalid argument.
func (c *Conn) handle() *C.psftp_conn {
	if c == nil {
		return nil
	}
	return c.ptr
}

// call runs f on the connection's handle and keeps the Conn reachable until
// it returns, so the cleanup cannot close the handle under a running call.
func (c *Conn) call(a *cArgs, f func(h *C.psftp_conn) C.int) error {
	defer runtime.KeepAlive(c)
	return c.markInterrupted(call(a, func() C.int { return f(c.handle()) }))
}

// callWith is call for C calls with callbacks (see withCallbacks).
func (c *Conn) callWith(a *cArgs, s *callbackState, f func(h *C.psftp_conn, ud C.uintptr_t) C.int) error {
	return c.callWithOn(c.handle(), a, s, f)
}

// callWithOn is callWith through h: the Conn's handle or a handle on it
// tied to one call's cancel token (withContext).
func (c *Conn) callWithOn(h *C.psftp_conn, a *cArgs, s *callbackState, f func(h *C.psftp_conn, ud C.uintptr_t) C.int) error {
	defer runtime.KeepAlive(c)
	return c.markInterrupted(withCallbacks(a, s, func(ud C.uintptr_t) C.int { return f(h, ud) }))
}

// stringOut runs a call that returns a psftp string ("" for NULL).
func (c *Conn) stringOut(a *cArgs, f func(h *C.psftp_conn, out **C.char) C.int) (string, error) {
	var out *C.char
	if err := c.call(a, func(h *C.psftp_conn) C.int { return f(h, &out) }); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// boolOut runs a call that answers a bool.
func (c *Conn) boolOut(a *cArgs, f func(h *C.psftp_conn, out *C.bool) C.int) (bool, error) {
	var out C.bool
	err := c.call(a, func(h *C.psftp_conn) C.int { return f(h, &out) })
	return bool(out), err
}

// pair runs a call that returns a (local, remote) pair of strings.
func (c *Conn) pair(f func(h *C.psftp_conn, l, r **C.char) C.int) (local, remote string, err error) {
	var l, r *C.char
	if err := c.call(nil, func(h *C.psftp_conn) C.int { return f(h, &l, &r) }); err != nil {
		return "", "", err
	}
	return takeString(l), takeString(r), nil
}

// RemoteServerKey is pysftp remote_server_key: the server's host key.
func (c *Conn) RemoteServerKey() (HostKey, error) {
	var k *C.psftp_hostkey
	if err := c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_remote_server_key(h, &k) }); err != nil {
		return HostKey{}, err
	}
	return takeHostKey(k), nil
}

// ActiveCiphers is pysftp active_ciphers: the ciphers in use,
// client-to-server (local) and server-to-client (remote).
func (c *Conn) ActiveCiphers() (local, remote string, err error) {
	return c.pair(func(h *C.psftp_conn, l, r **C.char) C.int { return C.psftp_active_ciphers(h, l, r) })
}

// ActiveCompression is pysftp active_compression: "none", "zlib" or
// "zlib@openssh.com" for each direction.
func (c *Conn) ActiveCompression() (local, remote string, err error) {
	return c.pair(func(h *C.psftp_conn, l, r **C.char) C.int { return C.psftp_active_compression(h, l, r) })
}

// SecurityOptions is pysftp security_options: what this build of libssh2
// can negotiate, best first.
type SecurityOptions struct {
	Ciphers, Digests, KeyTypes, Kex, Compression []string
}

// SecurityOptions is pysftp security_options.
func (c *Conn) SecurityOptions() (SecurityOptions, error) {
	var o *C.psftp_security_info
	if err := c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_security_options(h, &o) }); err != nil {
		return SecurityOptions{}, err
	}
	defer C.psftp_security_info_free(o)
	return SecurityOptions{
		Ciphers:     strarrayValues(&o.ciphers),
		Digests:     strarrayValues(&o.digests),
		KeyTypes:    strarrayValues(&o.key_types),
		Kex:         strarrayValues(&o.kex),
		Compression: strarrayValues(&o.compression),
	}, nil
}

// Timeout is pysftp timeout: how long a read or write may wait (0: no limit).
func (c *Conn) Timeout() (time.Duration, error) {
	var secs C.double
	err := c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_timeout(h, &secs) })
	return time.Duration(float64(secs) * float64(time.Second)), err
}

// SetTimeout sets pysftp timeout (0: no limit). After a timeout the
// connection is unusable (ErrConnectionLost): dial again.
func (c *Conn) SetTimeout(d time.Duration) error {
	return c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_set_timeout(h, C.double(d.Seconds())) })
}

// Logfile is pysftp logfile: the log's path, or "" when not logging.
func (c *Conn) Logfile() (string, error) {
	return c.stringOut(nil, func(h *C.psftp_conn, out **C.char) C.int { return C.psftp_logfile(h, out) })
}

// Execute is pysftp execute(command): runs command on the server and
// returns stdout's lines then stderr's, each with its newline, and the exit
// status.
func (c *Conn) Execute(command string) (lines []string, exitStatus int, err error) {
	var a cArgs
	defer a.free()
	cmd := a.str("command", command)
	var out *C.psftp_strarray
	var status C.int
	if err := c.call(&a, func(h *C.psftp_conn) C.int { return C.psftp_execute(h, cmd, &out, &status) }); err != nil {
		return nil, 0, err
	}
	return takeStrarray(out), int(status), nil
}

// SftpClient is pysftp sftp_client, the escape hatch: the LIBSSH2_SESSION
// and LIBSSH2_SFTP pointers, valid until Close. Do not close or free them,
// and use them only inside WithSftpClient (libssh2 sessions are not
// thread-safe: another call or a keepalive may run on the session at any
// other time).
func (c *Conn) SftpClient() (session, sftp unsafe.Pointer, err error) {
	err = c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_sftp_client(h, &session, &sftp) })
	return session, sftp, err
}

// WithSftpClient runs f with the LIBSSH2_SESSION and LIBSSH2_SFTP pointers
// while holding the Conn (psftp_lock): calls on it from other goroutines
// wait and keepalives pause until f returns. f runs on a locked OS thread
// and must not call this Conn itself. f's error is returned.
func (c *Conn) WithSftpClient(f func(session, sftp unsafe.Pointer) error) error {
	session, sftp, err := c.SftpClient()
	if err != nil {
		return err
	}
	runtime.LockOSThread() // psftp_lock and psftp_unlock pair up on one thread
	defer runtime.UnlockOSThread()
	if err := c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_lock(h) }); err != nil {
		return err
	}
	defer c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_unlock(h) })
	return f(session, sftp)
}

// HasExtension reports whether the server announced the SFTP extension
// name ("posix-rename@openssh.com", "fsync@openssh.com", ...).
func (c *Conn) HasExtension(name string) (bool, error) {
	var a cArgs
	defer a.free()
	n := a.str("name", name)
	return c.boolOut(&a, func(h *C.psftp_conn, out *C.bool) C.int { return C.psftp_has_extension(h, n, out) })
}
