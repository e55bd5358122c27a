package psftp_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	psftp "github.com/psftp/psftp/bindings/go"
)

// Eight goroutines, each with its own Conn, upload and download at once.
func TestEightConnsTransferAtOnce(t *testing.T) {
	rdir := remoteScratch(t, "parallel")
	ldir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- roundTrip(t, i, rdir, ldir)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// roundTrip puts a file of its own, gets it back under another name and
// compares, with progress and a context, on its own Conn.
func roundTrip(t *testing.T, i int, rdir, ldir string) error {
	c, err := psftp.Dial(srv.host, config())
	if err != nil {
		return err
	}
	defer c.Close()
	data := pattern(2<<20+i, byte(i))
	up := filepath.Join(ldir, fmt.Sprintf("up%d", i))
	if err := os.WriteFile(up, data, 0o644); err != nil {
		return err
	}
	remote := filepath.Join(rdir, fmt.Sprintf("f%d", i))
	var last int64
	opts := &psftp.TransferOptions{Progress: func(done, _ int64) { last = done }}
	if _, err := c.Put(t.Context(), up, remote, opts); err != nil {
		return err
	}
	down := filepath.Join(ldir, fmt.Sprintf("down%d", i))
	if err := c.Get(t.Context(), remote, down, opts); err != nil {
		return err
	}
	got, err := os.ReadFile(down)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) || last != int64(len(data)) {
		return fmt.Errorf("goroutine %d: %d bytes back, progress ended at %d", i, len(got), last)
	}
	return nil
}

// Goroutines sharing one Conn each get the message of their own failure:
// the binding reads psftp's thread-local error on the call's own thread.
func TestSharedConnGivesEachGoroutineItsOwnError(t *testing.T) {
	c := dial(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 40 {
				missing := fmt.Sprintf("/no/such/g%d-%d", i, j)
				_, err := c.Stat(missing)
				var pe *psftp.Error
				if !errors.As(err, &pe) || pe.Code != psftp.ErrNotFound || !strings.Contains(pe.Message, missing+"'") {
					errs <- fmt.Errorf("stat %s: %v", missing, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
