package psftp_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	psftp "github.com/psftp/psftp/bindings/go"
)

func TestModuleHelpersGivePysftpResults(t *testing.T) {
	if psftp.StModeToInt(33188) != 644 {
		t.Fatal("st_mode_to_int")
	}
	adv, err := psftp.PathAdvance("./pub/example/example01")
	must(t, err)
	if !slices.Equal(adv, []string{".", "./pub", "./pub/example", "./pub/example/example01"}) {
		t.Fatalf("path_advance %q", adv)
	}
	ret, err := psftp.PathRetreat("./pub/example/example01")
	must(t, err)
	if !slices.Equal(ret, []string{"./pub/example/example01", "./pub/example", "./pub", "."}) {
		t.Fatalf("path_retreat %q", ret)
	}
	r, err := psftp.Reparent("backup", "/home/test/pub")
	must(t, err)
	if r != "backup/./home/test/pub" {
		t.Fatalf("reparent %q", r)
	}
	_, err = psftp.PathAdvance("")
	wantErr(t, err, psftp.ErrInvalidArg, "thepath", "empty")
	_, err = psftp.Reparent("a\x00b", "x")
	wantErr(t, err, psftp.ErrInvalidArg, "newparent", "NUL")
}

func TestLocalCdRestoresTheProcessDirectory(t *testing.T) {
	before, err := os.Getwd()
	must(t, err)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	must(t, err)
	var inside string
	bodyErr := errors.New("body says no")
	err = psftp.LocalCd(dir, func() error {
		inside, _ = os.Getwd()
		return bodyErr
	})
	if err != bodyErr || inside != dir {
		t.Fatalf("LocalCd returned %v, inside %q", err, inside)
	}
	if now, _ := os.Getwd(); now != before {
		t.Fatalf("cwd %q, want %q", now, before)
	}
	if p := recovered(func() { psftp.LocalCd(dir, func() error { panic("local cd boom") }) }); p != "local cd boom" {
		t.Fatalf("recovered %v", p)
	}
	if now, _ := os.Getwd(); now != before {
		t.Fatalf("cwd %q after a panic, want %q", now, before)
	}
	must(t, psftp.LocalCdPush(dir))
	if now, _ := os.Getwd(); now != dir {
		t.Fatalf("cwd %q after push", now)
	}
	must(t, psftp.LocalCdPop())
	if now, _ := os.Getwd(); now != before {
		t.Fatalf("cwd %q after pop", now)
	}
	wantErr(t, psftp.LocalCdPush("/no/such/dir"), psftp.ErrLocalIO, "/no/such/dir")
	wantErr(t, psftp.LocalCdPop(), psftp.ErrInvalidArg, "without a matching")
	wantErr(t, psftp.LocalCd(dir, nil), psftp.ErrInvalidArg, "body")
}
