package psftp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	psftp "github.com/psftp/psftp/bindings/go"
)

// asked records HostKeyCallback calls and answers with its decision.
type asked struct {
	decision psftp.HostKeyDecision
	calls    []string // "host port status type fingerprint"
	keys     []psftp.HostKey
}

func (a *asked) callback(host string, port int, key psftp.HostKey, status psftp.HostKeyStatus) psftp.HostKeyDecision {
	a.calls = append(a.calls, fmt.Sprintf("%s %d %v %s %s", host, port, status, key.Type, key.Fingerprint))
	a.keys = append(a.keys, key)
	return a.decision
}

func TestHostKeyCallbackDecidesAboutAnUnknownKey(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	must(t, os.WriteFile(kh, nil, 0o644))
	a := &asked{decision: psftp.HostKeyReject}
	cfg := config()
	cfg.KnownHosts, cfg.HostKeyCallback = kh, a.callback
	wantErr(t, dial2(cfg), psftp.ErrHostKeyUnknown, "callback rejected")
	fp := pubFingerprint(t, fixtureFile("ssh_host_ed25519_key.pub"))
	want := fmt.Sprintf("127.0.0.1 %d unknown ssh-ed25519 %s", srv.port, fp)
	if len(a.calls) != 1 || a.calls[0] != want {
		t.Fatalf("calls %q, want [%q]", a.calls, want)
	}
	if !strings.Contains(string(readFile(t, fixtureFile("ssh_host_ed25519_key.pub"))), a.keys[0].Base64) {
		t.Fatalf("key %+v is not the server's", a.keys[0])
	}

	a.decision = psftp.HostKeyAccept
	must(t, dial2(cfg))
	if len(readFile(t, kh)) != 0 {
		t.Fatal("HostKeyAccept saved the key")
	}
	a.decision = 42 // not an answer psftp knows: a rejection
	wantErr(t, dial2(cfg), psftp.ErrHostKeyUnknown, "callback rejected")

	a.decision = psftp.HostKeyAcceptAndSave
	must(t, dial2(cfg))
	lines := strings.Split(strings.TrimSpace(string(readFile(t, kh))), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", srv.port)) {
		t.Fatalf("known_hosts after HostKeyAcceptAndSave: %q", lines)
	}
	before := len(a.calls)
	must(t, dial2(cfg))
	if len(a.calls) != before {
		t.Fatal("a known key reached the callback")
	}
}

func TestHostKeyCallbackDecidesAboutAChangedKey(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	changed := readFile(t, fixtureFile("known_hosts_changed"))
	must(t, os.WriteFile(kh, changed, 0o644))
	a := &asked{decision: psftp.HostKeyAccept}
	cfg := config()
	cfg.KnownHosts, cfg.HostKeyCallback = kh, a.callback
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	defer c.Close()
	if len(a.calls) != 1 || !strings.Contains(a.calls[0], " changed ") {
		t.Fatalf("calls %q", a.calls)
	}
	// The extra connections of a tree operation trust the key the Conn
	// verified without asking again.
	rdir := remoteScratch(t, "hkcbtree")
	for i := range 12 {
		putRemote(t, filepath.Join(rdir, fmt.Sprintf("f%d", i)), []byte("x"))
	}
	noFailures(t)(c.GetD(t.Context(), rdir, t.TempDir(), &psftp.TreeOptions{Parallelism: 4}))
	if len(a.calls) != 1 {
		t.Fatalf("asked %d times", len(a.calls))
	}

	// A changed key is only ever accepted, never saved over the old one.
	a.decision = psftp.HostKeyAcceptAndSave
	must(t, dial2(cfg))
	if string(readFile(t, kh)) != string(changed) {
		t.Fatal("known_hosts was rewritten for a changed key")
	}
	a.decision = psftp.HostKeyReject
	wantErr(t, dial2(cfg), psftp.ErrHostKeyMismatch, "MISMATCH")
}

func TestAPanickingHostKeyCallbackRejectsAndIsRaisedAgain(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	must(t, os.WriteFile(kh, nil, 0o644))
	cfg := config()
	cfg.KnownHosts = kh
	cfg.HostKeyCallback = func(string, int, psftp.HostKey, psftp.HostKeyStatus) psftp.HostKeyDecision {
		panic("host key boom")
	}
	var c *psftp.Conn
	p := recovered(func() { c, _ = psftp.Dial(srv.host, cfg) })
	if p != "host key boom" || c != nil {
		t.Fatalf("recovered %v, conn %v", p, c)
	}
	if len(readFile(t, kh)) != 0 {
		t.Fatal("the panicking callback's Dial saved a key")
	}
	// Nothing is left behind: the next Dial asks its own callback.
	a := &asked{decision: psftp.HostKeyAccept}
	cfg.HostKeyCallback = a.callback
	must(t, dial2(cfg))
	if len(a.calls) != 1 {
		t.Fatalf("calls %q", a.calls)
	}
}

// The host-key callback stays with psftp while the Conn needs it, and its
// handle is released (psftp's finalizer) once the Conn is closed.
func TestTheHostKeyCallbackIsReleasedAfterTheConnCloses(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	must(t, os.WriteFile(kh, nil, 0o644))
	a := &asked{decision: psftp.HostKeyAccept}
	cfg := config()
	cfg.KnownHosts, cfg.HostKeyCallback = kh, a.callback
	before := psftp.StoredHandles()
	c, err := psftp.Dial(srv.host, cfg)
	must(t, err)
	if n := psftp.StoredHandles(); n != before+1 {
		t.Fatalf("%d handles held while the Conn is open, want %d", n, before+1)
	}
	must(t, c.Close())
	if n := psftp.StoredHandles(); n != before {
		t.Fatalf("%d handles held after Close, want %d", n, before)
	}
	// A rejected Dial leaves nothing behind either.
	a.decision = psftp.HostKeyReject
	wantErr(t, dial2(cfg), psftp.ErrHostKeyUnknown, "callback rejected")
	if n := psftp.StoredHandles(); n != before {
		t.Fatalf("%d handles held after a failed Dial, want %d", n, before)
	}
}
