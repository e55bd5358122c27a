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

	psftp "github.com/psftp/psftp/bindings/go"
)

// makeTree makes a/x, a/b/y, skipme/z, e/, top and links: to a file, to a
// directory (a loop), a broken one, and a fifo.
func makeTree(t *testing.T, root string) {
	for _, d := range []string{"a/b", "skipme", "e"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	for _, f := range []string{"a/x", "a/b/y", "skipme/z", "top"} {
		must(t, os.WriteFile(filepath.Join(root, f), []byte(f), 0o644))
	}
	must(t, os.Symlink("top", filepath.Join(root, "link_file")))
	must(t, os.Symlink(".", filepath.Join(root, "a/loop")))
	must(t, os.Symlink("nowhere", filepath.Join(root, "broken")))
	must(t, syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644))
}

// walkLog records callbacks as "kind path" with "@" for a symlink, skips
// directories named skipme and stops at stopAt.
type walkLog struct {
	events []string
	stopAt string
	stop   error
}

func (w *walkLog) callback(kind string) psftp.WalkFunc {
	return func(p string, info os.FileInfo) error {
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			link = "@"
		}
		if info.Name() != filepath.Base(p) {
			w.events = append(w.events, "bad name "+info.Name())
		}
		w.events = append(w.events, kind+" "+p+link)
		switch {
		case p == w.stopAt:
			return w.stop
		case kind == "d" && strings.HasSuffix(p, "skipme"):
			return psftp.SkipDir
		}
		return nil
	}
}

func expectedWalk(root string) []string {
	var out []string
	for _, e := range []string{
		"d {r}/a", "d {r}/a/b", "f {r}/a/b/y", "d {r}/a/loop@", "f {r}/a/x", "u {r}/broken@",
		"d {r}/e", "f {r}/link_file@", "u {r}/pipe", "d {r}/skipme", "f {r}/top",
	} {
		out = append(out, strings.ReplaceAll(e, "{r}", root))
	}
	return out
}

func TestWalktreeIsDepthFirstSortedAndSafeWithLinks(t *testing.T) {
	c := dial(t)
	root := remoteScratch(t, "walk")
	makeTree(t, root)
	var w walkLog
	must(t, c.Walktree(root, w.callback("f"), w.callback("d"), w.callback("u"), true))
	if want := expectedWalk(root); !slices.Equal(w.events, want) {
		t.Fatalf("walk\n%q\nwant\n%q", w.events, want)
	}

	var top walkLog
	must(t, c.Walktree(root, top.callback("f"), top.callback("d"), nil, false))
	if len(top.events) != 5 {
		t.Fatalf("without recurse: %q", top.events)
	}

	stopErr := errors.New("enough")
	stopper := walkLog{stopAt: root + "/a/x", stop: stopErr}
	err := c.Walktree(root, stopper.callback("f"), stopper.callback("d"), stopper.callback("u"), true)
	if err != stopErr || stopper.events[len(stopper.events)-1] != "f "+root+"/a/x" {
		t.Fatalf("walk returned %v after %q", err, stopper.events)
	}

	all := walkLog{stopAt: root + "/a/x", stop: fs.SkipAll}
	must(t, c.Walktree(root, all.callback("f"), all.callback("d"), nil, true))
	if all.events[len(all.events)-1] != "f "+root+"/a/x" {
		t.Fatalf("SkipAll did not end the walk: %q", all.events)
	}

	err = c.Walktree("/no/such", nil, nil, nil, true)
	wantErr(t, err, psftp.ErrNotFound, "/no/such")
}

func TestWalkCallsOneFunctionForEverything(t *testing.T) {
	c := dial(t)
	root := remoteScratch(t, "walk1")
	makeTree(t, root)
	var seen []string
	must(t, c.Walk(root, func(p string, info os.FileInfo) error {
		seen = append(seen, strings.TrimPrefix(p, root+"/"))
		return nil
	}))
	want := []string{"a", "a/b", "a/b/y", "a/loop", "a/x", "broken", "e", "link_file", "pipe", "skipme", "skipme/z", "top"}
	if !slices.Equal(seen, want) {
		t.Fatalf("%q", seen)
	}
}

func TestWalkCallbacksMayUseTheConn(t *testing.T) {
	c := dial(t)
	root := remoteScratch(t, "walkuse")
	makeTree(t, root)
	sizes := map[string]int64{}
	must(t, c.Walktree(root, func(p string, _ os.FileInfo) error {
		fi, err := c.Stat(p)
		if err == nil {
			sizes[strings.TrimPrefix(p, root+"/")] = fi.Size()
		}
		return err
	}, nil, nil, true))
	if sizes["a/b/y"] != 5 || sizes["link_file"] != 3 || len(sizes) != 5 {
		t.Fatalf("sizes %v", sizes)
	}
}

func TestAPanickingWalkCallbackIsRaisedAgain(t *testing.T) {
	c := dial(t)
	root := remoteScratch(t, "walkpanic")
	makeTree(t, root)
	calls := 0
	p := recovered(func() {
		c.Walk(root, func(string, os.FileInfo) error { calls++; panic("walk boom") })
	})
	if p != "walk boom" || calls != 1 {
		t.Fatalf("recovered %v after %d calls", p, calls)
	}
	if _, err := c.Listdir(root); err != nil {
		t.Fatalf("conn unusable after the panic: %v", err)
	}
}

func TestLocalWalktreeMatchesTheRemoteWalk(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root)
	var w walkLog
	must(t, psftp.LocalWalktree(root, w.callback("f"), w.callback("d"), w.callback("u"), true))
	if want := expectedWalk(root); !slices.Equal(w.events, want) {
		t.Fatalf("local walk\n%q\nwant\n%q", w.events, want)
	}
	err := psftp.LocalWalktree("/no/such/dir", nil, nil, nil, true)
	wantErr(t, err, psftp.ErrLocalIO, "/no/such/dir")
	p := recovered(func() {
		psftp.LocalWalktree(root, func(string, os.FileInfo) error { panic("local boom") }, nil, nil, true)
	})
	if p != "local boom" {
		t.Fatalf("recovered %v", p)
	}
}
