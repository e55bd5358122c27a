package psftp_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	psftp "github.com/psftp/psftp/bindings/go"
)

// pubFingerprint is the SHA256 fingerprint ssh-keygen gives a public key.
func pubFingerprint(t *testing.T, pub string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", pub).Output()
	must(t, err)
	return strings.Fields(string(out))[1]
}

func TestDialWithPasswordChecksAndReportsTheHostKey(t *testing.T) {
	c := dial(t)
	key, err := c.RemoteServerKey()
	must(t, err)
	pub := fixtureFile("ssh_host_ed25519_key.pub")
	if key.Type != "ssh-ed25519" || key.Fingerprint != pubFingerprint(t, pub) {
		t.Fatalf("server key %+v", key)
	}
	if !strings.Contains(string(readFile(t, pub)), key.Base64) {
		t.Fatalf("base64 %q not in %s", key.Base64, pub)
	}
	pwd, err := c.Pwd()
	must(t, err)
	if pwd != srv.home {
		t.Fatalf("pwd %q, want %q", pwd, srv.home)
	}
}

func TestEveryKeyFormatAuthenticates(t *testing.T) {
	for _, k := range []struct{ file, pass string }{
		{"id_ed25519", ""}, {"id_ecdsa_pem", ""}, {"id_rsa_pem", ""},
		{"id_ed25519_enc", srv.passphrase}, {"id_rsa_enc_pem", srv.passphrase},
	} {
		cfg := config()
		cfg.Password, cfg.KeyFile, cfg.Passphrase = "", fixtureFile(k.file), k.pass
		c, err := psftp.Dial(srv.host, cfg)
		if err != nil {
			t.Fatalf("%s: %v", k.file, err)
		}
		if _, err := c.Listdir("."); err != nil {
			t.Fatalf("%s: session does not work: %v", k.file, err)
		}
		must(t, c.Close())
	}
}

// Config.KeyData: every key format the fixture makes, from memory.
func TestEveryKeyFormatAuthenticatesFromMemory(t *testing.T) {
	for _, k := range []struct{ file, pass string }{
		{"id_ed25519", ""}, {"id_ecdsa_pem", ""}, {"id_rsa_pem", ""},
		{"id_ed25519_enc", srv.passphrase}, {"id_rsa_enc_pem", srv.passphrase},
	} {
		cfg := config()
		cfg.Password, cfg.KeyData, cfg.Passphrase = "", readFile(t, fixtureFile(k.file)), k.pass
		c, err := psftp.Dial(srv.host, cfg)
		if err != nil {
			t.Fatalf("%s: %v", k.file, err)
		}
		if _, err := c.Listdir("."); err != nil {
			t.Fatalf("%s: session does not work: %v", k.file, err)
		}
		must(t, c.Close())
	}
	cfg := config()
	cfg.Password, cfg.KeyData, cfg.Passphrase = "", readFile(t, fixtureFile("id_ed25519_enc")), "wrong"
	err := dial2(cfg)
	wantErr(t, err, psftp.ErrAuth, "private_key_data", "wrong passphrase")
	cfg.KeyFile = fixtureFile("id_ed25519")
	wantErr(t, dial2(cfg), psftp.ErrInvalidArg, "KeyData", "use one")
}

func TestAuthenticationFailuresAreErrAuth(t *testing.T) {
	cfg := config()
	cfg.Password = "wrong"
	wantErr(t, dial2(cfg), psftp.ErrAuth, srv.user, "127.0.0.1", strconv.Itoa(srv.port), "wrong password")

	cfg = config()
	cfg.Password, cfg.KeyFile = "", fixtureFile("id_ed25519_enc")
	wantErr(t, dial2(cfg), psftp.ErrAuth, "id_ed25519_enc", "encrypted")
	cfg.Passphrase = "not the passphrase"
	wantErr(t, dial2(cfg), psftp.ErrAuth, "wrong passphrase")

	cfg.KeyFile, cfg.Passphrase = fixtureFile("id_unauthorized"), ""
	wantErr(t, dial2(cfg), psftp.ErrAuth, "refused", "id_unauthorized")

	// A path naming no file is not repeated: it may be a password.
	cfg.KeyFile = fixtureFile("no_such_key")
	err := dial2(cfg)
	wantErr(t, err, psftp.ErrLocalIO, "private_key", "No such file", "not shown")
	if strings.Contains(err.Error(), "no_such_key") {
		t.Fatalf("the value is repeated: %v", err)
	}
	// A password given as the key file: nowhere in the error.
	cfg.KeyFile = srv.password
	if err := dial2(cfg); err == nil || strings.Contains(err.Error(), srv.password) {
		t.Fatalf("the password shows: %v", err)
	}
}

// dial2 dials and closes, returning only the error.
func dial2(cfg psftp.Config) error {
	c, err := psftp.Dial(srv.host, cfg)
	if err == nil {
		c.Close()
	}
	return err
}

func TestHostKeyCheckingErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "known_hosts")
	must(t, os.WriteFile(empty, nil, 0o644))
	cfg := config()
	cfg.KnownHosts = empty
	name := fmt.Sprintf("[127.0.0.1]:%d", srv.port)
	fp := pubFingerprint(t, fixtureFile("ssh_host_ed25519_key.pub"))
	wantErr(t, dial2(cfg), psftp.ErrHostKeyUnknown, name, "ssh-ed25519", fp, empty)

	cfg.KnownHosts = fixtureFile("known_hosts_changed")
	wantErr(t, dial2(cfg), psftp.ErrHostKeyMismatch, "MISMATCH", "ssh-ed25519")

	cfg.KnownHosts = fixtureFile("known_hosts_port22_only")
	wantErr(t, dial2(cfg), psftp.ErrHostKeyUnknown, "[127.0.0.1]:")
}

func TestHostKeyOptions(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "known_hosts")
	must(t, os.WriteFile(empty, []byte("# nothing\n"), 0o644))

	cfg := config()
	cfg.KnownHosts, cfg.InsecureIgnoreHostKey = empty, true
	must(t, dial2(cfg))

	cfg = config()
	cfg.KnownHosts, cfg.ExtraKnownHosts = empty, []string{fixtureFile("known_hosts_hashed")}
	must(t, dial2(cfg))
	cfg.ExtraKnownHosts = []string{"/nonexistent/known_hosts"}
	wantErr(t, dial2(cfg), psftp.ErrLocalIO, "/nonexistent/known_hosts")

	cfg = config()
	cfg.KnownHosts = fixtureFile("known_hosts_ecdsa_only")
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer c.Close()
	key, err := c.RemoteServerKey()
	must(t, err)
	if key.Type != "ecdsa-sha2-nistp256" {
		t.Fatalf("negotiated %s, want the known ECDSA key", key.Type)
	}
}

func TestAcceptNewHostKeysRecordsTheKeyOnce(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	cfg := config()
	cfg.KnownHosts, cfg.AcceptNewHostKeys = kh, true
	must(t, dial2(cfg))
	must(t, dial2(cfg))
	lines := strings.Split(strings.TrimSpace(string(readFile(t, kh))), "\n")
	prefix := fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", srv.port)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
		t.Fatalf("known_hosts %q", lines)
	}
	cfg.AcceptNewHostKeys = false
	must(t, dial2(cfg)) // now known
	cfg.KnownHosts, cfg.AcceptNewHostKeys = fixtureFile("known_hosts_changed"), true
	wantErr(t, dial2(cfg), psftp.ErrHostKeyMismatch)
}

func TestGetHostkeyReadsKnownHosts(t *testing.T) {
	want := pubFingerprint(t, fixtureFile("ssh_host_ed25519_key.pub"))
	name := fmt.Sprintf("[127.0.0.1]:%d", srv.port)
	for _, f := range []string{"known_hosts", "known_hosts_hashed"} {
		key, err := psftp.Config{KnownHosts: fixtureFile(f)}.GetHostkey(name)
		must(t, err)
		if key.Fingerprint != want || key.Type != "ssh-ed25519" {
			t.Fatalf("%s: %+v", f, key)
		}
	}
	_, err := config().GetHostkey("unknown.example")
	wantErr(t, err, psftp.ErrHostKeyUnknown, "unknown.example")
}

func TestConnectFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	must(t, l.Close())
	cfg := config()
	cfg.Port = port
	wantErr(t, dial2(cfg), psftp.ErrConnect, "127.0.0.1", strconv.Itoa(port), "refused")

	cfg.Port = 70000
	wantErr(t, dial2(cfg), psftp.ErrInvalidArg, "port", "70000")
	cfg.Port = 1 << 40
	wantErr(t, dial2(cfg), psftp.ErrInvalidArg, "Port", "out of range")
	wantErr(t, dial2Host("127.0.0.1\x00evil", config()), psftp.ErrInvalidArg, "host", "NUL")
}

func dial2Host(host string, cfg psftp.Config) error {
	c, err := psftp.Dial(host, cfg)
	if err == nil {
		c.Close()
	}
	return err
}

// A server that accepts and then says nothing: the handshake must give up
// after ConnectTimeout.
func TestConnectTimeoutBoundsTheHandshake(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			held <- c
		}
	}()
	cfg := config()
	cfg.Port, cfg.ConnectTimeout = l.Addr().(*net.TCPAddr).Port, time.Second
	wantErr(t, dial2(cfg), psftp.ErrTimeout, "handshake")
	(<-held).Close()

	cfg = config()
	cfg.ConnectTimeout = -1 // no limit
	must(t, dial2(cfg))
}

func TestNotAnSSHServerIsErrSSH(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	cfg := config()
	cfg.Port = l.Addr().(*net.TCPAddr).Port
	wantErr(t, dial2(cfg), psftp.ErrSSH, "handshake")
}

func TestCiphersAndCompression(t *testing.T) {
	cfg := config()
	cfg.Ciphers = []string{"aes128-ctr"}
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer c.Close()
	l, r, err := c.ActiveCiphers()
	must(t, err)
	if l != "aes128-ctr" || r != "aes128-ctr" {
		t.Fatalf("ciphers %q %q", l, r)
	}
	l, r, err = c.ActiveCompression()
	must(t, err)
	if l != "none" || r != "none" {
		t.Fatalf("compression %q %q", l, r)
	}
	cfg.Ciphers = []string{"aes128-ctr", "rot13"}
	wantErr(t, dial2(cfg), psftp.ErrInvalidArg, "ciphers", "rot13")

	cfg = config()
	cfg.Compression = true
	z, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer z.Close()
	l, r, err = z.ActiveCompression()
	must(t, err)
	if !strings.HasPrefix(l, "zlib") || !strings.HasPrefix(r, "zlib") {
		t.Fatalf("compression %q %q", l, r)
	}
	if _, err := z.Listdir("."); err != nil {
		t.Fatal(err)
	}
}

func TestSecurityOptionsListWhatLibssh2Supports(t *testing.T) {
	o, err := dial(t).SecurityOptions()
	must(t, err)
	hasPrefix := func(list []string, p string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return strings.HasPrefix(s, p) })
	}
	if !slices.Contains(o.Ciphers, "aes256-ctr") || !hasPrefix(o.Digests, "hmac-sha2-256") ||
		!slices.Contains(o.KeyTypes, "ssh-ed25519") || !hasPrefix(o.Kex, "curve25519-sha256") ||
		!slices.Contains(o.Compression, "none") {
		t.Fatalf("%+v", o)
	}
}

func TestLogGoesToTheNamedOrATemporaryFile(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "ssh.log")
	cfg := config()
	cfg.LogFile = logPath
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer c.Close()
	got, err := c.Logfile()
	must(t, err)
	if got != logPath || !strings.Contains(string(readFile(t, logPath)), "authenticated as "+srv.user) {
		t.Fatalf("logfile %q: %q", got, readFile(t, logPath))
	}

	cfg = config()
	cfg.Log = true
	tmp, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer tmp.Close()
	temp, err := tmp.Logfile()
	must(t, err)
	defer os.Remove(temp)
	if temp == "" || !strings.Contains(string(readFile(t, temp)), "SSH handshake") {
		t.Fatalf("temporary log %q", temp)
	}

	none, err := dial(t).Logfile()
	if err != nil || none != "" {
		t.Fatalf("no log by default: %q %v", none, err)
	}
}

func TestTimeoutsAndKeepalive(t *testing.T) {
	cfg := config()
	cfg.Timeout, cfg.Keepalive = 2500*time.Millisecond, 10*time.Second
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer c.Close()
	got, err := c.Timeout()
	must(t, err)
	if got != 2500*time.Millisecond {
		t.Fatalf("timeout %v", got)
	}
	must(t, c.SetTimeout(0))
	if got, _ := c.Timeout(); got != 0 {
		t.Fatalf("timeout %v after SetTimeout(0)", got)
	}
	wantErr(t, c.SetTimeout(-time.Second), psftp.ErrInvalidArg, "seconds")
	if _, err := c.Listdir("."); err != nil {
		t.Fatal(err)
	}

	cfg.Timeout, cfg.Keepalive = -time.Second, 0
	wantErr(t, dial2(cfg), psftp.ErrInvalidArg, "seconds")
	cfg.Timeout, cfg.Keepalive = 0, -time.Second
	wantErr(t, dial2(cfg), psftp.ErrInvalidArg, "seconds", "negative")
}

func TestDefaultPathSetsTheWorkingDirectory(t *testing.T) {
	dir := remoteScratch(t, "defpath")
	cfg := config()
	cfg.DefaultPath = dir
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer c.Close()
	cwd, err := c.Getcwd()
	must(t, err)
	if cwd != dir {
		t.Fatalf("getcwd %q, want %q", cwd, dir)
	}
	cfg.DefaultPath = "/no/such/dir"
	wantErr(t, dial2(cfg), psftp.ErrNotFound, "/no/such/dir")
}

func TestExecuteReturnsLinesAndExitStatus(t *testing.T) {
	c := dial(t)
	lines, status, err := c.Execute("echo one; echo two; echo oops >&2; exit 3")
	must(t, err)
	if !slices.Equal(lines, []string{"one\n", "two\n", "oops\n"}) || status != 3 {
		t.Fatalf("lines %q status %d", lines, status)
	}
	if _, err := c.Listdir("."); err != nil {
		t.Fatal(err)
	}
}

func TestSftpClientAndExtensions(t *testing.T) {
	c := dial(t)
	session, sftp, err := c.SftpClient()
	must(t, err)
	if session == nil || sftp == nil {
		t.Fatalf("session %p sftp %p", session, sftp)
	}
	has, err := c.HasExtension("posix-rename@openssh.com")
	must(t, err)
	hasNot, err := c.HasExtension("no-such@example.com")
	must(t, err)
	if !has || hasNot {
		t.Fatalf("posix-rename %v, no-such %v", has, hasNot)
	}
}

// While WithSftpClient's function runs, the Conn is held: another
// goroutine's call waits until it returns.
func TestWithSftpClientHoldsTheConn(t *testing.T) {
	c := dial(t)
	done := make(chan error, 1)
	err := c.WithSftpClient(func(session, sftp unsafe.Pointer) error {
		if session == nil || sftp == nil {
			return fmt.Errorf("session %p sftp %p", session, sftp)
		}
		go func() {
			_, err := c.Pwd()
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-done:
			return fmt.Errorf("Pwd ran while the Conn was held: %v", err)
		default:
		}
		return errors.New("f's own error")
	})
	if err == nil || err.Error() != "f's own error" {
		t.Fatalf("WithSftpClient returned %v", err)
	}
	must(t, <-done)
}

// ssh-agent on a private socket, holding the fixture's Ed25519 key.
func startAgent(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	must(t, agent.Start())
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 300 {
			t.Fatal("ssh-agent did not create its socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	add := exec.Command("ssh-add", srv.key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	return sock
}

func TestAgentAuthentication(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", startAgent(t)) // with cgo, also libssh2's environment
	cfg := config()
	cfg.Password, cfg.Agent = "", true
	must(t, dial2(cfg))
	cfg.Agent, cfg.AgentKey = false, "psftp-test-ed25519" // the key's comment
	must(t, dial2(cfg))
	cfg.AgentKey = "no-such-key"
	wantErr(t, dial2(cfg), psftp.ErrAuth, "ssh-agent", "no-such-key")
	cfg.KeyFile = srv.key
	wantErr(t, dial2(cfg), psftp.ErrInvalidArg, "KeyFile", "Agent")
}

func TestClosedConnReturnsErrorsNotCrashes(t *testing.T) {
	c, err := psftp.Dial(srv.host, config())
	must(t, err)
	must(t, c.Close())
	must(t, c.Close()) // idempotent
	_, err = c.Listdir(".")
	wantErr(t, err, psftp.ErrInvalidArg, "conn", "not a live psftp_conn")
	_, err = c.Stat("/")
	wantErr(t, err, psftp.ErrInvalidArg, "not a live psftp_conn")
	err = c.Get(t.Context(), "/etc/hostname", filepath.Join(t.TempDir(), "x"), nil)
	wantErr(t, err, psftp.ErrInvalidArg, "not a live psftp_conn")
	_, err = c.Open("/etc/hostname", "r", -1)
	wantErr(t, err, psftp.ErrInvalidArg, "not a live psftp_conn")
	err = c.Walk("/tmp", func(string, os.FileInfo) error { return nil })
	wantErr(t, err, psftp.ErrInvalidArg, "not a live psftp_conn")

	var nilConn *psftp.Conn
	_, err = nilConn.Pwd()
	wantErr(t, err, psftp.ErrInvalidArg, "conn", "NULL")
	must(t, nilConn.Close())
}

func TestErrorsMatchSentinelsAndFsErrors(t *testing.T) {
	c := dial(t)
	_, err := c.Stat("/no/such/file")
	wantErr(t, err, psftp.ErrNotFound, "/no/such/file", "No such file")
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) || errors.Is(err, psftp.ErrAuth) {
		t.Fatalf("fs mapping of %v", err)
	}
	err = c.Mkdir("/root/x", 0o755)
	wantErr(t, err, psftp.ErrPermission, "/root/x")
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("%v is not fs.ErrPermission", err)
	}
	err = c.Mkdir("/tmp", 0o755)
	wantErr(t, err, psftp.ErrExists, "/tmp")
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("%v is not fs.ErrExist", err)
	}
	wrapped := fmt.Errorf("context: %w", err)
	if !errors.Is(wrapped, psftp.ErrExists) {
		t.Fatal("errors.Is sees through wrapping")
	}
}

// Every code psftp's one table defines (walked down from -1 until
// psftp_error_name says EUNKNOWN) has exactly one Go sentinel, named by
// psftp.
func TestErrorCodesAreNamedByPsftp(t *testing.T) {
	var known []psftp.ErrorCode
	for code := psftp.ErrorCode(-1); code.Name() != "EUNKNOWN"; code-- {
		known = append(known, code)
	}
	if len(known) < 20 {
		t.Fatalf("only %d codes: %v", len(known), known)
	}
	sentinels := psftp.ErrorCodes()
	if len(sentinels) != len(known) {
		t.Fatalf("%d Go sentinels for %d psftp codes", len(sentinels), len(known))
	}
	seen := map[psftp.ErrorCode]bool{}
	for i, code := range sentinels {
		if seen[code] || code != known[i] {
			t.Fatalf("sentinel %d is %d, psftp's table has %d", i, int(code), int(known[i]))
		}
		seen[code] = true
		if !strings.HasPrefix(code.Error(), "PSFTP_E_") || !strings.HasPrefix(code.Name(), "E") {
			t.Fatalf("%d: %q %q", int(code), code.Error(), code.Name())
		}
	}
	if psftp.ErrNotFound.Error() != "PSFTP_E_NOT_FOUND" || psftp.ErrNotFound.Name() != "ENOTFOUND" ||
		psftp.ErrDirNotEmpty.Name() != "ENOTEMPTY" {
		t.Fatalf("names: %s %s %s", psftp.ErrNotFound.Error(), psftp.ErrNotFound.Name(), psftp.ErrDirNotEmpty.Name())
	}
	if psftp.ErrorCode(-999).Error() != "PSFTP_E_UNKNOWN" || psftp.ErrorCode(-999).Name() != "EUNKNOWN" {
		t.Fatal("unknown code")
	}
	if v := psftp.Version(); !regexpVersion(v) {
		t.Fatalf("version %q", v)
	}
}

func regexpVersion(v string) bool {
	parts := strings.Split(v, ".")
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return len(parts) == 3
}
