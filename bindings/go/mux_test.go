package psftp_test

import (
	"bytes"
	"context"
	"errors"
	"os"
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

// Issue 18: cancelling one goroutine's context stops that goroutine's Get
// alone (its own cancel token): another goroutine's Get on the same Conn,
// running meanwhile, ends byte-exact, nothing of the cancelled Get is left,
// and the Conn goes on.
func TestCancellingOneGoroutinesGetLeavesAnothersRunning(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "mux-cancel")
	ldir := t.TempDir()
	data := pattern(24<<20+7, 6)
	src := filepath.Join(rdir, "src")
	putRemote(t, src, data)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	paused := make(chan struct{})
	var once sync.Once
	// The first Get waits in its progress callback, requests in flight,
	// until its context is cancelled.
	first := &psftp.TransferOptions{Progress: func(int64, int64) {
		once.Do(func() { close(paused); <-ctx.Done() })
	}}
	firstErr := make(chan error, 1)
	go func() { firstErr <- c.Get(ctx, src, filepath.Join(ldir, "first"), first) }()
	<-paused
	secondErr := make(chan error, 1)
	go func() { secondErr <- c.Get(context.Background(), src, filepath.Join(ldir, "second"), nil) }()
	must(t, <-secondErr)
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled Get: %v, want context.Canceled", err)
	}
	if c.Interrupted() {
		t.Fatal("cancelling one Get interrupted the Conn")
	}
	if !bytes.Equal(readFile(t, filepath.Join(ldir, "second")), data) {
		t.Fatal("the other goroutine's Get differs from the source")
	}
	if entries, _ := os.ReadDir(ldir); len(entries) != 1 {
		t.Fatalf("left behind by the cancelled Get: %v", entries)
	}
	if _, err := c.Stat(src); err != nil {
		t.Fatal(err)
	}
}
