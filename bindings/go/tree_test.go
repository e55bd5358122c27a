package psftp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	psftp "github.com/psftp/psftp/bindings/go"
)

// snapshot is everything under root: relative path -> "d", "l TARGET" or
// "f SIZE SHA256".
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "l " + target
			return err
		case d.IsDir():
			out[rel] = "d"
		default:
			b, err := os.ReadFile(p)
			sum := sha256.Sum256(b)
			out[rel] = fmt.Sprintf("f %d %s", len(b), hex.EncodeToString(sum[:8]))
			return err
		}
		return nil
	}))
	return out
}

func sameTree(t testing.TB, got, want string) {
	t.Helper()
	g, w := snapshot(t, got), snapshot(t, want)
	if !maps.Equal(g, w) {
		t.Fatalf("%s differs from %s:\n got  %v\n want %v", got, want, g, w)
	}
}

// sampleTreeFiles are the files of makeSampleTree besides many/f01..f39:
// nesting, an empty file, unicode names and files of several MiB (which
// psftp streams; the small ones it batches).
var sampleTreeFiles = []struct {
	name string
	size int
}{
	{"top.txt", 100}, {"empty.bin", 0}, {"big.bin", 3<<20 + 11}, {"a/one.txt", 4096},
	{"a/b/two.txt", 10}, {"a/b/c/deep.bin", 1<<20 + 1}, {"ünïcödé/ファイル.txt", 33}, {"many/f00", 1},
}

const sampleTreeFileCount = 47

// makeSampleTree makes the tree under root (and an empty directory),
// owned by the test user when remote.
func makeSampleTree(t testing.TB, root string, remote bool) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(root, "empty_dir"), 0o755))
	for i, f := range sampleTreeFiles {
		p := filepath.Join(root, f.name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, pattern(f.size, byte(i)), 0o644))
	}
	for i := 1; i < 40; i++ {
		must(t, os.WriteFile(filepath.Join(root, fmt.Sprintf("many/f%02d", i)), pattern(4096, byte(i)), 0o644))
	}
	if remote {
		chownTree(t, root)
	}
}

// chownTree gives root and everything under it to the test user.
func chownTree(t testing.TB, root string) {
	t.Helper()
	must(t, filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, srv.uid, srv.gid)
	}))
}

// landed is where GetR puts remotedir under localdir (pysftp reparent).
func landed(t testing.TB, localdir, remotedir string) string {
	t.Helper()
	p, err := psftp.Reparent(localdir, remotedir)
	must(t, err)
	return p
}

// noFailures asserts a tree operation succeeded with an empty failure
// list: noFailures(t)(c.GetR(...)).
func noFailures(t testing.TB) func([]psftp.Failure, error) {
	return func(failures []psftp.Failure, err error) {
		t.Helper()
		must(t, err)
		if len(failures) != 0 {
			t.Fatalf("failures on success: %v", failures)
		}
	}
}

func noPartFiles(t testing.TB, root string) {
	t.Helper()
	for p := range snapshot(t, root) {
		if strings.Contains(p, ".psftp.part") {
			t.Fatalf("temporary file left: %s", p)
		}
	}
}

func TestGetRCopiesTheTreeByteForByteWherePysftpPutsIt(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "getr")
	makeSampleTree(t, filepath.Join(rdir, "public"), true)
	must(t, os.Chtimes(filepath.Join(rdir, "public/a/one.txt"), time.Unix(1_500_000_000, 0), time.Unix(1_500_000_000, 0)))
	local := t.TempDir()
	must(t, c.Chdir(rdir))
	// pysftp: get_r('public', 'backup') lands in backup/public.
	failures, err := c.GetR(t.Context(), "public", filepath.Join(local, "backup"), &psftp.TreeOptions{PreserveMtime: true})
	noFailures(t)(failures, err)
	sameTree(t, filepath.Join(local, "backup/public"), filepath.Join(rdir, "public"))
	if mtime(t, filepath.Join(local, "backup/public/a/one.txt")) != 1_500_000_000 {
		t.Fatal("PreserveMtime did not keep the mtime")
	}
	// An absolute remotedir is reparented: abs/./home/.../public/a.
	abs := filepath.Join(local, "abs")
	noFailures(t)(c.GetR(t.Context(), filepath.Join(rdir, "public/a"), abs, nil))
	got := landed(t, abs, filepath.Join(rdir, "public/a"))
	if !strings.HasPrefix(got, abs+"/./") {
		t.Fatalf("reparented to %s", got)
	}
	sameTree(t, got, filepath.Join(rdir, "public/a"))
}

func TestPutRCopiesTheContentsAndAcceptsExistingDirectories(t *testing.T) {
	c := dial(t)
	local := t.TempDir()
	makeSampleTree(t, local, false)
	must(t, os.Chtimes(filepath.Join(local, "a/b/two.txt"), time.Unix(1_400_000_000, 0), time.Unix(1_400_000_000, 0)))
	remote := filepath.Join(remoteScratch(t, "putr"), "static")
	for range 2 {
		noFailures(t)(c.PutR(t.Context(), local, remote, &psftp.TreeOptions{PreserveMtime: true}))
	}
	sameTree(t, remote, local)
	if mtime(t, filepath.Join(remote, "a/b/two.txt")) != 1_400_000_000 {
		t.Fatal("PreserveMtime did not keep the mtime")
	}
	noPartFiles(t, remote)
}

func TestGetDAndPutDCopyOnlyTheFilesDirectlyInside(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "getd")
	makeSampleTree(t, rdir, true)
	local := filepath.Join(t.TempDir(), "images")
	noFailures(t)(c.GetD(t.Context(), rdir, local, nil))
	if got := slices.Sorted(maps.Keys(snapshot(t, local))); !slices.Equal(got, []string{"big.bin", "empty.bin", "top.txt"}) {
		t.Fatalf("GetD copied %q", got)
	}
	dest := remoteScratch(t, "putd")
	noFailures(t)(c.PutD(t.Context(), local, dest, &psftp.TreeOptions{NoConfirm: true}))
	sameTree(t, dest, local)
}

func TestTreeOperationsGiveTheSameResultWithAnyParallelism(t *testing.T) {
	c := dial(t)
	local := t.TempDir()
	makeSampleTree(t, local, false)
	remote := remoteScratch(t, "par")
	for _, n := range []int{1, 2, 8} {
		dest := filepath.Join(remote, fmt.Sprintf("p%d", n))
		noFailures(t)(c.PutR(t.Context(), local, dest, &psftp.TreeOptions{Parallelism: n}))
		sameTree(t, dest, local)
		back := t.TempDir()
		noFailures(t)(c.GetR(t.Context(), dest, back, &psftp.TreeOptions{Parallelism: n}))
		sameTree(t, landed(t, back, dest), local)
	}
	for _, n := range []int{-1, 65} {
		_, err := c.PutR(t.Context(), local, filepath.Join(remote, "bad"), &psftp.TreeOptions{Parallelism: n})
		wantErr(t, err, psftp.ErrInvalidArg, "connections")
	}
	_, err := c.PutR(t.Context(), local, filepath.Join(remote, "bad"), &psftp.TreeOptions{Parallelism: 1 << 40})
	wantErr(t, err, psftp.ErrInvalidArg, "Parallelism", "out of range")
	if ok, _ := c.Exists(filepath.Join(remote, "bad")); ok {
		t.Fatal("a refused call created the destination")
	}
}

// treeLog records tree progress.
type treeLog struct{ calls []psftp.TreeProgress }

func (l *treeLog) record(p psftp.TreeProgress) { l.calls = append(l.calls, p) }

func (l *treeLog) last(t testing.TB) psftp.TreeProgress {
	t.Helper()
	if len(l.calls) == 0 {
		t.Fatal("no progress calls")
	}
	return l.calls[len(l.calls)-1]
}

func TestTreeProgressReachesTheTotals(t *testing.T) {
	c := dial(t)
	local := t.TempDir()
	makeSampleTree(t, local, false)
	var total int64
	for _, f := range sampleTreeFiles {
		total += int64(f.size)
	}
	total += 39 * 4096
	var l treeLog
	noFailures(t)(c.PutR(t.Context(), local, remoteScratch(t, "prog"), &psftp.TreeOptions{Progress: l.record}))
	last := l.last(t)
	if last.FilesDone != sampleTreeFileCount || last.FilesTotal != sampleTreeFileCount ||
		last.BytesDone != total || last.BytesTotal != total {
		t.Fatalf("last progress %+v, want %d files and %d bytes", last, sampleTreeFileCount, total)
	}
	sawBig := false
	for i, p := range l.calls {
		sawBig = sawBig || p.CurrentPath == "big.bin"
		if i > 0 && (p.FilesDone < l.calls[i-1].FilesDone || p.BytesDone < l.calls[i-1].BytesDone) {
			t.Fatalf("progress went back: %+v after %+v", p, l.calls[i-1])
		}
	}
	if !sawBig {
		t.Fatal("CurrentPath never named big.bin")
	}
}

func TestSyncSkipsUnchangedFilesAndCopiesChangedOnes(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "sync")
	makeSampleTree(t, rdir, true)
	local := t.TempDir()
	sync := &psftp.TreeOptions{Sync: true}
	noFailures(t)(c.GetR(t.Context(), rdir, local, sync))
	got := landed(t, local, rdir)
	sameTree(t, got, rdir)
	top, f05 := ino(t, filepath.Join(got, "top.txt")), ino(t, filepath.Join(got, "many/f05"))
	putRemote(t, filepath.Join(rdir, "many/f05"), []byte("changed")) // new size and mtime
	var l treeLog
	noFailures(t)(c.GetR(t.Context(), rdir, local, &psftp.TreeOptions{Sync: true, Progress: l.record}))
	sameTree(t, got, rdir)
	if ino(t, filepath.Join(got, "top.txt")) != top {
		t.Fatal("an unchanged file was copied again")
	}
	if ino(t, filepath.Join(got, "many/f05")) == f05 {
		t.Fatal("the changed file was not copied")
	}
	if last := l.last(t); last.FilesDone != last.FilesTotal || last.FilesTotal != sampleTreeFileCount {
		t.Fatalf("skipped files are not counted as done: %+v", last)
	}

	// Uploads: a second PutR with Sync replaces nothing.
	dest := remoteScratch(t, "syncput")
	noFailures(t)(c.PutR(t.Context(), got, dest, sync))
	before := ino(t, filepath.Join(dest, "a/one.txt"))
	noFailures(t)(c.PutR(t.Context(), got, dest, sync))
	if ino(t, filepath.Join(dest, "a/one.txt")) != before {
		t.Fatal("an unchanged remote file was replaced")
	}
	sameTree(t, dest, got)
}

func TestIncludeAndExcludeFilters(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "filter")
	makeSampleTree(t, rdir, true)
	local := t.TempDir()
	opts := &psftp.TreeOptions{Include: []string{"*.txt", "many/f0?"}, Exclude: []string{"a/b"}}
	noFailures(t)(c.GetR(t.Context(), rdir, local, opts))
	got := landed(t, local, rdir)
	var files []string
	for p, kind := range snapshot(t, got) {
		if kind[0] == 'f' {
			files = append(files, p)
		}
	}
	slices.Sort(files)
	want := []string{"a/one.txt"}
	for i := range 10 {
		want = append(want, fmt.Sprintf("many/f%02d", i))
	}
	want = append(want, "top.txt", "ünïcödé/ファイル.txt")
	if !slices.Equal(files, want) {
		t.Fatalf("copied %q\nwant %q", files, want)
	}
	if _, err := os.Lstat(filepath.Join(got, "a/b")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the excluded directory was created")
	}
	_, err := c.GetR(t.Context(), rdir, local, &psftp.TreeOptions{Include: []string{"["}})
	wantErr(t, err, psftp.ErrInvalidArg, "pattern", "'['")
	_, err = c.GetR(t.Context(), rdir, local, &psftp.TreeOptions{Exclude: []string{"a\x00b"}})
	wantErr(t, err, psftp.ErrInvalidArg, "Exclude", "NUL")
}

// makeLinks makes d/sub/file, f, and links: to a file, to a directory, a
// loop, one leading outside the tree, and a dangling one.
func makeLinks(t testing.TB, root string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(root, "d/sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "d/sub/file"), []byte("inside"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "f"), []byte("f"), 0o644))
	for link, target := range map[string]string{
		"to_file": "f", "to_dir": "d", "d/up_loop": "..", "outside": "/etc", "dangling": "nowhere",
	} {
		must(t, os.Symlink(target, filepath.Join(root, link)))
	}
}

func kinds(t testing.TB, root string) []string {
	var out []string
	for p, v := range snapshot(t, root) {
		out = append(out, v[:1]+" "+p)
	}
	slices.Sort(out)
	return out
}

func TestSymlinkPoliciesSkipFollowCopyAndNeverLoop(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "links")
	makeLinks(t, rdir)
	chownTree(t, rdir)
	fetch := func(policy psftp.SymlinkPolicy) string {
		local := t.TempDir()
		noFailures(t)(c.GetR(t.Context(), rdir, local, &psftp.TreeOptions{Symlinks: policy}))
		return landed(t, local, rdir)
	}
	if got := kinds(t, fetch(psftp.SymlinksSkip)); !slices.Equal(got, []string{"d d", "d d/sub", "f d/sub/file", "f f"}) {
		t.Fatalf("skip: %q", got)
	}
	followed := fetch(psftp.SymlinksFollow)
	want := []string{"d d", "d d/sub", "d to_dir", "d to_dir/sub", "f d/sub/file", "f f", "f to_dir/sub/file", "f to_file"}
	if got := kinds(t, followed); !slices.Equal(got, want) {
		t.Fatalf("follow: %q", got)
	}
	// Copy recreates the links that stay inside the tree (safe links);
	// CopyAll every link, verbatim.
	copied := fetch(psftp.SymlinksCopy)
	if got := kinds(t, copied); len(got) != 8 {
		t.Fatalf("copy: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(copied, "outside")); !os.IsNotExist(err) {
		t.Fatalf("copy recreated the absolute link 'outside' (%v)", err)
	}
	all := fetch(psftp.SymlinksCopyAll)
	if got := kinds(t, all); len(got) != 9 {
		t.Fatalf("copy all: %q", got)
	}
	for link, target := range map[string]string{"outside": "/etc", "d/up_loop": "..", "dangling": "nowhere"} {
		if got, err := os.Readlink(filepath.Join(all, link)); err != nil || got != target {
			t.Fatalf("copy all: %s -> %q (%v), want %q", link, got, err, target)
		}
	}

	// Uploads follow the same rules.
	local := t.TempDir()
	makeLinks(t, local)
	dest := remoteScratch(t, "linksup")
	noFailures(t)(c.PutR(t.Context(), local, dest, &psftp.TreeOptions{Symlinks: psftp.SymlinksFollow}))
	if got := kinds(t, dest); !slices.Equal(got, want) {
		t.Fatalf("PutR follow: %q", got)
	}
	dest2 := remoteScratch(t, "linksup2")
	noFailures(t)(c.PutR(t.Context(), local, dest2, &psftp.TreeOptions{Symlinks: psftp.SymlinksCopy}))
	if got, err := os.Readlink(filepath.Join(dest2, "to_dir")); err != nil || got != "d" {
		t.Fatalf("PutR copy: to_dir -> %q (%v)", got, err)
	}
	_, err := c.PutR(t.Context(), local, dest2, &psftp.TreeOptions{Symlinks: 7})
	wantErr(t, err, psftp.ErrInvalidArg, "policy")
}

func TestContinuePolicyReportsEveryFailedPath(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "errs")
	makeSampleTree(t, rdir, true)
	// Two files the server (running as the test user) cannot read.
	for _, f := range []string{"a/one.txt", "many/f07"} {
		must(t, os.Chown(filepath.Join(rdir, f), 0, 0))
		must(t, os.Chmod(filepath.Join(rdir, f), 0o600))
	}
	failures, err := c.GetR(t.Context(), rdir, t.TempDir(), &psftp.TreeOptions{Parallelism: 1})
	wantErr(t, err, psftp.ErrPermission, "Permission denied")
	if len(failures) != 1 {
		t.Fatalf("stop policy: %d failures %v", len(failures), failures)
	}

	local := t.TempDir()
	failures, err = c.GetR(t.Context(), rdir, local, &psftp.TreeOptions{OnError: psftp.ContinueOnError})
	msg := wantErr(t, err, psftp.ErrPermission, "2 entries failed")
	var paths []string
	for _, f := range failures {
		paths = append(paths, f.Path)
		if f.Err == nil || f.Err.Code != psftp.ErrPermission || !errors.Is(f.Err, fs.ErrPermission) ||
			!strings.Contains(f.Err.Message, "Permission denied") {
			t.Fatalf("failure %s: %v", f.Path, f.Err)
		}
	}
	slices.Sort(paths)
	if !slices.Equal(paths, []string{"a/one.txt", "many/f07"}) {
		t.Fatalf("failed paths %q (%s)", paths, msg)
	}
	got := landed(t, local, rdir)
	if !slices.Equal(readFile(t, filepath.Join(got, "many/f08")), readFile(t, filepath.Join(rdir, "many/f08"))) {
		t.Fatal("the other files were not copied")
	}
	if _, err := os.Stat(filepath.Join(got, "a/one.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("an unreadable file was created locally")
	}
	if n := len(snapshot(t, got)); n < sampleTreeFileCount {
		t.Fatalf("only %d entries arrived", n)
	}
	noPartFiles(t, got)
}

func TestPreserveModeCopiesPermissionBitsBothWays(t *testing.T) {
	c := dial(t)
	local := t.TempDir()
	must(t, os.Mkdir(filepath.Join(local, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(local, "d/script"), []byte("#!/bin/sh\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(local, "secret"), []byte("s"), 0o644))
	must(t, os.Chmod(filepath.Join(local, "d/script"), 0o750))
	must(t, os.Chmod(filepath.Join(local, "secret"), 0o600))
	must(t, os.Chmod(filepath.Join(local, "d"), 0o711))
	modes := func(root string) [3]os.FileMode {
		return [3]os.FileMode{
			mode(t, filepath.Join(root, "d/script")).Perm(),
			mode(t, filepath.Join(root, "secret")).Perm(),
			mode(t, filepath.Join(root, "d")).Perm(),
		}
	}
	want := [3]os.FileMode{0o750, 0o600, 0o711}
	remote := remoteScratch(t, "mode")
	keep := &psftp.TreeOptions{PreserveMode: true}
	noFailures(t)(c.PutR(t.Context(), local, remote, keep))
	if got := modes(remote); got != want {
		t.Fatalf("PutR modes %v", got)
	}
	back := t.TempDir()
	noFailures(t)(c.GetR(t.Context(), remote, back, keep))
	if got := modes(landed(t, back, remote)); got != want {
		t.Fatalf("GetR modes %v", got)
	}
	plain := t.TempDir()
	noFailures(t)(c.GetR(t.Context(), remote, plain, nil))
	if m := mode(t, filepath.Join(landed(t, plain, remote), "secret")).Perm(); m != 0o644 {
		t.Fatalf("without PreserveMode the umask applies: %v", m)
	}
}

func TestCancellingATreeOperationStopsItAndKeepsTheConnUsable(t *testing.T) {
	c := dial(t)
	local := t.TempDir()
	makeSampleTree(t, local, false)
	for i := range 4 {
		must(t, os.WriteFile(filepath.Join(local, fmt.Sprintf("large%d.bin", i)), pattern(4<<20, byte(i)), 0o644))
	}
	// cancelAtFirst cancels ctx from another goroutine at the first
	// progress call and waits for it, so the operation is mid-way.
	cancelAtFirst := func() (context.Context, *atomic.Int32, func(psftp.TreeProgress)) {
		ctx, cancel := context.WithCancel(t.Context())
		t.Cleanup(cancel)
		var calls atomic.Int32
		return ctx, &calls, func(psftp.TreeProgress) {
			if calls.Add(1) == 1 {
				go cancel()
				<-ctx.Done()
			}
		}
	}
	remote := remoteScratch(t, "cancel")
	ctx, calls, progress := cancelAtFirst()
	_, err := c.PutR(ctx, local, remote, &psftp.TreeOptions{Parallelism: 2, Progress: progress})
	if err != context.Canceled || calls.Load() != 1 {
		t.Fatalf("PutR returned %v after %d progress calls, want context.Canceled after 1", err, calls.Load())
	}
	// A cancelled call's cleanup (CLOSE, and REMOVE of its part file) goes
	// out without waiting for replies, so that a cancel returns on a frozen
	// link too; the server runs it before the Conn's next request.
	if _, err := c.Listdir(remote); err != nil {
		t.Fatal(err)
	}
	noPartFiles(t, remote)
	files := 0
	for p, v := range snapshot(t, remote) {
		if v[0] == 'f' {
			files++
			if !slices.Equal(readFile(t, filepath.Join(remote, p)), readFile(t, filepath.Join(local, p))) {
				t.Fatalf("%s is incomplete", p)
			}
		}
	}
	if files >= sampleTreeFileCount+4 {
		t.Fatal("the cancelled PutR copied everything")
	}

	full := remoteScratch(t, "cancelget")
	noFailures(t)(c.PutR(t.Context(), local, full, nil))
	back := t.TempDir()
	ctx, calls, progress = cancelAtFirst()
	_, err = c.GetR(ctx, full, back, &psftp.TreeOptions{Parallelism: 2, Progress: progress})
	if err != context.Canceled || calls.Load() != 1 {
		t.Fatalf("GetR returned %v after %d progress calls", err, calls.Load())
	}
	noPartFiles(t, back)
	if c.Interrupted() {
		t.Fatal("a cancellation the progress callback carried out interrupted the Conn")
	}
	if _, err := c.Listdir(full); err != nil {
		t.Fatalf("the Conn is unusable after a cancelled tree operation: %v", err)
	}

	// A context already done stops the operation before it starts.
	_, err = c.GetR(ctx, full, filepath.Join(back, "never"), nil)
	if err != context.Canceled {
		t.Fatalf("GetR with a cancelled context: %v", err)
	}
	if _, err := os.Stat(filepath.Join(back, "never")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a cancelled GetR created its destination")
	}
}

func TestAPanickingTreeCallbackIsRaisedAgainAfterTheCall(t *testing.T) {
	c := dial(t)
	rdir := remoteScratch(t, "treepanic")
	makeSampleTree(t, rdir, true)
	local := t.TempDir()
	calls := 0
	p := recovered(func() {
		c.GetR(t.Context(), rdir, local, &psftp.TreeOptions{
			Parallelism: 2,
			Progress:    func(psftp.TreeProgress) { calls++; panic("tree boom") },
		})
	})
	if p != "tree boom" || calls != 1 {
		t.Fatalf("recovered %v after %d calls", p, calls)
	}
	noPartFiles(t, local)
	if c.Interrupted() {
		t.Fatal("the panic interrupted the Conn")
	}
	noFailures(t)(c.GetR(t.Context(), rdir, local, nil))
	sameTree(t, landed(t, local, rdir), rdir)
}

func TestTreeOperationErrors(t *testing.T) {
	c := dial(t)
	local := t.TempDir()
	failures, err := c.GetR(t.Context(), "/no/such/dir", local, nil)
	wantErr(t, err, psftp.ErrNotFound, "/no/such/dir")
	if len(failures) != 0 {
		t.Fatalf("failures %v", failures)
	}
	file := filepath.Join(remoteScratch(t, "badroot"), "file")
	putRemote(t, file, []byte("x"))
	_, err = c.GetD(t.Context(), file, local, nil)
	wantErr(t, err, psftp.ErrNotADirectory, "not a directory")
	_, err = c.PutR(t.Context(), "/no/such/local", "/tmp", nil)
	wantErr(t, err, psftp.ErrLocalIO, "/no/such/local")
	_, err = c.PutD(t.Context(), local, "/root/denied", nil)
	if !errors.Is(err, psftp.ErrPermission) {
		t.Fatalf("PutD into /root: %v", err)
	}
	_, err = c.PutR(nil, local, "/tmp", nil)
	wantErr(t, err, psftp.ErrInvalidArg, "ctx")
	_, err = c.GetR(t.Context(), "/tmp", "bad\x00dir", nil)
	wantErr(t, err, psftp.ErrInvalidArg, "localdir", "NUL")
	_, err = c.GetR(t.Context(), "/tmp", local, &psftp.TreeOptions{OnError: 9})
	wantErr(t, err, psftp.ErrInvalidArg, "policy")
	if entries, _ := os.ReadDir(local); len(entries) != 0 {
		t.Fatalf("failed calls left %v", entries)
	}
	var nilConn *psftp.Conn
	_, err = nilConn.GetR(t.Context(), "/tmp", local, nil)
	wantErr(t, err, psftp.ErrInvalidArg, "conn")
}
