package psftp

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests see the binding's internals: the C handle behind a Conn.

func dialForTest(t *testing.T) *Conn {
	t.Helper()
	port, err := strconv.Atoi(os.Getenv("PSFTP_TEST_PORT"))
	if err != nil {
		t.Fatalf("PSFTP_TEST_PORT: %v", err)
	}
	c, err := Dial(os.Getenv("PSFTP_TEST_HOST"), Config{
		Port:       port,
		User:       os.Getenv("PSFTP_TEST_USER"),
		Password:   os.Getenv("PSFTP_TEST_PASSWORD"),
		KnownHosts: os.Getenv("PSFTP_TEST_KNOWN_HOSTS"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handleAlive asks psftp whether probe's C handle is still open. probe is
// a bare Conn with no cleanup of its own.
func handleAlive(t *testing.T, probe *Conn) bool {
	t.Helper()
	_, err := probe.Pwd()
	if err == nil {
		return true
	}
	if !errors.Is(err, ErrInvalidArg) || !strings.Contains(err.Error(), "not a live psftp_conn") {
		t.Fatalf("unexpected %v", err)
	}
	return false
}

func TestCloseClosesTheHandle(t *testing.T) {
	c := dialForTest(t)
	probe := &Conn{ptr: c.ptr}
	if !handleAlive(t, probe) {
		t.Fatal("a new connection is not alive")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if handleAlive(t, probe) {
		t.Fatal("Close left the handle open")
	}
}

func TestAnUnreachableConnIsClosedByTheCleanup(t *testing.T) {
	probe := &Conn{ptr: dialForTest(t).ptr} // the Conn itself is dropped at once
	for i := 0; handleAlive(t, probe); i++ {
		if i == 500 {
			t.Fatal("the cleanup never closed the dropped Conn")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
	}
}

func TestAPanicInsidePsftpIsErrPanic(t *testing.T) {
	err := debugPanic(nil, "")
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != ErrPanic || !errors.Is(err, ErrPanic) {
		t.Fatalf("%v", err)
	}
	if want := "psftp_debug_panic was called"; !strings.Contains(pe.Message, want) {
		t.Fatalf("message %q lacks %q", pe.Message, want)
	}
}

// A panic inside a call poisons its Conn: every later call fails with
// ErrConnectionLost saying why (not with a reply meant for a request the
// panic abandoned).
func TestAPanicPoisonsTheConn(t *testing.T) {
	c := dialForTest(t)
	defer c.Close()
	dir := t.TempDir()
	big := dir + "/big"
	if err := os.WriteFile(big, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	remote := os.Getenv("PSFTP_TEST_HOME") + "/go-panic-" + strconv.Itoa(os.Getpid())
	if _, err := c.Put(context.Background(), big, remote, nil); err != nil {
		t.Fatal(err)
	}
	if err := debugPanic(c, remote); !errors.Is(err, ErrPanic) {
		t.Fatalf("debugPanic: %v", err)
	}
	_, err := c.Pwd()
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != ErrConnectionLost || !strings.Contains(pe.Message, "panicked") {
		t.Fatalf("the call after the panic: %v", err)
	}
	other := dialForTest(t)
	defer other.Close()
	if err := other.Remove(remote); err != nil {
		t.Fatalf("another Conn is unaffected: %v", err)
	}
}
