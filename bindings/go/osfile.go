package psftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
)

// The os-style API: OpenFile, Create, File.ReadAt/WriteAt/ReadFrom/WriteTo
// and Chmod, as the os package has them. Their errors are *fs.PathError
// (Op and Path as os would give them) wrapping the *psftp.Error, so
// errors.Is(err, fs.ErrNotExist) and errors.As(err, &pathErr) work as with
// os; so are those of the pysftp-named methods with an os counterpart
// (fsops.go: Stat, Remove, Mkdir, ...; *os.LinkError for Rename and
// Symlink). Conn.Open's Files keep returning *psftp.Error.

// copyChunk is how much File.ReadFrom and WriteTo move per call into
// psftp: a read or write this large bypasses the file's buffer and goes
// through psftp's pipelined transfer path, which keeps many requests in
// flight (io.Copy's own 32 KiB would be served from a 1 MiB read-ahead
// that drains the pipeline at every refill).
const copyChunk = 8 << 20

// pathErr wraps err as os would: a *fs.PathError with the operation and
// the path as the caller gave it. nil stays nil; a *fs.PathError (from a
// call made on the way) is wrapped anew with this op and path.
func pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if pe, ok := err.(*fs.PathError); ok {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// linkErr is pathErr for two paths, as os.Rename, os.Symlink and os.Link
// report: a *os.LinkError.
func linkErr(op, oldname, newname string, err error) error {
	if err == nil {
		return nil
	}
	return &os.LinkError{Op: op, Old: oldname, New: newname, Err: err}
}

// osMode is the pysftp mode string that opens a file as flag asks, and
// what OpenFile must do around it: mustExist (stat first: the mode would
// create the file, the flags forbid it) and truncate (after opening).
type osMode struct {
	mode      string
	mustExist bool
	truncate  bool
}

// modeForFlags maps os.OpenFile flags onto psftp's Python modes. The
// SFTP open flags of the modes are exactly those of O_EXCL, O_APPEND and
// O_CREATE|O_TRUNC; the other combinations get a read-write mode ("r+",
// so the server is asked for read access as well) plus a step, and the
// binding refuses reads or writes that flag does not allow.
func modeForFlags(flag int) (osMode, error) {
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	if acc != os.O_RDONLY && acc != os.O_WRONLY && acc != os.O_RDWR {
		return osMode{}, invalidArg("flag", "has more than one of O_RDONLY, O_WRONLY and O_RDWR")
	}
	if flag&^(acc|os.O_CREATE|os.O_EXCL|os.O_TRUNC|os.O_APPEND) != 0 {
		// O_SYNC among them: SFTP has no synchronous writes (File.Sync
		// asks for stable storage when the server offers fsync).
		return osMode{}, invalidArg("flag", "has flags other than O_RDONLY, O_WRONLY, O_RDWR, O_CREATE, O_EXCL, O_TRUNC and O_APPEND")
	}
	create, excl := flag&os.O_CREATE != 0, flag&os.O_EXCL != 0
	trunc, appnd := flag&os.O_TRUNC != 0, flag&os.O_APPEND != 0
	plus := ""
	if acc != os.O_WRONLY {
		plus = "+"
	}
	switch {
	case create && excl:
		// A new file is empty: O_TRUNC has nothing to do.
		if appnd {
			return osMode{mode: "x+"}, nil // O_APPEND on a new file: its own writes land at the end anyway
		}
		return osMode{mode: "x" + plus}, nil
	case appnd:
		return osMode{mode: "a" + plus, mustExist: !create, truncate: trunc}, nil
	case trunc:
		return osMode{mode: "w" + plus, mustExist: !create}, nil
	case create:
		// Open or create, keeping the content: no Python mode says that;
		// OpenFile tries "r+", then "x+".
		return osMode{mode: "r+"}, nil
	case acc == os.O_RDONLY:
		return osMode{mode: "r"}, nil
	default:
		return osMode{mode: "r+"}, nil
	}
}

// OpenFile is os.OpenFile on the server: flag is os.O_RDONLY, O_WRONLY or
// O_RDWR, or'ed with O_CREATE, O_EXCL, O_TRUNC and O_APPEND (other flags,
// O_SYNC among them, fail with ErrInvalidArg). perm sets the mode of a file
// this call creates, when it is not 0666 (0666 leaves it to the server's
// umask, as os.Create does); an existing file keeps its mode. O_CREATE
// without O_TRUNC, O_EXCL or O_APPEND, and O_WRONLY without O_TRUNC, open
// the file for reading too on the server (SFTP has no such Python mode),
// so they need read permission there. Errors are *fs.PathError with Op
// "open"; errors.Is(err, fs.ErrNotExist) and fs.ErrExist work. Reads or
// writes that flag does not allow fail with ErrInvalidArg.
func (c *Conn) OpenFile(name string, flag int, perm fs.FileMode) (*File, error) {
	m, err := modeForFlags(flag)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	f, err := c.openFlags(name, m, flag, perm)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return f, nil
}

func (c *Conn) openFlags(name string, m osMode, flag int, perm fs.FileMode) (*File, error) {
	created := false
	switch {
	case m.mustExist:
		if _, err := c.Stat(name); err != nil {
			return nil, err
		}
	case flag&os.O_CREATE != 0 && m.mode != "r+" && perm.Perm() != 0o666:
		// Whether this call creates the file decides about perm.
		_, err := c.Lstat(name)
		created = errors.Is(err, fs.ErrNotExist) || m.mode[0] == 'x'
	}
	f, err := c.Open(name, m.mode, -1)
	if m.mode == "r+" && flag&os.O_CREATE != 0 && errors.Is(err, fs.ErrNotExist) {
		f, err = c.Open(name, "x+", -1)
		created = err == nil
		if errors.Is(err, fs.ErrExist) { // created by someone else meanwhile
			f, err = c.Open(name, "r+", -1)
		}
	}
	if err != nil {
		return nil, err
	}
	f.osStyle = true
	f.noRead = flag&(os.O_WRONLY|os.O_RDWR) == os.O_WRONLY
	f.noWrite = flag&(os.O_WRONLY|os.O_RDWR) == os.O_RDONLY
	f.fullPath = c.absolute(name)
	f.appendOnly = f.appendOnly || flag&os.O_APPEND != 0
	if m.truncate {
		err = f.Truncate(0)
	}
	if err == nil && created && perm.Perm() != 0o666 {
		err = f.Chmod(perm)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// absolute is name made independent of later Chdir calls: joined to the
// current directory when it is relative (psftp keeps that directory on
// the client side, so this costs no round trip).
func (c *Conn) absolute(name string) string {
	if path.IsAbs(name) {
		return name
	}
	cwd, err := c.Getcwd()
	if err != nil || cwd == "" {
		return name
	}
	return path.Join(cwd, name)
}

// Create is os.Create on the server: OpenFile(name, O_RDWR|O_CREATE|O_TRUNC,
// 0666).
func (c *Conn) Create(name string) (*File, error) {
	return c.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// ReadFile is os.ReadFile on the server: the whole file, through psftp's
// pipelined download (Getfo). Errors are *fs.PathError with Op "open".
func (c *Conn) ReadFile(name string) ([]byte, error) {
	var buf bytesWriter
	if _, err := c.Getfo(context.Background(), name, &buf, nil); err != nil {
		return nil, pathErr("open", name, err)
	}
	return buf.b, nil
}

// bytesWriter collects what Getfo writes.
type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// wrap turns err into os's form for a File from OpenFile, Create or an FS
// (op "read", "write", "seek", ...); a pysftp-style File (Conn.Open)
// keeps *psftp.Error.
func (f *File) wrap(op string, err error) error {
	if err == nil || f == nil || !f.osStyle {
		return err
	}
	return pathErr(op, f.name, err)
}

// denied is the error of a read or write ("read" or "write") that the
// open flags do not allow, nil if they do.
func (f *File) denied(what string) error {
	if f == nil || what == "read" && !f.noRead || what == "write" && !f.noWrite {
		return nil
	}
	return f.wrap(what, invalidArg("file", "'"+f.name+"' was not opened for "+what+"ing"))
}

// lock takes f.mu (nothing for a nil File, whose calls fail in psftp with
// ErrInvalidArg) and returns its unlock.
func (f *File) lock() (unlock func()) {
	if f == nil {
		return func() {}
	}
	f.mu.Lock()
	return f.mu.Unlock
}

// ReadAt is io.ReaderAt: len(p) bytes from offset off, or fewer with an
// error (io.EOF at the end of the file). It does not move the position
// that Read and Write use; it may run alongside the File's other methods.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, f.wrap("readat", invalidArg("off", "is negative"))
	}
	defer f.lock()()
	if err := f.denied("read"); err != nil {
		return 0, err
	}
	n := 0
	err := f.atOffset(off, func() error {
		var err error
		n, err = io.ReadFull(readerFunc(f.read), p)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return err
	})
	if err != nil && err != io.EOF {
		err = f.wrap("readat", err)
	}
	return n, err
}

// WriteAt is io.WriterAt: all of p at offset off. It does not move the
// position that Read and Write use. A File opened with O_APPEND refuses
// it, as os.File does.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if f != nil && f.appendOnly {
		return 0, f.wrap("writeat", invalidArg("file", "'"+f.name+"' was opened with O_APPEND or mode 'a'"))
	}
	if off < 0 {
		return 0, f.wrap("writeat", invalidArg("off", "is negative"))
	}
	defer f.lock()()
	if err := f.denied("write"); err != nil {
		return 0, err
	}
	err := f.atOffset(off, func() error { return f.write(p) })
	if err != nil {
		return 0, f.wrap("writeat", err)
	}
	return len(p), nil
}

// atOffset runs op at offset off and moves the position back afterwards
// (f.mu held).
func (f *File) atOffset(off int64, op func() error) error {
	pos, err := f.seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := f.seek(off, io.SeekStart); err != nil {
		return err
	}
	err = op()
	if _, serr := f.seek(pos, io.SeekStart); err == nil || err == io.EOF && serr != nil {
		err = serr
	}
	return err
}

// ReadFrom is io.ReaderFrom, which io.Copy(file, r) uses: it writes what r
// gives until io.EOF, in chunks large enough for psftp's pipelined upload.
func (f *File) ReadFrom(r io.Reader) (int64, error) {
	defer f.lock()()
	if err := f.denied("write"); err != nil {
		return 0, err
	}
	buf := make([]byte, copyChunk)
	var total int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := f.write(buf[:n]); err != nil {
				return total, f.wrap("write", err)
			}
			total += int64(n)
		}
		switch rerr {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return total, nil
		default:
			return total, rerr
		}
	}
}

// WriteTo is io.WriterTo, which io.Copy(w, file) uses: from the position
// to the end of the file, read in chunks large enough for psftp's
// pipelined download.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	defer f.lock()()
	if err := f.denied("read"); err != nil {
		return 0, err
	}
	buf := make([]byte, copyChunk)
	var total int64
	for {
		n, err := f.read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if m < n {
				return total, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, f.wrap("read", err)
		}
	}
}

// Chmod changes the file's mode, as os.File.Chmod (the path it was opened
// with, made absolute at open: a later Chdir does not matter).
func (f *File) Chmod(mode fs.FileMode) error {
	if f == nil {
		return invalidArg("file", "is nil")
	}
	p := f.fullPath
	if p == "" {
		p = f.name
	}
	return f.wrap("chmod", f.conn.Chmod(p, mode))
}

// readerFunc adapts a Read method for io.ReadFull.
type readerFunc func(p []byte) (int, error)

func (r readerFunc) Read(p []byte) (int, error) { return r(p) }
