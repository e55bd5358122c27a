package psftp

// #include <psftp.h>
import "C"

import (
	"context"
	"io"
	"io/fs"
	"runtime/cgo"
)

// callbackState is what one C call's callbacks work with. C only ever sees
// a runtime/cgo.Handle to it. The callbacks run on the goroutine that made
// the call, during the call, so its fields need no locking.
type callbackState struct {
	ctx      context.Context         // transfers: checked at every callback
	progress func(done, total int64) // transfers: the user's progress function
	writer   io.Writer               // Getfo's destination
	reader   io.Reader               // Putfo's origin
	walk     [walkKinds]WalkFunc     // Walktree: file, directory, other
	body     func() error            // Cd, LocalCd
	tree     func(TreeProgress)      // tree operations: the user's progress function
	hostKey  HostKeyCallback         // Dial: decides about unknown and changed host keys
	kbdInt   KeyboardInteractive     // Dial: answers keyboard-interactive prompts
	stopErr  error                   // why a callback stopped the call
	panicked bool                    // a callback panicked with panicVal
	panicVal any
}

// run executes a user callback. It reports whether the C call must stop:
// when f fails (the error is kept to be returned instead of C's
// PSFTP_E_USER) or panics (the panic is kept and raised again once C
// has returned, because a panic must never unwind through C frames).
func (s *callbackState) run(f func() error) (stop bool) {
	if s.stopErr != nil || s.panicked {
		return true // already stopping: run no more user code
	}
	defer func() {
		if p := recover(); p != nil {
			s.panicked, s.panicVal, stop = true, p, true
		}
	}()
	if err := f(); err != nil {
		s.stopErr = err
		return true
	}
	return false
}

// cancelled records the context's error, if it is done, as the reason to
// stop.
func (s *callbackState) cancelled() error {
	if s.ctx == nil {
		return nil
	}
	return s.ctx.Err()
}

// withCallbacks makes the C call f with a handle to s as user_data, then
// re-raises a callback's panic or returns the callback's own error in place
// of the C code it caused.
func withCallbacks(args *cArgs, s *callbackState, f func(ud C.uintptr_t) C.int) error {
	h := cgo.NewHandle(s)
	defer h.Delete()
	err := call(args, func() C.int { return f(C.uintptr_t(h)) })
	if s.panicked {
		panic(s.panicVal)
	}
	if err != nil && s.stopErr != nil {
		if s.stopErr == fs.SkipAll {
			return nil
		}
		return s.stopErr
	}
	return err
}

// stateOf is the state behind a handle C passed back.
func stateOf(h C.uintptr_t) *callbackState {
	return cgo.Handle(h).Value().(*callbackState)
}
