package psftp_test

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	psftp "github.com/psftp/psftp/bindings/go"
)

// remoteTree makes, in a fresh remote directory:
//
//	a.txt  b.html  sub/c.txt  sub/deep/d.tmpl  empty/  link -> a.txt
func remoteTree(t testing.TB) string {
	t.Helper()
	dir := remoteScratch(t, "fs")
	putRemote(t, filepath.Join(dir, "a.txt"), []byte("alpha\n"))
	putRemote(t, filepath.Join(dir, "b.html"), []byte("<p>bravo</p>\n"))
	mkdirRemote(t, filepath.Join(dir, "sub"))
	mkdirRemote(t, filepath.Join(dir, "sub", "deep"))
	mkdirRemote(t, filepath.Join(dir, "empty"))
	putRemote(t, filepath.Join(dir, "sub", "c.txt"), pattern(300000, 4))
	putRemote(t, filepath.Join(dir, "sub", "deep", "d.tmpl"), []byte(`{{define "d"}}hello {{.}}{{end}}`))
	must(t, os.Symlink("a.txt", filepath.Join(dir, "link")))
	must(t, os.Lchown(filepath.Join(dir, "link"), srv.uid, srv.gid))
	return dir
}

// testing/fstest checks every fs.FS rule: Open, Stat, ReadDir (of the FS
// and of open directories, in pieces), ReadFile, Glob, Sub, Seek, ReadAt,
// and that the contents agree with each other.
func TestFSPassesFstest(t *testing.T) {
	c := dial(t)
	dir := remoteTree(t)
	if err := fstest.TestFS(c.FS(dir), "a.txt", "b.html", "sub/c.txt", "sub/deep/d.tmpl", "empty", "link"); err != nil {
		t.Fatal(err)
	}
}

func TestFSWalkDirGlobAndReadFile(t *testing.T) {
	c := dial(t)
	dir := remoteTree(t)
	fsys := c.FS(dir)
	var seen []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		must(t, err)
		seen = append(seen, p)
		return nil
	})
	must(t, err)
	want := []string{".", "a.txt", "b.html", "empty", "link", "sub", "sub/c.txt", "sub/deep", "sub/deep/d.tmpl"}
	if !slices.Equal(seen, want) {
		t.Fatalf("fs.WalkDir saw %q, want %q", seen, want)
	}
	matches, err := fs.Glob(fsys, "sub/*.txt")
	must(t, err)
	if !slices.Equal(matches, []string{"sub/c.txt"}) {
		t.Fatalf("fs.Glob %q", matches)
	}
	data, err := fs.ReadFile(fsys, "sub/c.txt")
	must(t, err)
	if !bytes.Equal(data, pattern(300000, 4)) {
		t.Fatal("fs.ReadFile content differs")
	}
	_, err = fsys.Open("missing.txt")
	wantPathErr(t, err, "open", "missing.txt", fs.ErrNotExist)
	_, err = fsys.Open("../etc/passwd")
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("Open(../etc/passwd): %v, want fs.ErrInvalid", err)
	}
}

func TestFSServesHTTP(t *testing.T) {
	c := dial(t)
	dir := remoteTree(t)
	ts := httptest.NewServer(http.FileServer(http.FS(c.FS(dir))))
	defer ts.Close()
	get := func(p string, header ...string) (int, string) {
		req, err := http.NewRequest("GET", ts.URL+p, nil)
		must(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		must(t, err)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/b.html"); code != 200 || body != "<p>bravo</p>\n" {
		t.Fatalf("GET /b.html: %d %q", code, body)
	}
	// A range request: http.ServeContent seeks in the remote file.
	if code, body := get("/sub/c.txt", "Range", "bytes=1000-1009"); code != 206 || body != string(pattern(300000, 4)[1000:1010]) {
		t.Fatalf("GET /sub/c.txt range: %d %q", code, body)
	}
	if code, body := get("/sub/"); code != 200 || !strings.Contains(body, `href="c.txt"`) || !strings.Contains(body, `href="deep/"`) {
		t.Fatalf("GET /sub/ listing: %d %q", code, body)
	}
	if code, _ := get("/nothing-here"); code != 404 {
		t.Fatalf("GET /nothing-here: %d", code)
	}
}

func TestFSTemplateParseFS(t *testing.T) {
	c := dial(t)
	dir := remoteTree(t)
	tmpl, err := template.ParseFS(c.FS(dir), "sub/deep/*.tmpl", "b.html")
	must(t, err)
	var out bytes.Buffer
	must(t, tmpl.ExecuteTemplate(&out, "d", "<world>"))
	if out.String() != "hello &lt;world&gt;" {
		t.Fatalf("template output %q", out.String())
	}
	sub, err := fs.Sub(c.FS(dir), "sub/deep")
	must(t, err)
	if _, err := template.ParseFS(sub, "*.tmpl"); err != nil {
		t.Fatal(err)
	}
}

func TestGlob(t *testing.T) {
	c := dial(t)
	dir := remoteTree(t)
	for pattern, want := range map[string][]string{
		dir + "/*.txt":       {dir + "/a.txt"},
		dir + "/*/*.txt":     {dir + "/sub/c.txt"},
		dir + "/s?b/d*/*":    {dir + "/sub/deep/d.tmpl"},
		dir + "/[ab].*":      {dir + "/a.txt", dir + "/b.html"},
		dir + "/a.txt":       {dir + "/a.txt"},
		dir + "/nothing*":    nil,
		dir + "/a.txt/*":     nil,
		dir + "/missing/*.x": nil,
	} {
		got, err := c.Glob(pattern)
		must(t, err)
		if !slices.Equal(got, want) {
			t.Errorf("Glob(%q) = %q, want %q", pattern, got, want)
		}
	}
	// Relative to the current directory, as filepath.Glob is.
	must(t, c.Chdir(dir))
	got, err := c.Glob("sub/*")
	must(t, err)
	if !slices.Equal(got, []string{"sub/c.txt", "sub/deep"}) {
		t.Fatalf("relative Glob %q", got)
	}
	if _, err := c.Glob(dir + "/[a"); !errors.Is(err, path.ErrBadPattern) {
		t.Fatalf("bad pattern: %v", err)
	}
}

func TestRemoveAll(t *testing.T) {
	c := dial(t)
	dir := remoteTree(t)
	outside := remoteScratch(t, "keep")
	putRemote(t, filepath.Join(outside, "kept"), []byte("k"))
	// A symlink to another tree is removed, not followed.
	must(t, os.Symlink(outside, filepath.Join(dir, "sub", "out")))
	must(t, os.Lchown(filepath.Join(dir, "sub", "out"), srv.uid, srv.gid))
	must(t, c.RemoveAll(dir))
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s still there: %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "kept")); err != nil {
		t.Fatalf("RemoveAll followed a symlink: %v", err)
	}
	must(t, c.RemoveAll(dir)) // gone already: no error, as os.RemoveAll
	must(t, c.RemoveAll(filepath.Join(outside, "kept")))
	if _, err := os.Lstat(filepath.Join(outside, "kept")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("RemoveAll of a file left it")
	}
	// What cannot be removed is a *fs.PathError naming it.
	locked := remoteScratch(t, "locked")
	mkdirRemote(t, filepath.Join(locked, "d"))
	putRemote(t, filepath.Join(locked, "d", "f"), []byte("f"))
	must(t, os.Chmod(filepath.Join(locked, "d"), 0o555))
	defer os.Chmod(filepath.Join(locked, "d"), 0o755)
	err := c.RemoveAll(locked)
	wantPathErr(t, err, "remove", filepath.Join(locked, "d", "f"), fs.ErrPermission)
	if err := c.RemoveAll(locked + "/."); !errors.Is(err, psftp.ErrInvalidArg) {
		t.Fatalf("RemoveAll(dir/.): %v", err)
	}
}

// WalkDir as filepath.WalkDir: the same calls, in the same order, with the
// same errors and skips, as filepath.WalkDir over the same tree on disk.
func TestWalkDirMatchesFilepathWalkDir(t *testing.T) {
	c := dial(t)
	dir := remoteTree(t)
	mkdirRemote(t, filepath.Join(dir, "sub", "closed"))
	putRemote(t, filepath.Join(dir, "sub", "closed", "x"), []byte("x"))
	must(t, os.Chmod(filepath.Join(dir, "sub", "closed"), 0o000))
	defer os.Chmod(filepath.Join(dir, "sub", "closed"), 0o755)

	type call struct {
		Path  string
		Dir   bool
		Err   bool
		NoEnt bool
	}
	record := func(calls *[]call, skip map[string]error) fs.WalkDirFunc {
		return func(p string, d fs.DirEntry, err error) error {
			*calls = append(*calls, call{p, d != nil && d.IsDir(), err != nil, errors.Is(err, fs.ErrNotExist)})
			if err != nil {
				return nil // go on, as a caller that logs errors would
			}
			return skip[filepath.Base(p)]
		}
	}
	for name, skip := range map[string]map[string]error{
		"all":         nil,
		"skipdir":     {"deep": fs.SkipDir},
		"skip-from-a": {"a.txt": fs.SkipDir}, // a file's SkipDir skips the rest of its directory
		"skipall":     {"c.txt": fs.SkipAll},
	} {
		var remote, local []call
		must(t, c.WalkDir(dir, record(&remote, skip)))
		// As root, filepath.WalkDir could read the mode-0 directory: walk
		// as the server saw it by running the local walk with the same
		// error the server gave.
		must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && filepath.Base(p) == "closed" {
				local = append(local, call{p, true, false, false}, call{p, true, true, false})
				return fs.SkipDir
			}
			return record(&local, skip)(p, d, err)
		}))
		if !reflect.DeepEqual(remote, local) {
			t.Errorf("%s: WalkDir calls\n%v\nfilepath.WalkDir\n%v", name, remote, local)
		}
	}
	var calls []call
	missing := filepath.Join(dir, "missing")
	err := c.WalkDir(missing, record(&calls, nil))
	must(t, err)
	if !reflect.DeepEqual(calls, []call{{missing, false, true, true}}) {
		t.Fatalf("missing root: %v", calls)
	}
	stop := errors.New("stop")
	err = c.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, "b.html") {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("WalkDir returned %v, want the callback's error", err)
	}
}

func TestDialContext(t *testing.T) {
	c, err := psftp.DialContext(context.Background(), srv.host, config())
	must(t, err)
	c.Close()

	// A server that accepts and never speaks: the deadline ends the
	// handshake wait.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	cfg := config()
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = psftp.DialContext(ctx, "127.0.0.1", cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("deadline of 300 ms returned after %v", d)
	}

	// Cancel, with a ConnectTimeout far away.
	cfg.ConnectTimeout = time.Minute
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	_, err = psftp.DialContext(ctx, "127.0.0.1", cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel after 200 ms returned after %v", d)
	}
	_, err = psftp.DialContext(ctx, srv.host, config())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a done context: %v", err)
	}
}
