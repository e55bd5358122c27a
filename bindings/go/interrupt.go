package psftp

// #include <psftp.h>
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// ErrInterrupted matches (errors.Is) the errors of a Conn that was
// interrupted, by Conn.Interrupt or by a cancelled context whose call did
// not stop within Config.CancelGrace: the call that was running and every
// later call that needs the network. Such a Conn cannot be used again:
// close it and dial again.
var ErrInterrupted = errors.New("psftp: the connection was interrupted and is unusable (close it and dial again)")

// DefaultCancelGrace is the Config.CancelGrace used when it is 0.
const DefaultCancelGrace = 2 * time.Second

// Interrupt aborts whatever the Conn is doing, from any goroutine
// (psftp_interrupt): its socket is shut down, so every call running on it
// — on any goroutine, a call blocked on a stalled link included — returns
// at once with an error matching ErrInterrupted and ErrCancelled. The Conn
// is unusable afterwards; Close it and dial again. Interrupt on a closed
// or nil Conn does nothing.
func (c *Conn) Interrupt() {
	if c == nil {
		return
	}
	defer runtime.KeepAlive(c)
	c.interrupted.Store(true) // first, so every failure it causes is marked
	C.psftp_interrupt(c.ptr)
}

// Interrupted reports whether the Conn was interrupted (Interrupt, or a
// context cancellation that had to interrupt it) and is therefore unusable.
func (c *Conn) Interrupted() bool {
	return c != nil && c.interrupted.Load()
}

// markInterrupted makes a call's failure match ErrInterrupted when the
// Conn was interrupted (psftp reports those failures as ErrCancelled, or
// ErrConnectionLost for a File).
func (c *Conn) markInterrupted(err error) error {
	if !c.Interrupted() {
		return err
	}
	var e *Error
	if errors.As(err, &e) && (e.Code == ErrCancelled || e.Code == ErrConnectionLost) {
		e.interrupted = true
	}
	return err
}

// grace is how long a call whose context is done may go on before the
// connection is interrupted; negative means never.
func (c *Conn) grace() time.Duration {
	if c == nil || c.cancelGrace == 0 {
		return DefaultCancelGrace
	}
	return c.cancelGrace
}

// withContext runs f, one C call, through a handle on the connection tied
// to a cancel token of its own (psftp_conn_with_cancel): once ctx is done
// the token is cancelled, which stops this call alone — its requests are
// abandoned, its handles closed without waiting — and leaves the
// connection and other goroutines' calls running; the call's error is then
// ctx.Err(). If f has not returned within the grace period after that (it
// waits on a frozen link, where nothing arrives to notice the cancel), the
// connection is interrupted, f returns promptly, and the call's error is
// ctx.Err() joined with ErrInterrupted.
func (c *Conn) withContext(ctx context.Context, f func(h *C.psftp_conn) error) (err error) {
	if ctx.Done() == nil {
		return f(c.handle())
	}
	var token *C.psftp_cancel_token
	if err := call(nil, func() C.int { return C.psftp_cancel_token_new(&token) }); err != nil {
		return err
	}
	defer C.psftp_cancel_token_free(token)
	var view *C.psftp_conn
	if err := c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_conn_with_cancel(h, token, &view) }); err != nil {
		return err
	}
	defer C.psftp_close(view) // this handle only; the connection stays open
	cancelled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.psftp_cancel_token_cancel(token)
		close(cancelled)
	})
	defer func() {
		// The token must outlive every use: wait for a cancel under way.
		if !stop() {
			<-cancelled
		}
	}()
	err = c.interruptAfterGrace(ctx, func() error { return f(view) })
	var e *Error
	if ctx.Err() != nil && errors.As(err, &e) && e.Code == ErrCancelled && !e.interrupted {
		return ctx.Err() // stopped by its own token
	}
	return err
}

// interruptAfterGrace runs f; if ctx is done and f has not returned within
// the grace period, the connection is interrupted and f's error is
// ctx.Err() joined with ErrInterrupted.
func (c *Conn) interruptAfterGrace(ctx context.Context, f func() error) (err error) {
	grace := c.grace()
	if grace < 0 {
		return f()
	}
	var (
		mu          sync.Mutex
		returned    bool // f has returned: too late to interrupt
		interrupted bool // the watcher interrupted the connection
	)
	finished := make(chan struct{})
	go func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-finished:
			return
		case <-timer.C:
		}
		mu.Lock()
		defer mu.Unlock()
		if !returned {
			interrupted = true
			c.Interrupt()
		}
	}()
	// Deferred, so that a callback's panic raised again by f also stops the
	// watcher before it could interrupt a connection that is fine.
	defer func() {
		mu.Lock()
		returned = true
		mu.Unlock()
		close(finished)
		if interrupted && err != nil {
			err = fmt.Errorf("%w; %w", ctx.Err(), ErrInterrupted)
		}
	}()
	return f()
}
