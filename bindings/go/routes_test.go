package psftp_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	psftp "github.com/psftp/psftp/bindings/go"
)

func TestSSHConfigAliasAndReport(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "config")
	must(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(
		"Host goalias\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		srv.host, srv.port, srv.user, srv.key, srv.knownHosts)), 0o600))
	cfg := psftp.Config{SSHConfigFile: cfgFile}
	c, err := psftp.Dial("goalias", cfg)
	must(t, err)
	pwd, err := c.Pwd()
	must(t, err)
	must(t, c.Close())
	if pwd != srv.home {
		t.Fatalf("pwd %q, want %q", pwd, srv.home)
	}
	r, err := psftp.SSHConfigReport("goalias", cfg)
	must(t, err)
	if !strings.Contains(r, "port "+strconv.Itoa(srv.port)+"\n") || !strings.Contains(r, "user "+srv.user+"\n") {
		t.Fatalf("report:\n%s", r)
	}
	must(t, os.WriteFile(cfgFile, []byte("Host x\n  Compression maybe\n"), 0o600))
	_, err = psftp.SSHConfigReport("x", cfg)
	if !errors.Is(err, psftp.ErrInvalidArg) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("malformed config: %v", err)
	}
}

func TestKeyDataNetConnAndProxyCommand(t *testing.T) {
	cfg := config()
	cfg.Password = ""
	cfg.KeyData, cfg.Passphrase = readFile(t, fixtureFile("id_ed25519_enc")), srv.passphrase
	must(t, dial2(cfg))

	nc, err := net.Dial("tcp", net.JoinHostPort(srv.host, strconv.Itoa(srv.port)))
	must(t, err)
	cfg = config()
	cfg.NetConn = nc // a net.Conn as net.Dial returns it
	must(t, dial2(cfg))
	nc.Close()
	// psftp dialled over its own duplicate: the closed original is refused.
	if err := dial2(cfg); !errors.Is(err, psftp.ErrInvalidArg) || !strings.Contains(err.Error(), "NetConn: ") ||
		!strings.Contains(err.Error(), "closed") {
		t.Fatalf("a closed NetConn: %v", err)
	}
	pipe, other := net.Pipe()
	defer pipe.Close()
	defer other.Close()
	cfg.NetConn = pipe
	if err := dial2(cfg); !errors.Is(err, psftp.ErrInvalidArg) ||
		!strings.Contains(err.Error(), "NetConn: a *net.pipe has no file descriptor") {
		t.Fatalf("net.Pipe as NetConn: %v", err)
	}

	cfg = config()
	cfg.ProxyCommand = `python3 -c 'import os,socket,sys,threading; s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); ` +
		`threading.Thread(target=lambda: [s.sendall(b) for b in iter(lambda: os.read(0,65536), b"")],daemon=True).start(); ` +
		`[os.write(1,b) for b in iter(lambda: s.recv(65536), b"")]' %h %p`
	must(t, dial2(cfg))

	cfg = config()
	cfg.ProxyJump = "a@b:22,@c"
	if err := dial2(cfg); !errors.Is(err, psftp.ErrInvalidArg) || !strings.Contains(err.Error(), "hop 2") {
		t.Fatalf("bad ProxyJump: %v", err)
	}
}

// Each of ProxyJump and ProxyCommand connects on its own (above); set
// together, neither silently wins.
func TestProxyJumpAndProxyCommandTogetherAreRefused(t *testing.T) {
	cfg := config()
	cfg.ProxyJump = fmt.Sprintf("%s@%s:%d", srv.user, srv.host, srv.port)
	cfg.ProxyCommand = "nc %h %p"
	const want = "psftp: ProxyJump: set together with ProxyCommand; use one"
	if _, err := psftp.Dial(srv.host, cfg); !errors.Is(err, psftp.ErrInvalidArg) || err.Error() != want {
		t.Fatalf("Dial: %v", err)
	}
	if _, err := psftp.SSHConfigReport(srv.host, cfg); !errors.Is(err, psftp.ErrInvalidArg) || err.Error() != want {
		t.Fatalf("SSHConfigReport: %v", err)
	}
}

// kbdServer starts a fixture that wants the password, then an HOTP code.
func kbdServer(t *testing.T) map[string]string {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("psftp-go-kbd-%d", os.Getpid()))
	must(t, os.MkdirAll(dir, 0o755))
	script := filepath.Join("..", "..", "tests", "fixture", "sshd.sh")
	cmd := exec.Command("bash", script, "start", filepath.Join(dir, "s"))
	cmd.Env = append(os.Environ(), "PSFTP_SSHD_KBD=1")
	out, err := cmd.Output()
	t.Cleanup(func() {
		exec.Command("bash", script, "stop", filepath.Join(dir, "s")).Run()
		os.RemoveAll(dir)
	})
	must(t, err)
	env := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env
}

func hotp(secretHex string, counter uint64) string {
	key, _ := hex.DecodeString(secretHex)
	m := hmac.New(sha1.New, key)
	binary.Write(m, binary.BigEndian, counter)
	sum := m.Sum(nil)
	o := sum[19] & 15
	n := binary.BigEndian.Uint32(sum[o:o+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1000000)
}

func TestKeyboardInteractiveAnswersTheSecondFactor(t *testing.T) {
	env := kbdServer(t)
	port, _ := strconv.Atoi(env["PSFTP_TEST_PORT"])
	var asked []string
	var askers []string
	cfg := psftp.Config{
		Port: port, User: env["PSFTP_TEST_USER"], Password: env["PSFTP_TEST_PASSWORD"],
		KnownHosts: env["PSFTP_TEST_KNOWN_HOSTS"],
		KeyboardInteractive: func(r psftp.KeyboardInteractiveRequest) ([]string, error) {
			asked = append(asked, r.Questions...)
			askers = append(askers, fmt.Sprintf("%s@%s:%d", r.User, r.Host, r.Port))
			if len(r.Echos) != len(r.Questions) {
				t.Errorf("%d echo flags for %d questions", len(r.Echos), len(r.Questions))
			}
			if len(r.Questions) == 1 && strings.HasPrefix(r.Questions[0], "One-time password") {
				return []string{hotp(env["PSFTP_TEST_OATH_SECRET"], 0)}, nil
			}
			return nil, nil // the password answers the rest
		},
	}
	before := psftp.StoredHandles()
	c, err := psftp.Dial("127.0.0.1", cfg)
	must(t, err)
	if n := psftp.StoredHandles(); n != before+1 {
		t.Fatalf("%d handles held while connected, want %d", n, before+1)
	}
	must(t, c.Close())
	if n := psftp.StoredHandles(); n != before {
		t.Fatalf("%d handles held after Close, want %d (psftp's finalizer releases it)", n, before)
	}
	if len(asked) != 2 || asked[0] != "Password: " {
		t.Fatalf("prompts %q", asked)
	}
	// Every round (PAM ends with one of no prompts) names the server.
	server := fmt.Sprintf("%s@127.0.0.1:%d", env["PSFTP_TEST_USER"], port)
	if len(askers) < 2 || strings.Count(strings.Join(askers, " ")+" ", server+" ") != len(askers) {
		t.Fatalf("asked by %q, want %s each time", askers, server)
	}
	stop := errors.New("no code today")
	cfg.KeyboardInteractive = func(psftp.KeyboardInteractiveRequest) ([]string, error) { return nil, stop }
	if _, err := psftp.Dial("127.0.0.1", cfg); !errors.Is(err, stop) {
		t.Fatalf("giving up: %v", err)
	}
	if n := psftp.StoredHandles(); n != before {
		t.Fatalf("%d handles held after a failed Dial, want %d", n, before)
	}
}
