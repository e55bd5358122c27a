package psftp_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	psftp "github.com/psftp/psftp/bindings/go"
)

func TestFileReadWriteSeekWithEveryBuffering(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "file")
	for _, bufsize := range []int{-1, 0, 1, 4096} {
		p := filepath.Join(dir, fmt.Sprintf("f%d", bufsize))
		f, err := c.Open(p, "w+", bufsize)
		must(t, err)
		big := pattern(3<<20, byte(bufsize))
		for _, chunk := range [][]byte{[]byte("line one\n"), []byte("line two\nrest"), big} {
			n, err := f.Write(chunk)
			if err != nil || n != len(chunk) {
				t.Fatalf("write: %d %v", n, err)
			}
		}
		pos, err := f.Tell()
		must(t, err)
		if pos != int64(22+len(big)) {
			t.Fatalf("tell %d", pos)
		}
		if pos, err := f.Seek(0, io.SeekStart); err != nil || pos != 0 {
			t.Fatalf("seek: %d %v", pos, err)
		}
		for _, want := range []string{"line one\n", "line two\n"} {
			line, err := f.Readline()
			if err != nil || string(line) != want {
				t.Fatalf("readline %q %v, want %q", line, err, want)
			}
		}
		rest, err := io.ReadAll(f)
		must(t, err)
		if !bytes.Equal(rest, append([]byte("rest"), big...)) {
			t.Fatalf("bufsize %d: read back %d bytes", bufsize, len(rest))
		}
		if n, err := f.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("at the end: %d %v", n, err)
		}
		if line, err := f.Readline(); line != nil || err != io.EOF {
			t.Fatalf("readline at the end: %q %v", line, err)
		}
		if pos, err := f.Seek(-4, io.SeekEnd); err != nil || pos != int64(22+len(big)-4) {
			t.Fatalf("seek end: %d %v", pos, err)
		}
		if pos, err := f.Seek(2, io.SeekCurrent); err != nil || pos != int64(22+len(big)-2) {
			t.Fatalf("seek current: %d %v", pos, err)
		}
		fi, err := f.Stat()
		must(t, err)
		if fi.Size() != int64(22+len(big)) || fi.Name() != filepath.Base(p) || f.Name() != p {
			t.Fatalf("stat %s %d", fi.Name(), fi.Size())
		}
		must(t, f.Truncate(5))
		must(t, f.Flush())
		must(t, f.Sync())
		must(t, f.Close())
		if string(readFile(t, p)) != "line " {
			t.Fatalf("content %q", readFile(t, p))
		}
		must(t, f.Close()) // idempotent
		_, err = f.Tell()
		wantErr(t, err, psftp.ErrInvalidArg, "not a live psftp_file")
		_, err = f.Write([]byte("x"))
		wantErr(t, err, psftp.ErrInvalidArg, "not a live psftp_file")
	}
}

func TestFileModesFollowPython(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "modes")
	p := filepath.Join(dir, "f")
	_, err := c.Open(p, "r", -1)
	wantErr(t, err, psftp.ErrNotFound, "/f")
	f, err := c.Open(p, "wb", -1)
	must(t, err)
	_, err = f.Write([]byte("hello"))
	must(t, err)
	_, err = f.Read(make([]byte, 4))
	wantErr(t, err, psftp.ErrInvalidArg, "not opened for reading")
	must(t, f.Close())

	f, err = c.Open(p, "a", -1)
	must(t, err)
	_, err = f.Seek(0, io.SeekStart)
	must(t, err)
	_, err = f.Write([]byte(" world")) // append mode: lands at the end anyway
	must(t, err)
	must(t, f.Close())
	if string(readFile(t, p)) != "hello world" {
		t.Fatalf("append: %q", readFile(t, p))
	}

	f, err = c.Open(p, "r+", -1)
	must(t, err)
	_, err = f.Write([]byte("J"))
	must(t, err)
	_, err = f.Seek(0, io.SeekStart)
	must(t, err)
	if b, _ := io.ReadAll(f); string(b) != "Jello world" {
		t.Fatalf("r+: %q", b)
	}
	_, err = f.Seek(-1, io.SeekStart)
	wantErr(t, err, psftp.ErrInvalidArg, "offset")
	_, err = f.Seek(0, 7)
	wantErr(t, err, psftp.ErrInvalidArg, "whence")
	wantErr(t, f.Truncate(-1), psftp.ErrInvalidArg, "size")
	must(t, f.Close())

	_, err = c.Open(p, "x", -1)
	wantErr(t, err, psftp.ErrExists, "/f")
	for _, bad := range []string{"rt", "z", "rw"} {
		_, err = c.Open(p, bad, -1)
		wantErr(t, err, psftp.ErrInvalidArg, "mode", bad)
	}
	f, err = c.Open(p, "w", -1)
	must(t, err)
	must(t, f.Close())
	if len(readFile(t, p)) != 0 {
		t.Fatal("w truncates")
	}
}

func TestFileWorksWithTheIOPackage(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "iocopy")
	data := pattern(1<<20+17, 12)
	f, err := c.Open(filepath.Join(dir, "f"), "w", -1)
	must(t, err)
	n, err := io.Copy(f, bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("io.Copy: %d %v", n, err)
	}
	must(t, f.Close())
	r, err := c.Open(filepath.Join(dir, "f"), "r", -1)
	must(t, err)
	defer r.Close()
	section := io.NewSectionReader(readerAt{r}, 1000, 5000)
	got, err := io.ReadAll(section)
	must(t, err)
	if !bytes.Equal(got, data[1000:6000]) {
		t.Fatal("section read")
	}
}

// readerAt adapts a File to io.ReaderAt through Seek and Read.
type readerAt struct{ f *psftp.File }

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if _, err := r.f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(r.f, p)
}

func TestAFileOutlivingItsConnFailsCleanly(t *testing.T) {
	c, err := psftp.Dial(srv.host, config())
	must(t, err)
	dir := remoteScratch(t, "orphan")
	f, err := c.Open(filepath.Join(dir, "f"), "w", 0)
	must(t, err)
	must(t, c.Close())
	_, err = f.Write([]byte("x"))
	wantErr(t, err, psftp.ErrConnectionLost, "closed")
	if err := f.Close(); err != nil {
		wantErr(t, err, psftp.ErrConnectionLost)
	}
	var nilFile *psftp.File
	_, err = nilFile.Read(make([]byte, 1))
	wantErr(t, err, psftp.ErrInvalidArg, "file", "NULL")
	must(t, nilFile.Close())
	_, statErr := os.Stat(filepath.Join(dir, "f"))
	must(t, statErr)
}
