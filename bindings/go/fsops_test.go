package psftp_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	psftp "github.com/psftp/psftp/bindings/go"
)

func TestListdirIsSortedWithoutDotEntries(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "ls")
	for _, n := range []string{"readme.txt", "pub", "Zeta", "readme.sym", "ünï"} {
		putRemote(t, filepath.Join(dir, n), []byte(n))
	}
	names, err := c.Listdir(dir)
	must(t, err)
	if want := []string{"Zeta", "pub", "readme.sym", "readme.txt", "ünï"}; !slices.Equal(names, want) {
		t.Fatalf("%q, want %q", names, want)
	}
	_, err = c.Listdir("/no/such/dir")
	wantErr(t, err, psftp.ErrNotFound, "/no/such/dir")
	_, err = c.Listdir(filepath.Join(dir, "readme.txt"))
	wantErr(t, err, psftp.ErrNotADirectory, "readme.txt", "not a directory")
}

func TestListdirAttrGivesFileInfos(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "lsattr")
	putRemote(t, filepath.Join(dir, "b.txt"), make([]byte, 8192))
	mkdirRemote(t, filepath.Join(dir, "a_dir"))
	must(t, os.Symlink("b.txt", filepath.Join(dir, "c.sym")))
	infos, err := c.ListdirAttr(dir)
	must(t, err)
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
	}
	if !slices.Equal(names, []string{"a_dir", "b.txt", "c.sym"}) {
		t.Fatalf("names %q", names)
	}
	b := infos[1]
	if b.Size() != 8192 || b.Mode() != 0o644 || b.IsDir() || b.ModTime().Unix() != mtime(t, filepath.Join(dir, "b.txt")) {
		t.Fatalf("b.txt: size %d mode %v mtime %v", b.Size(), b.Mode(), b.ModTime())
	}
	attrs := b.Sys().(*psftp.Attrs)
	all := uint32(psftp.AttrSize | psftp.AttrUIDGID | psftp.AttrPermissions | psftp.AttrACModTime)
	if attrs.UID != uint32(srv.uid) || attrs.Flags != all || psftp.StModeToInt(attrs.Mode) != 644 {
		t.Fatalf("attrs %+v", attrs)
	}
	long := b.(*psftp.FileInfo).Longname()
	if !strings.HasPrefix(long, "-rw-r--r--") || !strings.Contains(long, "b.txt") {
		t.Fatalf("longname %q", long)
	}
	if !infos[0].IsDir() || infos[0].Mode()&fs.ModeDir == 0 {
		t.Fatalf("a_dir mode %v", infos[0].Mode())
	}
	if infos[2].Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("c.sym mode %v: readdir reports the link itself", infos[2].Mode())
	}
}

func TestStatAndLstat(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "stat")
	putRemote(t, filepath.Join(dir, "f"), []byte("12345"))
	must(t, os.Symlink("f", filepath.Join(dir, "l")))
	fi, err := c.Stat(filepath.Join(dir, "l"))
	must(t, err)
	if fi.Name() != "l" || fi.Size() != 5 || !fi.Mode().IsRegular() {
		t.Fatalf("stat: %s %d %v", fi.Name(), fi.Size(), fi.Mode())
	}
	li, err := c.Lstat(filepath.Join(dir, "l"))
	must(t, err)
	if li.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("lstat mode %v", li.Mode())
	}
	_, err = c.Stat(filepath.Join(dir, "nope"))
	wantErr(t, err, psftp.ErrNotFound, "nope")
	_, err = c.Stat("bad\x00path")
	wantErr(t, err, psftp.ErrInvalidArg, "remotepath", "NUL")
}

func TestExistsIsdirIsfileAnswerFalseInsteadOfFailing(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "exists")
	f := filepath.Join(dir, "f")
	putRemote(t, f, []byte("x"))
	broken := filepath.Join(dir, "broken")
	must(t, os.Symlink("missing-target", broken))
	nope := filepath.Join(dir, "nope")
	ask := func(q func(string) (bool, error), p string) bool {
		t.Helper()
		v, err := q(p)
		must(t, err)
		return v
	}
	for _, tc := range []struct {
		name string
		q    func(string) (bool, error)
		p    string
		want bool
	}{
		{"exists file", c.Exists, f, true}, {"exists dir", c.Exists, dir, true},
		{"exists missing", c.Exists, nope, false}, {"exists broken link", c.Exists, broken, false},
		{"lexists broken link", c.Lexists, broken, true}, {"lexists missing", c.Lexists, nope, false},
		{"isdir dir", c.Isdir, dir, true}, {"isdir file", c.Isdir, f, false}, {"isdir missing", c.Isdir, nope, false},
		{"isfile file", c.Isfile, f, true}, {"isfile dir", c.Isfile, dir, false}, {"isfile missing", c.Isfile, nope, false},
	} {
		if got := ask(tc.q, tc.p); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestWorkingDirectoryCalls(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "cd")
	mkdirRemote(t, filepath.Join(dir, "sub"))
	putRemote(t, filepath.Join(dir, "file"), []byte("x"))
	cwd := func() string {
		t.Helper()
		s, err := c.Getcwd()
		must(t, err)
		return s
	}
	pwd := func() string {
		t.Helper()
		s, err := c.Pwd()
		must(t, err)
		return s
	}
	if cwd() != "" || pwd() != srv.home {
		t.Fatalf("getcwd %q pwd %q before chdir", cwd(), pwd())
	}
	must(t, c.Chdir(dir))
	if cwd() != dir {
		t.Fatalf("getcwd %q", cwd())
	}
	must(t, c.Cwd("sub"))
	if pwd() != filepath.Join(dir, "sub") {
		t.Fatalf("pwd %q", pwd())
	}
	must(t, c.Chdir(".."))
	names, err := c.Listdir(".")
	must(t, err)
	if cwd() != dir || !slices.Equal(names, []string{"file", "sub"}) {
		t.Fatalf("cwd %q, listdir . %q", cwd(), names)
	}
	wantErr(t, c.Chdir("file"), psftp.ErrNotADirectory, "file")
	wantErr(t, c.Cwd("nope"), psftp.ErrNotFound, "nope")
	must(t, c.Chdir(""))
	if cwd() != "" {
		t.Fatalf("Chdir(\"\") resets: %q", cwd())
	}
}

func TestCdRunsTheBodyThereAndAlwaysComesBack(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "scoped")
	start, err := c.Pwd()
	must(t, err)
	back := func() {
		t.Helper()
		if p, _ := c.Pwd(); p != start {
			t.Fatalf("pwd %q, want %q", p, start)
		}
	}
	var inside string
	must(t, c.Cd(dir, func() error {
		inside, err = c.Pwd() // the body may use the Conn
		return err
	}))
	if inside != dir {
		t.Fatalf("inside %q", inside)
	}
	back()

	bodyErr := errors.New("body failed")
	if err := c.Cd(dir, func() error { must(t, c.Chdir("/")); return bodyErr }); err != bodyErr {
		t.Fatalf("Cd returned %v, want the body's error", err)
	}
	back()

	if p := recovered(func() { c.Cd("", func() error { c.Chdir("/tmp"); panic("in body") }) }); p != "in body" {
		t.Fatalf("recovered %v", p)
	}
	back()

	ran := false
	wantErr(t, c.Cd("/no/such", func() error { ran = true; return nil }), psftp.ErrNotFound, "/no/such")
	if ran {
		t.Fatal("the body ran after a failed cd")
	}
	wantErr(t, c.Cd(dir, nil), psftp.ErrInvalidArg, "body")

	must(t, c.CdPush(dir))
	must(t, c.Chdir("/tmp"))
	must(t, c.CdPop())
	back()
	wantErr(t, c.CdPop(), psftp.ErrInvalidArg, "cd_pop without a matching cd_push")
}

// Go modes reach the server as exactly those bits: the st_mode of the
// server's file (local: the server is local) is what was asked for.
func TestMkdirChmodTakeGoModes(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "mode")
	d := filepath.Join(dir, "d")
	must(t, c.Mkdir(d, 0o700))
	if m := mode(t, d); m != fs.ModeDir|0o700 {
		t.Fatalf("mode %v", m)
	}
	wantErr(t, c.Mkdir(d, 0o755), psftp.ErrExists, "exists")
	f := filepath.Join(dir, "f")
	putRemote(t, f, []byte("x"))
	must(t, c.Chmod(f, 0o644))
	var st syscall.Stat_t
	if err := syscall.Stat(f, &st); err != nil || st.Mode != syscall.S_IFREG|0o644 {
		t.Fatalf("st_mode %#o (%v), want 0100644", st.Mode, err)
	}
	must(t, c.Chmod(f, 0o640))
	if m := mode(t, f); m != 0o640 {
		t.Fatalf("mode %v", m)
	}
	must(t, c.Chmod(f, 0o755|fs.ModeSetuid))
	if m := mode(t, f); m != 0o755|fs.ModeSetuid {
		t.Fatalf("mode %v", m)
	}
	must(t, c.Chmod(f, 0o2750)) // Unix special bits work too
	if m := mode(t, f); m != 0o750|fs.ModeSetgid {
		t.Fatalf("mode %v", m)
	}
	wantErr(t, c.Chmod(f, fs.ModeDir|0o755), psftp.ErrInvalidArg, "mode")
	wantErr(t, c.Chmod("/no/such", 0o644), psftp.ErrNotFound, "/no/such")
	wantErr(t, c.Mkdir("/root/x", 0o755), psftp.ErrPermission, "/root/x")
}

func TestMakedirsCreatesEveryLevel(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "makedirs")
	deep := filepath.Join(dir, "pub/show/off")
	must(t, c.Makedirs(deep, 0o750))
	if m := mode(t, deep); m != fs.ModeDir|0o750 {
		t.Fatalf("mode %v", m)
	}
	must(t, c.Makedirs(deep, 0o750)) // already there: fine
	putRemote(t, filepath.Join(dir, "file"), []byte("x"))
	wantErr(t, c.Makedirs(filepath.Join(dir, "file/sub"), 0o777), psftp.ErrExists, "file")
	must(t, c.Chdir(dir))
	must(t, c.Makedirs("rel/a/b", 0o777))
	if st, err := os.Stat(filepath.Join(dir, "rel/a/b")); err != nil || !st.IsDir() {
		t.Fatalf("relative makedirs: %v", err)
	}
}

func TestRemoveUnlinkRmdirRename(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "rm")
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, n := range []string{"a", "b", "c", "e"} {
		putRemote(t, p(n), []byte(n))
	}
	must(t, c.Remove(p("a")))
	must(t, c.Unlink(p("b")))
	wantErr(t, c.Remove(p("a")), psftp.ErrNotFound, "/a")
	mkdirRemote(t, p("d"))
	must(t, c.Rename(p("c"), p("d/c2")))
	if string(readFile(t, p("d/c2"))) != "c" {
		t.Fatal("rename moved the wrong content")
	}
	err := c.Rmdir(p("d"))
	wantErr(t, err, psftp.ErrDirNotEmpty, "/d", "not empty")
	if !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("%v is not syscall.ENOTEMPTY", err)
	}
	wantErr(t, c.Rename(p("e"), p("d/c2")), psftp.ErrExists, "c2")
	must(t, c.PosixRename(p("e"), p("d/c2")))
	if string(readFile(t, p("d/c2"))) != "e" {
		t.Fatal("posix rename did not replace")
	}
	must(t, c.Remove(p("d/c2")))
	must(t, c.Rmdir(p("d")))
	if _, err := os.Stat(p("d")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("d still there: %v", err)
	}
}

func TestSymlinkReadlinkNormalize(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "links")
	mkdirRemote(t, filepath.Join(dir, "pub"))
	putRemote(t, filepath.Join(dir, "readme.txt"), []byte("r"))
	must(t, c.Chdir(dir))
	must(t, c.Symlink("readme.txt", "readme.sym"))
	if target, _ := os.Readlink(filepath.Join(dir, "readme.sym")); target != "readme.txt" {
		t.Fatalf("link target %q", target)
	}
	wantErr(t, c.Symlink("x", "readme.sym"), psftp.ErrExists, "readme.sym")
	for link, want := range map[string]string{
		"readme.sym": filepath.Join(dir, "readme.txt"),
		"pub/up.sym": filepath.Join(dir, "readme.txt"),
	} {
		if link == "pub/up.sym" {
			must(t, os.Symlink("../readme.txt", filepath.Join(dir, link)))
		}
		got, err := c.Readlink(link)
		must(t, err)
		if got != want {
			t.Fatalf("readlink %s: %q, want %q", link, got, want)
		}
	}
	_, err := c.Readlink("readme.txt")
	wantErr(t, err, psftp.ErrSFTP, "readme.txt")
	got, err := c.Normalize("pub/../readme.txt")
	must(t, err)
	if got != filepath.Join(dir, "readme.txt") {
		t.Fatalf("normalize %q", got)
	}
	// The server's realpath, as pysftp: OpenSSH resolves a missing last
	// component and refuses a missing directory on the way.
	got, err = c.Normalize("no-such-thing")
	must(t, err)
	if got != filepath.Join(dir, "no-such-thing") {
		t.Fatalf("normalize of a missing name %q", got)
	}
	_, err = c.Normalize("no-dir/x")
	wantErr(t, err, psftp.ErrNotFound, "no-dir/x")
}

func TestHardlinkStatvfsUtimeTruncateChown(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "ext")
	f := filepath.Join(dir, "f")
	putRemote(t, f, make([]byte, 10000))
	must(t, c.Hardlink(f, filepath.Join(dir, "h")))
	if ino(t, f) != ino(t, filepath.Join(dir, "h")) {
		t.Fatal("not a hard link")
	}
	v, err := c.Statvfs(dir)
	must(t, err)
	var local syscall.Statfs_t
	must(t, syscall.Statfs(dir, &local))
	if v.Bsize != uint64(local.Bsize) || v.Blocks != local.Blocks || v.Namemax != uint64(local.Namelen) {
		t.Fatalf("statvfs %+v, local %+v", v, local)
	}
	must(t, c.Utime(f, time.Unix(1_111_111_111, 0), time.Unix(1_222_222_222, 0)))
	st, err := os.Stat(f)
	must(t, err)
	sys := st.Sys().(*syscall.Stat_t)
	if sys.Atim.Sec != 1_111_111_111 || sys.Mtim.Sec != 1_222_222_222 {
		t.Fatalf("times %v %v", sys.Atim.Sec, sys.Mtim.Sec)
	}
	wantErr(t, c.Utime(f, time.Unix(-5, 0), time.Unix(0, 0)), psftp.ErrInvalidArg, "atime")
	n, err := c.Truncate(f, 4096)
	must(t, err)
	if n != 4096 || len(readFile(t, f)) != 4096 {
		t.Fatalf("truncate: %d", n)
	}
	_, err = c.Truncate("/no/such", 1)
	wantErr(t, err, psftp.ErrNotFound)
	_, err = c.Truncate(f, -1)
	wantErr(t, err, psftp.ErrInvalidArg, "size")
	must(t, c.Chown(f, srv.uid, -1))
	must(t, c.Chown(f, -1, srv.gid))
	wantErr(t, c.Chown(f, 0, -1), psftp.ErrPermission, "/f")
	wantErr(t, c.Chown(f, -2, -1), psftp.ErrInvalidArg, "uid")
}

// Go strings are bytes: a name that is not UTF-8 is listed, stat'ed and
// copied byte for byte.
func TestNamesThatAreNotUTF8KeepTheirBytes(t *testing.T) {
	c := dial(t)
	dir := remoteScratch(t, "latin1")
	name := "caf\xe9.txt"
	putRemote(t, filepath.Join(dir, name), []byte("latin-1\n"))
	names, err := c.Listdir(dir)
	must(t, err)
	if !slices.Equal(names, []string{name}) {
		t.Fatalf("%q, want %q", names, []string{name})
	}
	a, err := c.Stat(filepath.Join(dir, name))
	must(t, err)
	if a.Size() != 8 {
		t.Fatalf("size %d", a.Size())
	}
	local := filepath.Join(t.TempDir(), "na\xefve")
	must(t, c.Get(t.Context(), filepath.Join(dir, name), local, nil))
	if got := string(readFile(t, local)); got != "latin-1\n" {
		t.Fatalf("%q", got)
	}
	_, err = c.Put(t.Context(), local, filepath.Join(dir, "up\xff"), nil)
	must(t, err)
	if got := string(readFile(t, filepath.Join(dir, "up\xff"))); got != "latin-1\n" {
		t.Fatalf("%q", got)
	}
	_, err = c.Stat(filepath.Join(dir, "missing-\xe9"))
	wantErr(t, err, psftp.ErrNotFound, `missing-\xe9`)
}
