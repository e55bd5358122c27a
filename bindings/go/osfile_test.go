package psftp_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	psftp "github.com/psftp/psftp/bindings/go"
)

// wantPathErr asserts err is a *fs.PathError with op and path that
// matches target through errors.Is (and wraps a *psftp.Error).
func wantPathErr(t testing.TB, err error, op, path string, target error) {
	t.Helper()
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("%v (%T) is not a *fs.PathError", err, err)
	}
	if pe.Op != op || pe.Path != path {
		t.Fatalf("PathError op %q path %q, want %q %q", pe.Op, pe.Path, op, path)
	}
	if !errors.Is(err, target) {
		t.Fatalf("%v does not match %v", err, target)
	}
	var e *psftp.Error
	if !errors.As(err, &e) {
		t.Fatalf("%v wraps no *psftp.Error", err)
	}
}

// Each os flag combination does on the server what os.OpenFile does on a
// local file: the same content afterwards, the same refusals.
func TestOpenFileFlagsActAsOnALocalFile(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "openflags")
	local := t.TempDir()
	cases := []struct {
		name  string
		flag  int
		exist bool
	}{
		{"rdonly", os.O_RDONLY, true},
		{"rdonly-missing", os.O_RDONLY, false},
		{"wronly", os.O_WRONLY, true},
		{"rdwr", os.O_RDWR, true},
		{"rdwr-missing", os.O_RDWR, false},
		{"create-keeps", os.O_WRONLY | os.O_CREATE, true},
		{"create-new", os.O_RDWR | os.O_CREATE, false},
		{"trunc", os.O_WRONLY | os.O_TRUNC, true},
		{"trunc-missing", os.O_WRONLY | os.O_TRUNC, false},
		{"create-trunc", os.O_WRONLY | os.O_CREATE | os.O_TRUNC, true},
		{"excl-exists", os.O_WRONLY | os.O_CREATE | os.O_EXCL, true},
		{"excl-new", os.O_RDWR | os.O_CREATE | os.O_EXCL, false},
		{"append", os.O_WRONLY | os.O_APPEND, true},
		{"append-missing", os.O_WRONLY | os.O_APPEND, false},
		{"append-create", os.O_RDWR | os.O_APPEND | os.O_CREATE, false},
		{"append-trunc", os.O_WRONLY | os.O_APPEND | os.O_TRUNC, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rp, lp := filepath.Join(dir, tc.name), filepath.Join(local, tc.name)
			if tc.exist {
				putRemote(t, rp, []byte("0123456789"))
				must(t, os.WriteFile(lp, []byte("0123456789"), 0o644))
			}
			rf, rerr := c.OpenFile(rp, tc.flag, 0o666)
			lf, lerr := os.OpenFile(lp, tc.flag, 0o666)
			if (rerr == nil) != (lerr == nil) {
				t.Fatalf("remote %v, local %v", rerr, lerr)
			}
			if lerr != nil {
				for _, target := range []error{fs.ErrNotExist, fs.ErrExist} {
					if errors.Is(lerr, target) {
						wantPathErr(t, rerr, "open", rp, target)
						return
					}
				}
				t.Fatalf("unexpected local error %v", lerr)
			}
			// The same write, then the same read from the start (where the
			// access mode allows them).
			_, rw := rf.Write([]byte("ab"))
			_, lw := lf.Write([]byte("ab"))
			if (rw == nil) != (lw == nil) {
				t.Fatalf("write: remote %v, local %v", rw, lw)
			}
			if rw != nil {
				wantPathErr(t, rw, "write", rp, psftp.ErrInvalidArg)
			}
			must(t, rf.Close())
			must(t, lf.Close())
			if got, want := readFile(t, rp), readFile(t, lp); !bytes.Equal(got, want) {
				t.Fatalf("remote content %q, local %q", got, want)
			}
		})
	}
}

func TestOpenFileRefusesWhatTheFlagsForbid(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "openrefuse")
	p := filepath.Join(dir, "f")
	putRemote(t, p, []byte("data"))
	w, err := c.OpenFile(p, os.O_WRONLY, 0)
	must(t, err)
	defer w.Close()
	_, err = w.Read(make([]byte, 4))
	wantPathErr(t, err, "read", p, psftp.ErrInvalidArg)
	_, err = w.ReadAt(make([]byte, 4), 0)
	wantPathErr(t, err, "read", p, psftp.ErrInvalidArg)

	a, err := c.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	defer a.Close()
	_, err = a.WriteAt([]byte("x"), 0)
	wantPathErr(t, err, "writeat", p, psftp.ErrInvalidArg)

	for _, flag := range []int{os.O_RDWR | os.O_WRONLY, os.O_RDWR | os.O_SYNC} {
		_, err = c.OpenFile(p, flag, 0)
		wantPathErr(t, err, "open", p, psftp.ErrInvalidArg)
		if !strings.Contains(err.Error(), "flag") {
			t.Fatalf("%v does not name the flag", err)
		}
	}
}

func TestCreateSetsPermAndTruncates(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "create")
	p := filepath.Join(dir, "f")
	putRemote(t, p, []byte("old content"))
	f, err := c.Create(p)
	must(t, err)
	_, err = f.Write([]byte("new"))
	must(t, err)
	must(t, f.Close())
	if got := string(readFile(t, p)); got != "new" {
		t.Fatalf("after Create %q", got)
	}

	q := filepath.Join(dir, "private")
	f, err = c.OpenFile(q, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	must(t, err)
	must(t, f.Close())
	st, err := os.Stat(q)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	// perm leaves an existing file's mode alone.
	f, err = c.OpenFile(q, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	must(t, err)
	must(t, f.Chmod(0o640)) // File.Chmod: the path as opened
	must(t, f.Close())
	st, err = os.Stat(q)
	must(t, err)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v after File.Chmod(0640)", st.Mode().Perm())
	}
}

// File.Chmod keeps working after a Chdir (the path is made absolute at
// open).
func TestFileChmodAfterChdir(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "fchmod")
	other := remoteScratch(t, "fchmod-other")
	must(t, c.Chdir(dir))
	f, err := c.Create("rel")
	must(t, err)
	must(t, c.Chdir(other))
	must(t, f.Chmod(0o600))
	must(t, f.Close())
	st, err := os.Stat(filepath.Join(dir, "rel"))
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
}

func TestReadAtWriteAtLeaveThePositionAlone(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "readat")
	p := filepath.Join(dir, "f")
	data := pattern(4<<20+17, 3)
	putRemote(t, p, data)
	f, err := c.OpenFile(p, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	head := make([]byte, 10)
	_, err = io.ReadFull(f, head)
	must(t, err)

	var wg sync.WaitGroup
	for i := range 4 { // concurrent ReadAt calls, as io.ReaderAt allows
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := int64(i) * 700001
			buf := make([]byte, 1<<20)
			n, err := f.ReadAt(buf, off)
			if err != nil || n != len(buf) || !bytes.Equal(buf, data[off:off+int64(n)]) {
				t.Errorf("ReadAt(%d): %d %v", off, n, err)
			}
		}()
	}
	wg.Wait()
	tail := make([]byte, 100)
	n, err := f.ReadAt(tail, int64(len(data)-40))
	if n != 40 || err != io.EOF || !bytes.Equal(tail[:40], data[len(data)-40:]) {
		t.Fatalf("ReadAt at the end: %d %v", n, err)
	}
	if n, err := f.WriteAt([]byte("XYZ"), 5); n != 3 || err != nil {
		t.Fatalf("WriteAt: %d %v", n, err)
	}
	next := make([]byte, 5)
	_, err = io.ReadFull(f, next)
	must(t, err)
	if !bytes.Equal(next, data[10:15]) {
		t.Fatalf("Read after ReadAt/WriteAt got %q, want the bytes at 10", next)
	}
	must(t, f.Close())
	want := append([]byte{}, data...)
	copy(want[5:], "XYZ")
	if !bytes.Equal(readFile(t, p), want) {
		t.Fatal("WriteAt did not land at offset 5")
	}
	_, err = f.ReadAt(head, -1)
	wantPathErr(t, err, "readat", p, psftp.ErrInvalidArg)
}

// io.Copy both ways goes through ReadFrom and WriteTo (checked by the
// counting wrappers: the other side sees few, large calls).
func TestIOCopyUsesReadFromAndWriteTo(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "iocopy")
	data := pattern(20<<20+3, 9)
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.WriteFile(src, data, 0o644))
	p := filepath.Join(dir, "f")

	in, err := os.Open(src)
	must(t, err)
	defer in.Close()
	f, err := c.Create(p)
	must(t, err)
	n, err := io.Copy(f, in)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("io.Copy up: %d %v", n, err)
	}
	must(t, f.Close())
	if !bytes.Equal(readFile(t, p), data) {
		t.Fatal("uploaded content differs")
	}

	r, err := c.OpenFile(p, os.O_RDONLY, 0)
	must(t, err)
	defer r.Close()
	_, err = r.Seek(1000, io.SeekStart)
	must(t, err)
	w := &countingWriter{}
	n, err = io.Copy(w, r)
	if err != nil || n != int64(len(data)-1000) || !bytes.Equal(w.buf.Bytes(), data[1000:]) {
		t.Fatalf("io.Copy down from 1000: %d %v", n, err)
	}
	if w.calls > 4 { // 8 MiB chunks: 3 writes for 20 MiB
		t.Fatalf("WriteTo wrote in %d calls: not the large-chunk path", w.calls)
	}
	_, err = r.Write([]byte("x"))
	wantPathErr(t, err, "write", p, psftp.ErrInvalidArg)
}

type countingWriter struct {
	buf   bytes.Buffer
	calls int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.calls++
	return w.buf.Write(p)
}

func TestReadFileAndOsStyleErrors(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "readfile")
	p := filepath.Join(dir, "f")
	data := pattern(1<<20+5, 1)
	putRemote(t, p, data)
	got, err := c.ReadFile(p)
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Fatal("ReadFile content differs")
	}
	missing := filepath.Join(dir, "missing")
	_, err = c.ReadFile(missing)
	wantPathErr(t, err, "open", missing, fs.ErrNotExist)
	_, err = c.OpenFile(missing, os.O_RDONLY, 0)
	wantPathErr(t, err, "open", missing, fs.ErrNotExist)
	_, err = c.ReadDir(missing)
	wantPathErr(t, err, "readdir", missing, fs.ErrNotExist)
	_, err = c.Create(filepath.Join(missing, "f"))
	wantPathErr(t, err, "open", filepath.Join(missing, "f"), fs.ErrNotExist)
}

// The calls with an os counterpart fail as it does: *fs.PathError (or
// *os.LinkError for two paths) with os's Op, wrapping the *psftp.Error.
func TestOsLikeCallsReturnPathErrors(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "patherr")
	missing := filepath.Join(dir, "missing")
	_, err := c.Stat(missing)
	wantPathErr(t, err, "stat", missing, fs.ErrNotExist)
	_, err = c.Lstat(missing)
	wantPathErr(t, err, "lstat", missing, fs.ErrNotExist)
	wantPathErr(t, c.Remove(missing), "remove", missing, fs.ErrNotExist)
	wantPathErr(t, c.Rmdir(missing), "remove", missing, fs.ErrNotExist)
	wantPathErr(t, c.Chmod(missing, 0o600), "chmod", missing, fs.ErrNotExist)
	wantPathErr(t, c.Chdir(missing), "chdir", missing, fs.ErrNotExist)
	_, err = c.Readlink(missing)
	wantPathErr(t, err, "readlink", missing, fs.ErrNotExist)
	wantPathErr(t, c.Mkdir(dir, 0o755), "mkdir", dir, fs.ErrExist)
	_, err = c.Truncate(missing, 0)
	wantPathErr(t, err, "truncate", missing, fs.ErrNotExist)

	err = c.Rename(missing, filepath.Join(dir, "to"))
	var le *os.LinkError
	if !errors.As(err, &le) || le.Op != "rename" || le.Old != missing || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Rename of a missing file: %v (%T)", err, err)
	}
	var pe *psftp.Error
	if !errors.As(err, &pe) || pe.Code != psftp.ErrNotFound {
		t.Fatalf("Rename error wraps no *psftp.Error: %v", err)
	}
}
