package psftp

// The //export trampolines C calls back into. This file's preamble may only
// declare (cgo's rule for files with //export); the C adapters that call
// these are in cgo.go. Each trampoline finds its callbackState through the
// runtime/cgo.Handle C passes back and lets callbackState.run guard the
// user's code against panics.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <psftp.h>

extern const psftp_kbdint_prompt *psftpgo_prompt(const psftp_kbdint_request *r, size_t i);
*/
import "C"

import (
	"io"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

//export psftpGoProgress
func psftpGoProgress(done, total C.uint64_t, h C.uintptr_t) C.int {
	s := stateOf(h)
	stop := s.run(func() error {
		if s.progress != nil {
			s.progress(int64(done), int64(total))
		}
		return s.cancelled()
	})
	return stopCode(stop, 1)
}

//export psftpGoWrite
func psftpGoWrite(data *C.uint8_t, n C.size_t, h C.uintptr_t) C.int {
	s := stateOf(h)
	stop := s.run(func() error {
		// io.Writer must not retain the slice, so a view of C's buffer is safe.
		if _, err := s.writer.Write(unsafe.Slice((*byte)(data), int(n))); err != nil {
			return err
		}
		return s.cancelled()
	})
	return stopCode(stop, 1)
}

//export psftpGoRead
func psftpGoRead(buf *C.uint8_t, n C.size_t, h C.uintptr_t) C.int64_t {
	s := stateOf(h)
	got := 0
	stop := s.run(func() error {
		if err := s.cancelled(); err != nil {
			return err
		}
		var err error
		// ReadAtLeast skips (0, nil) reads, which C would take for the end.
		got, err = io.ReadAtLeast(s.reader, unsafe.Slice((*byte)(buf), int(n)), 1)
		if err == io.EOF {
			return nil
		}
		return err
	})
	if stop {
		return -1
	}
	return C.int64_t(got)
}

//export psftpGoWalk
func psftpGoWalk(kind C.int, path *C.char, attrs *C.psftp_attrs, h C.uintptr_t) C.int {
	s := stateOf(h)
	fn := s.walk[kind]
	skip := false
	stop := s.run(func() error {
		if fn == nil {
			return nil
		}
		p := C.GoString(path)
		err := fn(p, newFileInfoAt(p, attrs))
		if err == SkipDir {
			skip = true
			return nil
		}
		return err
	})
	if skip {
		return C.PSFTP_WALK_SKIP
	}
	return stopCode(stop, -1)
}

//export psftpGoBody
func psftpGoBody(h C.uintptr_t) C.int {
	s := stateOf(h)
	return stopCode(s.run(s.body), C.PSFTP_E_CANCELLED)
}

// stopCode is 0 (continue) or the callback's "stop" value.
func stopCode(stop bool, code C.int) C.int {
	if stop {
		return code
	}
	return 0
}

//export psftpGoTreeProgress
func psftpGoTreeProgress(p *C.psftp_tree_progress, h C.uintptr_t) C.int {
	s := stateOf(h)
	stop := s.run(func() error {
		if s.tree != nil {
			s.tree(TreeProgress{
				FilesDone:   int64(p.files_done),
				FilesTotal:  int64(p.files_total),
				BytesDone:   int64(p.bytes_done),
				BytesTotal:  int64(p.bytes_total),
				CurrentPath: C.GoString(p.current_path),
			})
		}
		return s.cancelled()
	})
	return stopCode(stop, 1)
}

// storedHandles counts the handles psftp holds for stored callbacks (the
// host-key callback): each is released by psftp's finalizer when no copy
// of the options needs it any more.
var storedHandles atomic.Int64

//export psftpGoReleaseHandle
func psftpGoReleaseHandle(h C.uintptr_t) {
	cgo.Handle(h).Delete()
	storedHandles.Add(-1)
}

//export psftpGoHostKey
func psftpGoHostKey(host *C.char, port C.int, key *C.psftp_hostkey, status C.int, h C.uintptr_t) C.int {
	s := stateOf(h)
	decision := HostKeyReject
	s.run(func() error {
		decision = s.hostKey(C.GoString(host), int(port), hostKeyValues(key), HostKeyStatus(status))
		return nil
	})
	switch {
	case s.panicked:
		return C.PSFTP_HOSTKEY_REJECT
	case decision == HostKeyAccept, decision == HostKeyAcceptAndSave:
		return C.int(decision)
	}
	return C.PSFTP_HOSTKEY_REJECT // and any value psftp does not know
}

//export psftpGoKbdInt
func psftpGoKbdInt(req *C.psftp_kbdint_request, answers *C.psftp_kbdint_answers, h C.uintptr_t) C.int {
	s := stateOf(h)
	n := int(req.num_prompts)
	r := KeyboardInteractiveRequest{
		Host: C.GoString(req.host), Port: int(req.port), User: C.GoString(req.user),
		Name: C.GoString(req.name), Instruction: C.GoString(req.instruction),
		Questions: make([]string, n), Echos: make([]bool, n),
	}
	for i := 0; i < n; i++ {
		p := C.psftpgo_prompt(req, C.size_t(i))
		r.Questions[i], r.Echos[i] = C.GoString(p.text), bool(p.echo)
	}
	stop := s.run(func() error {
		replies, err := s.kbdInt(r)
		if err != nil {
			return err
		}
		for i, r := range replies {
			if i >= n {
				break
			}
			cr := C.CString(r)
			rc := C.psftp_kbdint_answer(answers, C.size_t(i), cr)
			// psftp copied the answer: wipe and free ours.
			C.memset(unsafe.Pointer(cr), 0, C.size_t(len(r)))
			C.free(unsafe.Pointer(cr))
			if rc != C.PSFTP_OK {
				return &Error{Code: ErrorCode(rc), Message: C.GoString(C.psftp_last_error())}
			}
		}
		return nil
	})
	return stopCode(stop, 1)
}
