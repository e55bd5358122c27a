package psftp_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	psftp "github.com/psftp/psftp/bindings/go"
)

// The test server: a real OpenSSH sshd started by tests/fixture/sshd.sh,
// described by the PSFTP_TEST_* variables it prints. It is local, so tests
// check remote files directly on disk.
var srv struct {
	host, user, password, passphrase string
	port                             int
	home, dir, knownHosts, key       string
	uid, gid                         int
}

func TestMain(m *testing.M) {
	if err := loadServer(); err != nil {
		fmt.Fprintf(os.Stderr, "psftp Go tests need the test sshd: %v\n"+
			"(start it with tests/fixture/sshd.sh and export its PSFTP_TEST_* variables; bindings/go/test.sh does)\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func loadServer() error {
	get := func(k string) string { return os.Getenv("PSFTP_TEST_" + k) }
	for _, k := range []string{"HOST", "PORT", "USER", "PASSWORD", "PASSPHRASE", "HOME", "DIR", "KNOWN_HOSTS", "KEY"} {
		if get(k) == "" {
			return fmt.Errorf("PSFTP_TEST_%s is not set", k)
		}
	}
	srv.host, srv.user, srv.password, srv.passphrase = get("HOST"), get("USER"), get("PASSWORD"), get("PASSPHRASE")
	srv.home, srv.dir, srv.knownHosts, srv.key = get("HOME"), get("DIR"), get("KNOWN_HOSTS"), get("KEY")
	port, err := strconv.Atoi(get("PORT"))
	if err != nil {
		return fmt.Errorf("PSFTP_TEST_PORT: %v", err)
	}
	srv.port = port
	st, err := os.Stat(srv.home)
	if err != nil {
		return err
	}
	sys := st.Sys().(*syscall.Stat_t)
	srv.uid, srv.gid = int(sys.Uid), int(sys.Gid)
	return nil
}

// fixtureFile is a file the fixture made (keys, known_hosts variants).
func fixtureFile(name string) string { return filepath.Join(srv.dir, name) }

// config logs in with the password and trusts the fixture's known_hosts.
func config() psftp.Config {
	return psftp.Config{
		Port:       srv.port,
		User:       srv.user,
		Password:   srv.password,
		KnownHosts: srv.knownHosts,
	}
}

// dial connects with config(), closing the Conn when the test ends.
func dial(t testing.TB) *psftp.Conn {
	t.Helper()
	c, err := psftp.Dial(srv.host, config())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var scratchSeq atomic.Int64

// remoteScratch is a fresh directory in the test user's home, owned by the
// test user, removed when the test ends. Its path is the same for the
// server and for the test, as the server is local.
func remoteScratch(t testing.TB, tag string) string {
	t.Helper()
	dir := filepath.Join(srv.home, fmt.Sprintf("go-%s-%d-%d", tag, os.Getpid(), scratchSeq.Add(1)))
	must(t, os.RemoveAll(dir))
	must(t, os.Mkdir(dir, 0o755))
	chownToTestUser(t, dir)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func chownToTestUser(t testing.TB, p string) {
	t.Helper()
	must(t, os.Lchown(p, srv.uid, srv.gid))
}

// putRemote writes a file as if the test user owned it.
func putRemote(t testing.TB, p string, data []byte) {
	t.Helper()
	must(t, os.WriteFile(p, data, 0o644))
	chownToTestUser(t, p)
}

// mkdirRemote makes a directory owned by the test user.
func mkdirRemote(t testing.TB, p string) {
	t.Helper()
	must(t, os.MkdirAll(p, 0o755))
	chownToTestUser(t, p)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return b
}

// pattern is deterministic test data.
func pattern(n int, seed byte) []byte {
	x := uint32(0x9e3779b9) ^ uint32(seed)
	b := make([]byte, n)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// wantErr asserts err is a psftp error with code (through errors.Is) whose
// message contains every part; it returns the message.
func wantErr(t testing.TB, err error, code psftp.ErrorCode, parts ...string) string {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %v, got success", code)
	}
	if !errors.Is(err, code) {
		t.Fatalf("expected %v, got %v", code, err)
	}
	var pe *psftp.Error
	if !errors.As(err, &pe) {
		t.Fatalf("%v is not a *psftp.Error", err)
	}
	if pe.Code != code {
		t.Fatalf("Code %v, want %v", pe.Code, code)
	}
	// The os-like calls wrap it in a *fs.PathError or *os.LinkError,
	// whose text ends with the psftp error's.
	if !strings.HasSuffix(err.Error(), "psftp: "+pe.Message) {
		t.Fatalf("Error() %q does not carry the message %q", err.Error(), pe.Message)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Message, p) {
			t.Fatalf("message %q lacks %q", pe.Message, p)
		}
	}
	return pe.Message
}

// recovered runs f and returns what it panicked with (nil if it did not).
func recovered(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

func mode(t testing.TB, p string) os.FileMode {
	t.Helper()
	st, err := os.Lstat(p)
	must(t, err)
	return st.Mode()
}

func mtime(t testing.TB, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	must(t, err)
	return st.ModTime().Unix()
}

func ino(t testing.TB, p string) uint64 {
	t.Helper()
	st, err := os.Stat(p)
	must(t, err)
	return st.Sys().(*syscall.Stat_t).Ino
}
