package psftp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	psftp "github.com/psftp/psftp/bindings/go"
)

// relay is a TCP relay between the client and the test sshd that stops
// forwarding on demand (both directions; the sockets stay open), so a call
// blocks on the network as on a stalled link — no mocks.
type relay struct {
	port int
	ln   net.Listener

	mu       sync.Mutex
	cond     *sync.Cond
	frozen   bool
	closed   bool
	up       int64         // bytes forwarded from clients to the server
	freezeAt int64         // freeze once up reaches this (0: never)
	held     chan struct{} // closed once a pump holds data while frozen
	conns    []net.Conn
}

func startRelay(t *testing.T) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r := &relay{port: ln.Addr().(*net.TCPAddr).Port, ln: ln, held: make(chan struct{})}
	r.cond = sync.NewCond(&r.mu)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *relay) accept() {
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", net.JoinHostPort(srv.host, strconv.Itoa(srv.port)))
		if err != nil {
			client.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, client, server)
		r.mu.Unlock()
		go r.pump(client, server, true)
		go r.pump(server, client, false)
	}
}

func (r *relay) pump(from, to net.Conn, upstream bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			r.mu.Lock()
			if upstream {
				r.up += int64(n)
				if r.freezeAt > 0 && r.up >= r.freezeAt {
					r.frozen, r.freezeAt = true, 0
				}
			}
			for r.frozen && !r.closed {
				select {
				case <-r.held:
				default:
					close(r.held)
				}
				r.cond.Wait()
			}
			r.mu.Unlock()
			if _, err := to.Write(buf[:n]); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if tc, ok := to.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// freeze stops forwarding now. The channel is closed once the relay holds
// data: a request or reply of the connection cannot arrive.
func (r *relay) freeze() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frozen, r.held = true, make(chan struct{})
	return r.held
}

// freezeAfterUp stops forwarding once the clients have sent n more bytes
// (the link stalls mid-upload).
func (r *relay) freezeAfterUp(n int64) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.freezeAt, r.held = r.up+n, make(chan struct{})
	return r.held
}

func (r *relay) thaw() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frozen = false
	r.cond.Broadcast()
}

func (r *relay) close() {
	r.mu.Lock()
	r.closed, r.frozen = true, false
	r.cond.Broadcast()
	conns := r.conns
	r.mu.Unlock()
	r.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}

// dialRelay connects through the relay (whose port no known_hosts entry
// names, so the host key is accepted by the callback).
func dialRelay(t *testing.T, r *relay, cfg psftp.Config) *psftp.Conn {
	t.Helper()
	cfg.Port = r.port
	cfg.HostKeyCallback = func(string, int, psftp.HostKey, psftp.HostKeyStatus) psftp.HostKeyDecision {
		return psftp.HostKeyAccept
	}
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// hangGuard is how long a call on a stalled link may take before the test
// calls it hung: a guard against hangs, not a measure of promptness.
const hangGuard = 60 * time.Second

// returns runs f on another goroutine and returns its error, failing the
// test if f hangs.
func returns(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("the call did not return within %v", hangGuard)
		return nil
	}
}

// cancelWhenHeld cancels the returned context once held is closed: once
// the call is blocked on the stalled link.
func cancelWhenHeld(t *testing.T, held <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go func() {
		select {
		case <-held:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx
}

// wantInterrupted asserts the error of a call whose context was cancelled
// while it was blocked on the network, and the state of its Conn.
func wantInterrupted(t *testing.T, c *psftp.Conn, err error) {
	t.Helper()
	if !errors.Is(err, context.Canceled) || !errors.Is(err, psftp.ErrInterrupted) {
		t.Fatalf("got %v, want context.Canceled and psftp.ErrInterrupted", err)
	}
	if !c.Interrupted() {
		t.Fatal("Conn.Interrupted() is false")
	}
	_, err = c.Listdir(".")
	if !errors.Is(err, psftp.ErrInterrupted) || !errors.Is(err, psftp.ErrCancelled) {
		t.Fatalf("a later call on the interrupted Conn: %v", err)
	}
	wantErr(t, err, psftp.ErrCancelled, "interrupted")
}

// wantStoppedAlone asserts the error of a call whose context was cancelled
// while it waited for a reply on a stalled link: its own cancel token
// stopped it, and its Conn was not interrupted.
func wantStoppedAlone(t *testing.T, c *psftp.Conn, err error) {
	t.Helper()
	if !errors.Is(err, context.Canceled) || errors.Is(err, psftp.ErrInterrupted) {
		t.Fatalf("got %v, want context.Canceled without psftp.ErrInterrupted", err)
	}
	if c.Interrupted() {
		t.Fatal("Conn.Interrupted() is true: the cancel reached the whole connection")
	}
}

// Issue 18: the context cancels the Get's own token. The Get is the one
// waiting on the frozen link for its reply; it gives that wait up between
// packets, so it ends without interrupting the Conn, which works again
// once the link does. (Before, only interrupting the Conn ended the call.)
func TestCancellingAContextStopsAGetBlockedOnAStalledLinkAndKeepsTheConn(t *testing.T) {
	r := startRelay(t)
	c := dialRelay(t, r, config()) // default CancelGrace; no Timeout
	rdir := remoteScratch(t, "stallget")
	putRemote(t, filepath.Join(rdir, "big"), pattern(1<<20, 20))
	ldir := t.TempDir()
	local := filepath.Join(ldir, "big")
	must(t, os.WriteFile(local, []byte("old local"), 0o644))
	progressed := false
	opts := &psftp.TransferOptions{Progress: func(int64, int64) { progressed = true }}

	ctx := cancelWhenHeld(t, r.freeze())
	err := returns(t, func() error { return c.Get(ctx, filepath.Join(rdir, "big"), local, opts) })
	wantStoppedAlone(t, c, err)
	if progressed {
		t.Fatal("the Get made progress through a frozen link")
	}
	if string(readFile(t, local)) != "old local" {
		t.Fatal("the cancelled Get replaced the local file")
	}
	if entries, _ := os.ReadDir(ldir); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	r.thaw()
	must(t, c.Get(t.Context(), filepath.Join(rdir, "big"), local, nil))
	if !bytes.Equal(readFile(t, local), pattern(1<<20, 20)) {
		t.Fatal("the Get after the thaw is not byte-exact")
	}
	must(t, c.Close())
}

// A Conn whose link froze after a cancelled call still closes: the goodbye
// waits a few seconds for the server, then the connection is cut.
func TestClosingAConnOverAFrozenLinkReturns(t *testing.T) {
	r := startRelay(t)
	c := dialRelay(t, r, config())
	rdir := remoteScratch(t, "frozenclose")
	putRemote(t, filepath.Join(rdir, "f"), []byte("data"))
	ctx := cancelWhenHeld(t, r.freeze())
	err := returns(t, func() error { return c.Get(ctx, filepath.Join(rdir, "f"), filepath.Join(t.TempDir(), "f"), nil) })
	wantStoppedAlone(t, c, err)
	must(t, returns(t, c.Close))
}

// The upload stalls midway. Waiting for the server to open its window, it
// sees its own token and stops alone: the Conn works once the link does.
// If instead its writer was half way through a packet into the full
// socket (the kernel's buffers decide which), it cannot, and CancelGrace
// later the Conn is interrupted. Either way the call returns and the
// remote file keeps its old content.
func TestCancellingAContextStopsAnUploadStalledMidway(t *testing.T) {
	r := startRelay(t)
	cfg := config()
	cfg.CancelGrace = 200 * time.Millisecond
	c := dialRelay(t, r, cfg)
	rdir := remoteScratch(t, "stallput")
	remote := filepath.Join(rdir, "target")
	putRemote(t, remote, []byte("remote original"))
	local := filepath.Join(t.TempDir(), "big")
	must(t, os.WriteFile(local, pattern(12<<20, 21), 0o644))

	// The link stalls after 1 MiB of the 12: the upload can neither finish
	// nor make progress.
	ctx := cancelWhenHeld(t, r.freezeAfterUp(1<<20))
	err := returns(t, func() error {
		_, err := c.Put(ctx, local, remote, nil)
		return err
	})
	interrupted := c.Interrupted()
	if interrupted {
		wantInterrupted(t, c, err)
	} else {
		wantStoppedAlone(t, c, err)
	}
	r.thaw()
	if string(readFile(t, remote)) != "remote original" {
		t.Fatal("the cancelled Put replaced the remote file")
	}
	if interrupted {
		return
	}
	if entries, err := c.Listdir(rdir); err != nil || len(entries) != 1 {
		t.Fatalf("Listdir after the thaw: %v %v (want only target: no part file)", entries, err)
	}
}

func TestCancellingAContextStopsATreeOperationStalledMidway(t *testing.T) {
	r := startRelay(t)
	cfg := config()
	cfg.CancelGrace = 200 * time.Millisecond
	c := dialRelay(t, r, cfg)
	local := t.TempDir()
	for i := range 2 {
		must(t, os.WriteFile(filepath.Join(local, fmt.Sprintf("large%d", i)), pattern(12<<20, byte(30+i)), 0o644))
	}
	remote := remoteScratch(t, "stalltree")

	// One connection: its upload waits for the server's window on the
	// stalled link, and the call's token stops it; the Conn goes on.
	// (Several connections: see TestInterruptAfterASoftCancelReachesSiblings.)
	ctx := cancelWhenHeld(t, r.freezeAfterUp(1<<20))
	err := returns(t, func() error {
		_, err := c.PutR(ctx, local, remote, &psftp.TreeOptions{Parallelism: 1})
		return err
	})
	if c.Interrupted() {
		// The writer was half way through a packet into the full socket,
		// where only the interrupt after CancelGrace ends it (the kernel's
		// buffers decide, as in TestCancellingAContextStopsAnUploadStalledMidway).
		wantInterrupted(t, c, err)
	} else {
		wantStoppedAlone(t, c, err)
	}
	r.thaw()
	for i := range 2 {
		if _, err := os.Stat(filepath.Join(remote, fmt.Sprintf("large%d", i))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("large%d arrived through a stalled link", i)
		}
	}

	// A tree operation blocked in its listing, before any progress call
	// (the extra connections are made after the listing): waiting for a
	// reply, it gives up by its own token and the Conn goes on.
	c2 := dialRelay(t, r, cfg)
	ctx = cancelWhenHeld(t, r.freeze())
	err = returns(t, func() error {
		_, err := c2.GetR(ctx, remote, t.TempDir(), &psftp.TreeOptions{Parallelism: 2})
		return err
	})
	wantStoppedAlone(t, c2, err)
	r.thaw()
	if _, err := c2.Listdir(remote); err != nil {
		t.Fatalf("Listdir after the thaw: %v", err)
	}
}

func TestInterruptAbortsACallOnAnotherGoroutine(t *testing.T) {
	r := startRelay(t)
	c := dialRelay(t, r, config())
	f, err := c.Open("/etc/hostname", "r", 0)
	must(t, err)
	defer f.Close()
	held := r.freeze()
	go func() {
		<-held
		c.Interrupt()
	}()
	err = returns(t, func() error {
		_, err := c.Listdir("/")
		return err
	})
	if !errors.Is(err, psftp.ErrInterrupted) || !c.Interrupted() {
		t.Fatalf("Listdir returned %v", err)
	}
	wantErr(t, err, psftp.ErrCancelled, "interrupted")
	if _, err := f.Read(make([]byte, 10)); !errors.Is(err, psftp.ErrInterrupted) {
		t.Fatalf("a File of the interrupted Conn: %v", err)
	}
	c.Interrupt() // again: nothing happens
	must(t, c.Close())
	c.Interrupt() // after Close: ignored
	var nilConn *psftp.Conn
	nilConn.Interrupt()
	if nilConn.Interrupted() {
		t.Fatal("a nil Conn is interrupted")
	}
}

// The scene of TestInterruptAfterASoftCancelReachesSiblings, where the
// extra connection's last round trip waits on the frozen link, with a
// negative CancelGrace: only the operation timeout ends that wait, and the
// Conn is not interrupted.
func TestNegativeCancelGraceNeverInterrupts(t *testing.T) {
	r := startRelay(t)
	cfg := config()
	cfg.CancelGrace, cfg.Timeout = -1, time.Second
	c := dialRelay(t, r, cfg)
	local := t.TempDir()
	for i := range 2 {
		must(t, os.WriteFile(filepath.Join(local, fmt.Sprintf("large%d", i)), pattern(64<<20, byte(50+i)), 0o644))
	}
	ctx := cancelWhenHeld(t, r.freezeAfterUp(40<<20))
	err := returns(t, func() error {
		_, err := c.PutR(ctx, local, remoteScratch(t, "nograce"), &psftp.TreeOptions{Parallelism: 2})
		return err
	})
	wantStoppedAlone(t, c, err)
}

// When the tree progress callback has already asked to stop (the binding
// does so as soon as ctx is done), psftp_interrupt must still cut the
// extra connections of the tree operation, or one blocked on the stalled
// link keeps the call from returning (fixed in psftp after 0.1.0's first
// draft; this test kept it fixed).
func TestInterruptAfterASoftCancelReachesSiblings(t *testing.T) {
	r := startRelay(t)
	cfg := config()
	cfg.CancelGrace = 200 * time.Millisecond
	c := dialRelay(t, r, cfg)
	local := t.TempDir()
	for i := range 2 {
		must(t, os.WriteFile(filepath.Join(local, fmt.Sprintf("large%d", i)), pattern(64<<20, byte(40+i)), 0o644))
	}
	// Both connections are uploading when the link stalls.
	ctx := cancelWhenHeld(t, r.freezeAfterUp(40<<20))
	err := returns(t, func() error {
		_, err := c.PutR(ctx, local, remoteScratch(t, "siblings"), &psftp.TreeOptions{Parallelism: 2})
		return err
	})
	wantInterrupted(t, c, err)
}
