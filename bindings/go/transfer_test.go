package psftp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	psftp "github.com/psftp/psftp/bindings/go"
)

// progressLog records progress calls.
type progressLog struct{ calls [][2]int64 }

func (p *progressLog) record(done, total int64) { p.calls = append(p.calls, [2]int64{done, total}) }

// checkComplete asserts progress grew and ended at total/total.
func (p *progressLog) checkComplete(t *testing.T, total int64) {
	t.Helper()
	if len(p.calls) == 0 || p.calls[len(p.calls)-1] != [2]int64{total, total} {
		t.Fatalf("progress %v does not end at %d/%d", p.calls, total, total)
	}
	for i := 1; i < len(p.calls); i++ {
		if p.calls[i][0] <= p.calls[i-1][0] {
			t.Fatalf("progress went back: %v", p.calls)
		}
	}
}

func TestGetCopiesBytesAndReportsProgress(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "get")
	data := pattern(5<<20+123, 1)
	putRemote(t, filepath.Join(rdir, "big.bin"), data)
	local := filepath.Join(t.TempDir(), "big.bin")
	var p progressLog
	must(t, c.Get(t.Context(), filepath.Join(rdir, "big.bin"), local, &psftp.TransferOptions{Progress: p.record}))
	if !bytes.Equal(readFile(t, local), data) {
		t.Fatal("downloaded bytes differ")
	}
	p.checkComplete(t, int64(len(data)))
	if len(p.calls) < 3 {
		t.Fatalf("only %d progress calls for 5 MiB", len(p.calls))
	}
}

func TestGetWithoutLocalpathUsesTheRemoteName(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "getname")
	putRemote(t, filepath.Join(rdir, "named.txt"), []byte("named"))
	ldir := t.TempDir()
	must(t, psftp.LocalCd(ldir, func() error {
		return c.Get(t.Context(), filepath.Join(rdir, "named.txt"), "", nil)
	}))
	if string(readFile(t, filepath.Join(ldir, "named.txt"))) != "named" {
		t.Fatal("not written under the remote name in the local cwd")
	}
}

func TestPreserveMtimeBothWays(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "mtime")
	remote := filepath.Join(rdir, "f.txt")
	putRemote(t, remote, []byte("hello"))
	must(t, os.Chtimes(remote, time.Unix(1_000_000_500, 0), time.Unix(1_000_000_000, 0)))
	ldir := t.TempDir()
	must(t, c.Get(t.Context(), remote, filepath.Join(ldir, "kept"), &psftp.TransferOptions{PreserveMtime: true}))
	if mtime(t, filepath.Join(ldir, "kept")) != 1_000_000_000 {
		t.Fatal("get did not preserve mtime")
	}
	must(t, c.Get(t.Context(), remote, filepath.Join(ldir, "fresh"), nil))
	if mtime(t, filepath.Join(ldir, "fresh")) < 1_600_000_000 {
		t.Fatal("without PreserveMtime the local time is now")
	}

	local := filepath.Join(ldir, "up")
	must(t, os.WriteFile(local, pattern(3<<20+7, 2), 0o644))
	must(t, os.Chtimes(local, time.Unix(1_234_567_890, 0), time.Unix(1_234_567_890, 0)))
	fi, err := c.Put(t.Context(), local, filepath.Join(rdir, "up"), &psftp.TransferOptions{PreserveMtime: true})
	must(t, err)
	if fi.ModTime().Unix() != 1_234_567_890 || mtime(t, filepath.Join(rdir, "up")) != 1_234_567_890 {
		t.Fatalf("put mtime: returned %v", fi.ModTime())
	}
}

func TestPutReturnsTheRemoteAttributes(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "put")
	local := filepath.Join(t.TempDir(), "up.bin")
	data := pattern(3<<20+7, 3)
	must(t, os.WriteFile(local, data, 0o600))
	var p progressLog
	fi, err := c.Put(t.Context(), local, filepath.Join(rdir, "up.bin"), &psftp.TransferOptions{Progress: p.record})
	must(t, err)
	if !bytes.Equal(readFile(t, filepath.Join(rdir, "up.bin")), data) {
		t.Fatal("uploaded bytes differ")
	}
	if fi.Name() != "up.bin" || fi.Size() != int64(len(data)) || !fi.Mode().IsRegular() {
		t.Fatalf("returned %s %d %v", fi.Name(), fi.Size(), fi.Mode())
	}
	if m := mode(t, filepath.Join(rdir, "up.bin")); m != 0o644 {
		t.Fatalf("remote mode %v: the server's umask applies, not the local mode", m)
	}
	p.checkComplete(t, int64(len(data)))

	fi, err = c.Put(t.Context(), local, filepath.Join(rdir, "up.bin"), &psftp.TransferOptions{NoConfirm: true})
	must(t, err)
	if fi.Sys().(*psftp.Attrs).Flags != 0 {
		t.Fatalf("NoConfirm still returned attributes %+v", fi.Sys())
	}

	must(t, c.Chdir(rdir))
	_, err = c.Put(t.Context(), local, "", nil)
	must(t, err)
	if !bytes.Equal(readFile(t, filepath.Join(rdir, "up.bin")), data) {
		t.Fatal("put without remotepath")
	}
}

func TestTransferErrors(t *testing.T) {
	c := dial(t)
	ldir := t.TempDir()
	missing := srv.home + "/no-such-file"
	err := c.Get(t.Context(), missing, filepath.Join(ldir, "x"), nil)
	wantErr(t, err, psftp.ErrNotFound, missing, "No such file")
	if entries, _ := os.ReadDir(ldir); len(entries) != 0 {
		t.Fatalf("left %v behind", entries)
	}
	_, err = c.Put(t.Context(), "/no/such/local", "/tmp/x", nil)
	wantErr(t, err, psftp.ErrLocalIO, "/no/such/local")
	f := filepath.Join(ldir, "f")
	must(t, os.WriteFile(f, []byte("x"), 0o644))
	_, err = c.Put(t.Context(), f, "/root/psftp-denied", nil)
	wantErr(t, err, psftp.ErrPermission, "/root/")
	err = c.Get(nil, "/x", f, nil)
	wantErr(t, err, psftp.ErrInvalidArg, "ctx")
}

func TestInPlaceAndAtomicReplacement(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "inplace")
	local := filepath.Join(t.TempDir(), "f")
	remote := filepath.Join(rdir, "f")
	must(t, os.WriteFile(local, []byte("v1"), 0o644))
	inPlace := &psftp.TransferOptions{InPlace: true, Fsync: true}
	_, err := c.Put(t.Context(), local, remote, inPlace)
	must(t, err)
	before := ino(t, remote)
	must(t, os.WriteFile(local, []byte("v2"), 0o644))
	_, err = c.Put(t.Context(), local, remote, inPlace)
	must(t, err)
	if ino(t, remote) != before || string(readFile(t, remote)) != "v2" {
		t.Fatal("in-place put did not write the same inode")
	}
	must(t, os.Chmod(remote, 0o600))
	must(t, os.WriteFile(local, []byte("v3"), 0o644))
	_, err = c.Put(t.Context(), local, remote, nil)
	must(t, err)
	if ino(t, remote) == before || string(readFile(t, remote)) != "v3" || mode(t, remote) != 0o600 {
		t.Fatal("atomic put must rename a new inode into place and keep the permission bits")
	}
}

func TestResumeContinuesOnlyAPartFileOfTheSameSource(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "resume")
	data := pattern(2<<20, 4)
	src := filepath.Join(rdir, "src")
	putRemote(t, src, data)
	ldir := t.TempDir()
	dst, part := filepath.Join(ldir, "dst"), filepath.Join(ldir, ".dst.psftp.part")
	resume := &psftp.TransferOptions{Resume: true}
	// A part file nothing vouches for (no record of its source) is not
	// resumed: none of its bytes reach the copy.
	stale := slices.Clone(data[:len(data)/2])
	stale[10] ^= 0xff
	must(t, os.WriteFile(part, stale, 0o644))
	must(t, c.Get(t.Context(), src, dst, resume))
	if !bytes.Equal(readFile(t, dst), data) {
		t.Fatal("the stale part file was used")
	}
	// An interrupted resumable get continues where it stopped.
	must(t, os.Remove(dst))
	ctx, cancel := context.WithCancel(t.Context())
	stop := &psftp.TransferOptions{Resume: true, Progress: func(int64, int64) { cancel() }}
	if err := c.Get(ctx, src, dst, stop); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled get: %v", err)
	}
	info, err := os.Stat(part)
	must(t, err)
	have := info.Size()
	if have <= 0 || have >= int64(len(data)) {
		t.Fatalf("part file of %d bytes", have)
	}
	first := int64(-1)
	again := &psftp.TransferOptions{Resume: true, Progress: func(done, _ int64) {
		if first < 0 {
			first = done
		}
	}}
	must(t, c.Get(t.Context(), src, dst, again))
	if first <= have || !bytes.Equal(readFile(t, dst), data) {
		t.Fatalf("resumed after %d bytes: first report %d", have, first)
	}
}

func TestGetfoAndPutfoStreamThroughGoIO(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "fo")
	data := pattern(2<<20+5, 5)
	putRemote(t, filepath.Join(rdir, "src"), data)
	var buf bytes.Buffer
	var p progressLog
	n, err := c.Getfo(t.Context(), filepath.Join(rdir, "src"), &buf, &psftp.TransferOptions{Progress: p.record})
	must(t, err)
	if n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("getfo wrote %d bytes", n)
	}
	p.checkComplete(t, int64(len(data)))

	fi, err := c.Putfo(t.Context(), bytes.NewReader(data), filepath.Join(rdir, "dst"), int64(len(data)), nil)
	must(t, err)
	if fi.Size() != int64(len(data)) || !bytes.Equal(readFile(t, filepath.Join(rdir, "dst")), data) {
		t.Fatal("putfo")
	}
	// io.Reader's (0, nil) is not the end of the data.
	fi, err = c.Putfo(t.Context(), &stutterReader{r: bytes.NewReader(data)}, filepath.Join(rdir, "dst2"), 0, nil)
	must(t, err)
	if !bytes.Equal(readFile(t, filepath.Join(rdir, "dst2")), data) {
		t.Fatal("putfo with empty reads")
	}

	_, err = c.Getfo(t.Context(), filepath.Join(rdir, "src"), nil, nil)
	wantErr(t, err, psftp.ErrInvalidArg, "w")
	_, err = c.Putfo(t.Context(), nil, filepath.Join(rdir, "x"), 0, nil)
	wantErr(t, err, psftp.ErrInvalidArg, "r")
	_, err = c.Getfo(t.Context(), filepath.Join(rdir, "nope"), &buf, nil)
	wantErr(t, err, psftp.ErrNotFound, "nope")
}

// stutterReader returns (0, nil) before every read.
type stutterReader struct {
	r    io.Reader
	idle bool
}

func (s *stutterReader) Read(p []byte) (int, error) {
	s.idle = !s.idle
	if s.idle {
		return 0, nil
	}
	return s.r.Read(p[:min(len(p), 7000)])
}

func TestReaderAndWriterErrorsStopTheTransferAndAreReturned(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "ioerr")
	remote := filepath.Join(rdir, "dst")
	putRemote(t, remote, []byte("old"))
	readErr := errors.New("reader broke")
	r := io.MultiReader(bytes.NewReader(pattern(300_000, 6)), &failingReader{readErr})
	_, err := c.Putfo(t.Context(), r, remote, 0, nil)
	if err != readErr {
		t.Fatalf("putfo returned %v, want the reader's error", err)
	}
	if string(readFile(t, remote)) != "old" {
		t.Fatal("a failed putfo replaced the remote file")
	}
	if names, _ := c.Listdir(rdir); !slices.Equal(names, []string{"dst"}) {
		t.Fatalf("left behind: %q", names)
	}
	putRemote(t, filepath.Join(rdir, "src"), pattern(2<<20, 7))
	writeErr := errors.New("disk full")
	_, err = c.Getfo(t.Context(), filepath.Join(rdir, "src"), &failingWriter{writeErr}, nil)
	if err != writeErr {
		t.Fatalf("getfo returned %v, want the writer's error", err)
	}
	if _, err := c.Listdir(rdir); err != nil {
		t.Fatalf("connection unusable after a stopped transfer: %v", err)
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

type failingWriter struct{ err error }

func (f *failingWriter) Write([]byte) (int, error) { return 0, f.err }

// cancelAtFirstProgress returns a context and a progress function that,
// at the first call, has another goroutine cancel the context and waits
// for it: the transfer is then mid-way when the cancellation arrives.
func cancelAtFirstProgress(t *testing.T) (context.Context, *progressLog, func(done, total int64)) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	var p progressLog
	return ctx, &p, func(done, total int64) {
		p.record(done, total)
		if len(p.calls) == 1 {
			go cancel()
			<-ctx.Done()
		}
	}
}

func TestCancellingAGetMidwayKeepsTheOldFile(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "cancel")
	size := 8 << 20
	putRemote(t, filepath.Join(rdir, "big"), pattern(size, 8))
	ldir := t.TempDir()
	local := filepath.Join(ldir, "big")
	must(t, os.WriteFile(local, []byte("the good old content"), 0o644))
	ctx, p, progress := cancelAtFirstProgress(t)
	err := c.Get(ctx, filepath.Join(rdir, "big"), local, &psftp.TransferOptions{Progress: progress})
	if err != context.Canceled {
		t.Fatalf("Get returned %v, want context.Canceled", err)
	}
	if len(p.calls) != 1 || p.calls[0][0] >= int64(size) {
		t.Fatalf("progress after the cancel: %v", p.calls)
	}
	if string(readFile(t, local)) != "the good old content" {
		t.Fatal("cancelled get replaced the local file")
	}
	if entries, _ := os.ReadDir(ldir); len(entries) != 1 {
		t.Fatalf("temporary file left: %v", entries)
	}
	must(t, c.Get(t.Context(), filepath.Join(rdir, "big"), local, nil))
	if len(readFile(t, local)) != size {
		t.Fatal("the connection does not work after the cancel")
	}
}

func TestCancellingAPutMidwayKeepsTheOldRemoteFile(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "cancelput")
	remote := filepath.Join(rdir, "target")
	putRemote(t, remote, []byte("remote original"))
	local := filepath.Join(t.TempDir(), "big")
	must(t, os.WriteFile(local, pattern(8<<20, 9), 0o644))
	ctx, p, progress := cancelAtFirstProgress(t)
	_, err := c.Put(ctx, local, remote, &psftp.TransferOptions{Progress: progress})
	if !errors.Is(err, context.Canceled) || len(p.calls) != 1 {
		t.Fatalf("Put returned %v after %d progress calls", err, len(p.calls))
	}
	if string(readFile(t, remote)) != "remote original" {
		t.Fatal("cancelled put replaced the remote file")
	}
	if names, _ := c.Listdir(rdir); !slices.Equal(names, []string{"target"}) {
		t.Fatalf("temporary upload left: %q", names)
	}
}

func TestCancellationWithoutAProgressFunction(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "cancelfo")
	putRemote(t, filepath.Join(rdir, "big"), pattern(8<<20, 10))
	// The writer cancels after its first chunk; the binding's own progress
	// callback notices.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &cancellingWriter{cancel: cancel}
	_, err := c.Getfo(ctx, filepath.Join(rdir, "big"), w, nil)
	if err != context.Canceled || w.writes != 1 {
		t.Fatalf("Getfo returned %v after %d writes", err, w.writes)
	}

	// A context that is already done stops the transfer before it starts.
	local := filepath.Join(t.TempDir(), "never")
	err = c.Get(ctx, filepath.Join(rdir, "big"), local, nil)
	if err != context.Canceled {
		t.Fatalf("Get with a cancelled context: %v", err)
	}
	past, stop := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer stop()
	_, err = c.Put(past, local, filepath.Join(rdir, "never"), nil)
	if err != context.DeadlineExceeded {
		t.Fatalf("Put after the deadline: %v", err)
	}
	if _, err := os.Stat(local); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a cancelled Get created the local file")
	}
}

type cancellingWriter struct {
	cancel context.CancelFunc
	writes int
}

func (w *cancellingWriter) Write(p []byte) (int, error) {
	w.writes++
	w.cancel()
	return len(p), nil
}

func TestPanickingCallbacksAreRaisedAgainAfterTheCall(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "panic")
	putRemote(t, filepath.Join(rdir, "big"), pattern(4<<20, 11))
	ldir := t.TempDir()
	local := filepath.Join(ldir, "big")
	must(t, os.WriteFile(local, []byte("old"), 0o644))
	calls := 0
	p := recovered(func() {
		c.Get(t.Context(), filepath.Join(rdir, "big"), local, &psftp.TransferOptions{
			Progress: func(int64, int64) { calls++; panic("progress boom") },
		})
	})
	if p != "progress boom" || calls != 1 {
		t.Fatalf("recovered %v after %d calls", p, calls)
	}
	if string(readFile(t, local)) != "old" {
		t.Fatal("the stopped get replaced the local file")
	}
	if entries, _ := os.ReadDir(ldir); len(entries) != 1 {
		t.Fatalf("temporary file left: %v", entries)
	}

	type custom struct{ n int }
	p = recovered(func() { c.Putfo(t.Context(), panickingReader{custom{7}}, filepath.Join(rdir, "x"), 0, nil) })
	if p != (custom{7}) {
		t.Fatalf("reader panic: recovered %v", p)
	}
	p = recovered(func() { c.Getfo(t.Context(), filepath.Join(rdir, "big"), panickingWriter{}, nil) })
	if err, ok := p.(error); !ok || err.Error() != "writer boom" {
		t.Fatalf("writer panic: recovered %v", p)
	}
	// The connection is still in step.
	names, err := c.Listdir(rdir)
	must(t, err)
	if !slices.Equal(names, []string{"big"}) {
		t.Fatalf("listdir %q", names)
	}
}

type panickingReader struct{ v any }

func (r panickingReader) Read([]byte) (int, error) { panic(r.v) }

type panickingWriter struct{}

func (panickingWriter) Write([]byte) (int, error) { panic(errors.New("writer boom")) }

func TestParallelismIsCheckedAndAnyValidValueCopiesTheSameBytes(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "parallel")
	data := pattern(3<<20+5, 3)
	local := filepath.Join(t.TempDir(), "up")
	must(t, os.WriteFile(local, data, 0o644))
	for _, n := range []int{1, 2, 64} {
		opts := &psftp.TransferOptions{Parallelism: n}
		_, err := c.Put(t.Context(), local, filepath.Join(rdir, "up"), opts)
		must(t, err)
		back := filepath.Join(t.TempDir(), "back")
		must(t, c.Get(t.Context(), filepath.Join(rdir, "up"), back, opts))
		if !bytes.Equal(readFile(t, back), data) {
			t.Fatalf("parallelism %d: bytes differ", n)
		}
	}
	err := c.Get(t.Context(), filepath.Join(rdir, "up"), local, &psftp.TransferOptions{Parallelism: 65})
	wantErr(t, err, psftp.ErrInvalidArg, "connections", "65 is not between 1 and 64")
	_, err = c.Put(t.Context(), local, filepath.Join(rdir, "up"), &psftp.TransferOptions{Parallelism: 1 << 40})
	wantErr(t, err, psftp.ErrInvalidArg, "Parallelism", "out of range")
	if !bytes.Equal(readFile(t, local), data) {
		t.Fatal("a refused get changed the local file")
	}
}

func TestVerifiedGetCatchesAFileAlteredOnTheServerAndRetriesAreOptions(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "verify")
	data := pattern(4<<20, 6)
	src := filepath.Join(rdir, "src")
	putRemote(t, src, data)
	dst := filepath.Join(t.TempDir(), "dst")
	must(t, os.WriteFile(dst, []byte("old"), 0o644))
	altered := false
	opts := &psftp.TransferOptions{Verify: psftp.VerifyAllowExec, Retries: 2, Progress: func(done, total int64) {
		if done == total && !altered {
			altered = true
			f, err := os.OpenFile(src, os.O_WRONLY, 0)
			must(t, err)
			_, err = f.WriteAt([]byte("X"), 7)
			must(t, err)
			must(t, f.Close())
		}
	}}
	if err := c.Get(t.Context(), src, dst, opts); !errors.Is(err, psftp.ErrIntegrity) {
		t.Fatalf("altered during the get: %v", err)
	}
	if string(readFile(t, dst)) != "old" {
		t.Fatal("the destination must keep its old content")
	}
	putRemote(t, src, data)
	must(t, c.Get(t.Context(), src, dst, &psftp.TransferOptions{Verify: psftp.VerifyOn, Retries: 2}))
	if !bytes.Equal(readFile(t, dst), data) || c.LastRetries() != 0 {
		t.Fatalf("verified get: retries %d", c.LastRetries())
	}
	if err := c.Get(t.Context(), src, dst, &psftp.TransferOptions{Retries: -1}); !errors.Is(err, psftp.ErrInvalidArg) {
		t.Fatalf("negative retries: %v", err)
	}
}
