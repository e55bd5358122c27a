package psftp_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	psftp "github.com/psftp/psftp/bindings/go"
)

// Issue 18: a context deadline on a call that shares its Conn with another
// goroutine's transfer stops only that call. Before, the second call waited
// for the connection's lock behind the whole transfer, its deadline passed
// while it was only waiting, and after CancelGrace the Conn was
// interrupted, killing the healthy transfer.
func TestADeadlineOnOneCallLeavesAnotherGoroutinesTransferRunning(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "mux-deadline")
	ldir := t.TempDir()
	data := pattern(24<<20+3, 5)
	src := filepath.Join(rdir, "src")
	putRemote(t, src, data)
	started := make(chan struct{})
	secondDone := make(chan struct{})
	var once sync.Once
	// The first transfer holds on in its progress callback (with requests
	// in flight) until the second call has returned: long past the second
	// call's deadline plus the grace period.
	opts := &psftp.TransferOptions{Progress: func(done, _ int64) {
		once.Do(func() {
			close(started)
			select {
			case <-secondDone:
			case <-time.After(30 * time.Second):
			}
		})
	}}
	firstErr := make(chan error, 1)
	go func() {
		firstErr <- c.Get(context.Background(), src, filepath.Join(ldir, "first"), opts)
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := c.Get(ctx, src, filepath.Join(ldir, "second"), &psftp.TransferOptions{
		Progress: func(int64, int64) { time.Sleep(20 * time.Millisecond) },
	})
	took := time.Since(began)
	close(secondDone)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the second Get: %v, want the context's deadline", err)
	}
	if c.Interrupted() {
		t.Fatalf("the second call's deadline interrupted the Conn (it returned after %v)", took)
	}
	must(t, <-firstErr)
	if !bytes.Equal(readFile(t, filepath.Join(ldir, "first")), data) {
		t.Fatal("the first Get's file differs from the source")
	}
	// The Conn goes on.
	if _, err := c.Stat(src); err != nil {
		t.Fatal(err)
	}
}
