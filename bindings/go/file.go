package psftp

// #include <psftp.h>
import "C"

import (
	"bytes"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// File is an open remote file (pysftp open(), paramiko SFTPFile), binary
// only. It is an io.Reader, io.Writer, io.Seeker and io.Closer. Close it
// when done; an unreachable File is closed by the garbage collector as a
// safety net. A File keeps its Conn from being collected; after the Conn
// is closed, its calls fail with ErrConnectionLost.
type File struct {
	ptr     *C.psftp_file // a registry id, not an address
	conn    *Conn
	name    string
	cleanup runtime.Cleanup

	// mu orders the calls that use the position (Read, Write, Seek,
	// Readline, ReadAt, WriteAt, ReadFrom, WriteTo): ReadAt and WriteAt
	// move it and back, which must look atomic to the others.
	mu sync.Mutex
	// osStyle: opened by OpenFile, Create or an FS, so errors are
	// *fs.PathError as os gives them (osfile.go).
	osStyle bool
	// The open flags' access mode forbids reading or writing (psftp may
	// have opened the file read-write; see OpenFile).
	noRead, noWrite bool
	appendOnly      bool   // mode 'a' or O_APPEND: WriteAt is refused
	fullPath        string // name made absolute at open (for Chmod); "" if unknown
}

var _ io.ReadWriteSeeker = (*File)(nil)
var _ io.Closer = (*File)(nil)

// Open is pysftp open(remote_file, mode, bufsize). mode is a Python mode:
// "r", "w", "a" or "x", each optionally with "+" ("b" is allowed; always
// binary). bufsize -1 buffers 1 MiB, 0 is unbuffered, 1 line-buffers
// writes, a larger value is the buffer size. "a" writes always go to the
// end; "x" fails with ErrExists if the file exists.
func (c *Conn) Open(remotefile, mode string, bufsize int) (*File, error) {
	var a cArgs
	defer a.free()
	p, m := a.str("remote_file", remotefile), a.str("mode", mode)
	var f *C.psftp_file
	err := c.call(&a, func(h *C.psftp_conn) C.int { return C.psftp_open(h, p, m, C.int64_t(bufsize), &f) })
	if err != nil {
		return nil, err
	}
	file := &File{ptr: f, conn: c, name: remotefile, appendOnly: strings.ContainsRune(mode, 'a')}
	file.cleanup = runtime.AddCleanup(file, closeFileHandle, f)
	return file, nil
}

func closeFileHandle(p *C.psftp_file) { C.psftp_file_close(p) }

// call runs f on the file's handle, keeping the File (and so its Conn)
// reachable until it returns.
func (f *File) call(fn func(h *C.psftp_file) C.int) error {
	defer runtime.KeepAlive(f)
	if f == nil {
		return call(nil, func() C.int { return fn(nil) })
	}
	return f.conn.markInterrupted(call(nil, func() C.int { return fn(f.ptr) }))
}

// Name is the path the file was opened with.
func (f *File) Name() string { return f.name }

// Read reads up to len(p) bytes; it returns io.EOF at the end of the file.
func (f *File) Read(p []byte) (int, error) {
	defer f.lock()()
	if err := f.denied("read"); err != nil {
		return 0, err
	}
	n, err := f.read(p)
	if err != io.EOF {
		err = f.wrap("read", err)
	}
	return n, err
}

// read is Read with f.mu held.
func (f *File) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n C.size_t
	// p holds no Go pointers and C uses it only during the call (cgo rules).
	err := f.call(func(h *C.psftp_file) C.int {
		return C.psftp_file_read(h, unsafe.Pointer(&p[0]), C.size_t(len(p)), &n)
	})
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF
	}
	return int(n), nil
}

// Readline reads up to and including the next '\n' (or to the end of the
// file). It returns io.EOF when nothing is left.
func (f *File) Readline() ([]byte, error) {
	defer f.lock()()
	var line []byte
	buf := make([]byte, 4096)
	for {
		var n C.size_t
		err := f.call(func(h *C.psftp_file) C.int {
			return C.psftp_file_readline(h, unsafe.Pointer(&buf[0]), C.size_t(len(buf)), &n)
		})
		if err != nil {
			return line, err
		}
		line = append(line, buf[:n]...)
		// psftp stops at '\n', at the end of the file or with buf full.
		if int(n) < len(buf) || bytes.HasSuffix(line, []byte{'\n'}) {
			break
		}
	}
	if len(line) == 0 {
		return nil, io.EOF
	}
	return line, nil
}

// Write writes all of p (buffered as Open's bufsize says).
func (f *File) Write(p []byte) (int, error) {
	defer f.lock()()
	if err := f.denied("write"); err != nil {
		return 0, err
	}
	if err := f.write(p); err != nil {
		return 0, f.wrap("write", err)
	}
	return len(p), nil
}

// write is Write with f.mu held.
func (f *File) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	return f.call(func(h *C.psftp_file) C.int {
		return C.psftp_file_write(h, unsafe.Pointer(&p[0]), C.size_t(len(p)))
	})
}

// Seek sets the position for the next Read or Write (io.SeekStart,
// io.SeekCurrent or io.SeekEnd, which are psftp's SEEK_* values).
func (f *File) Seek(offset int64, whence int) (int64, error) {
	defer f.lock()()
	pos, err := f.seek(offset, whence)
	return pos, f.wrap("seek", err)
}

// seek is Seek with f.mu held.
func (f *File) seek(offset int64, whence int) (int64, error) {
	var pos C.uint64_t
	err := f.call(func(h *C.psftp_file) C.int {
		return C.psftp_file_seek(h, C.int64_t(offset), C.int(whence), &pos)
	})
	return int64(pos), err
}

// Tell is the current position.
func (f *File) Tell() (int64, error) {
	var pos C.uint64_t
	err := f.call(func(h *C.psftp_file) C.int { return C.psftp_file_tell(h, &pos) })
	return int64(pos), err
}

// Stat gives the open file's attributes (after flushing buffered writes).
func (f *File) Stat() (os.FileInfo, error) {
	attrs := C.psftp_attrs{struct_size: C.sizeof_psftp_attrs}
	if err := f.call(func(h *C.psftp_file) C.int { return C.psftp_file_stat(h, &attrs) }); err != nil {
		return nil, f.wrap("stat", err)
	}
	return &FileInfo{name: path.Base(f.name), attrs: attrsFromC(&attrs)}, nil
}

// Flush sends buffered writes to the server.
func (f *File) Flush() error {
	return f.call(func(h *C.psftp_file) C.int { return C.psftp_file_flush(h) })
}

// Sync flushes, then asks the server to write the file to stable storage
// (fsync@openssh.com); ErrUnsupported if it cannot.
func (f *File) Sync() error {
	return f.wrap("sync", f.call(func(h *C.psftp_file) C.int { return C.psftp_file_fsync(h) }))
}

// Truncate cuts or extends the file to size bytes.
func (f *File) Truncate(size int64) error {
	if size < 0 {
		return f.wrap("truncate", invalidArg("size", "is negative"))
	}
	return f.wrap("truncate", f.call(func(h *C.psftp_file) C.int { return C.psftp_file_truncate(h, C.uint64_t(size)) }))
}

// Close flushes and closes the file. It is idempotent: a second Close
// returns nil. The file is released even when the flush fails.
func (f *File) Close() error {
	if f == nil {
		return nil
	}
	f.cleanup.Stop()
	return f.wrap("close", f.call(func(h *C.psftp_file) C.int { return C.psftp_file_close(h) }))
}
