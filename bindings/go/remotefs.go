package psftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// FS is a remote directory tree as an io/fs file system, so that
// fs.WalkDir, fs.Glob, http.FS, template.ParseFS and the like work on the
// server. Names are fs names (slash-separated, unrooted, no "." or ".."
// elements) below the root given to Conn.FS. Errors are *fs.PathError
// naming the fs name; errors.Is(err, fs.ErrNotExist) works. Files are
// *File (io.Seeker and io.ReaderAt too, as http.FS wants), directories
// fs.ReadDirFile. Like its Conn, an FS is safe for concurrent use.
type FS struct {
	conn *Conn
	root string
}

var (
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.ReadFileFS = (*FS)(nil)
	_ fs.SubFS      = (*FS)(nil)
)

// FS is the tree under the remote directory root as an fs.FS. A relative
// root is taken from the current directory now (a later Chdir does not
// move the FS); "" is the current directory.
func (c *Conn) FS(root string) *FS {
	if root == "" {
		root = "."
	}
	return &FS{conn: c, root: c.absolute(root)}
}

// remote is the server's path of fs name name, or an fs.ErrInvalid
// *fs.PathError for a name fs.ValidPath refuses.
func (fsys *FS) remote(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return path.Join(fsys.root, name), nil
}

// Open opens the named file or directory for reading.
func (fsys *FS) Open(name string) (fs.File, error) {
	p, err := fsys.remote("open", name)
	if err != nil {
		return nil, err
	}
	info, err := fsys.conn.Stat(p)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	if info.IsDir() {
		return &dirFile{fsys: fsys, name: name, remote: p, info: info}, nil
	}
	f, err := fsys.conn.Open(p, "r", -1)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	f.osStyle, f.noWrite, f.name, f.fullPath = true, true, name, p
	return f, nil
}

// Stat is fs.StatFS: the named file's attributes (symlinks followed).
func (fsys *FS) Stat(name string) (fs.FileInfo, error) {
	p, err := fsys.remote("stat", name)
	if err != nil {
		return nil, err
	}
	info, err := fsys.conn.Stat(p)
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	if name == "." {
		info.(*FileInfo).name = "."
	}
	return info, nil
}

// ReadDir is fs.ReadDirFS: the directory's entries sorted by name.
func (fsys *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := fsys.remote("readdir", name)
	if err != nil {
		return nil, err
	}
	entries, err := fsys.conn.ReadDir(p)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	return entries, nil
}

// ReadFile is fs.ReadFileFS: the whole file through psftp's pipelined
// download.
func (fsys *FS) ReadFile(name string) ([]byte, error) {
	p, err := fsys.remote("open", name)
	if err != nil {
		return nil, err
	}
	var buf bytesWriter
	if _, err := fsys.conn.Getfo(context.Background(), p, &buf, nil); err != nil {
		return nil, pathErr("open", name, err)
	}
	return buf.b, nil
}

// Sub is fs.SubFS: the tree under dir (which must be a directory).
func (fsys *FS) Sub(dir string) (fs.FS, error) {
	p, err := fsys.remote("sub", dir)
	if err != nil {
		return nil, err
	}
	info, err := fsys.conn.Stat(p)
	if err != nil {
		return nil, pathErr("sub", dir, err)
	}
	if !info.IsDir() {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: ErrNotADirectory}
	}
	return &FS{conn: fsys.conn, root: p}, nil
}

// dirFile is an open directory of an FS: fs.ReadDirFile. Its entries are
// listed at the first ReadDir.
type dirFile struct {
	fsys    *FS
	name    string
	remote  string
	info    fs.FileInfo
	entries []fs.DirEntry
	listed  bool
	closed  bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}

func (d *dirFile) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.name, Err: fs.ErrClosed}
	}
	d.closed = true
	return nil
}

// ReadDir is fs.ReadDirFile: with n > 0 at most n entries per call and
// io.EOF when none are left; with n <= 0 all that are left.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	if !d.listed {
		entries, err := d.fsys.conn.ReadDir(d.remote)
		if err != nil {
			return nil, pathErr("readdir", d.name, err)
		}
		d.entries, d.listed = entries, true
	}
	if n <= 0 {
		rest := d.entries
		d.entries = nil
		return rest, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}

// ReadDir is os.ReadDir on the server: the directory's entries sorted by
// name, as fs.DirEntry (Info gives the *FileInfo listed with them; no
// extra round trip). Errors are *fs.PathError with Op "readdir".
func (c *Conn) ReadDir(name string) ([]fs.DirEntry, error) {
	infos, err := c.ListdirAttr(name)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	entries := make([]fs.DirEntry, len(infos))
	for i, info := range infos {
		entries[i] = fs.FileInfoToDirEntry(info)
	}
	return entries, nil
}

// RemoveAll is os.RemoveAll on the server: removes name and, when it is a
// directory, everything in it (symlinks are removed, never followed). A
// name that does not exist is no error. The first failure stops it and is
// returned as a *fs.PathError naming the entry.
func (c *Conn) RemoveAll(name string) error {
	if name == "" || name == "." || strings.HasSuffix(name, "/.") {
		return pathErr("RemoveAll", name, invalidArg("name", "'"+name+"' ends in '.', which os.RemoveAll refuses too"))
	}
	info, err := c.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return pathErr("lstat", name, err)
	}
	return c.removeAll(name, info)
}

func (c *Conn) removeAll(name string, info fs.FileInfo) error {
	if !info.IsDir() {
		return ignoreGone(pathErr("remove", name, c.Remove(name)))
	}
	children, err := c.ListdirAttr(name)
	if err != nil {
		return ignoreGone(pathErr("readdir", name, err))
	}
	for _, child := range children {
		if err := c.removeAll(path.Join(name, child.Name()), child); err != nil {
			return err
		}
	}
	return ignoreGone(pathErr("remove", name, c.Rmdir(name)))
}

// ignoreGone: what is gone already needs no removing (another remover).
func ignoreGone(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Glob is filepath.Glob on the server: the names matching pattern (the
// syntax of path.Match), sorted, absolute or relative as the pattern is.
// Only a malformed pattern is an error (path.ErrBadPattern); directories
// that cannot be read are skipped, as filepath.Glob skips them.
func (c *Conn) Glob(pattern string) ([]string, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	return c.glob(pattern)
}

func (c *Conn) glob(pattern string) ([]string, error) {
	if !hasMeta(pattern) {
		if _, err := c.Lstat(pattern); err != nil {
			return nil, nil
		}
		return []string{pattern}, nil
	}
	dir, file := path.Split(pattern)
	dir = cleanGlobDir(dir)
	if !hasMeta(dir) {
		return c.globIn(dir, file, nil)
	}
	if dir == pattern { // a pattern such as "a[/" that path.Split cannot shorten
		return nil, path.ErrBadPattern
	}
	dirs, err := c.glob(dir)
	if err != nil {
		return nil, err
	}
	var matches []string
	for _, d := range dirs {
		if matches, err = c.globIn(d, file, matches); err != nil {
			return nil, err
		}
	}
	return matches, nil
}

// globIn appends the entries of directory dir matching pattern (sorted).
func (c *Conn) globIn(dir, pattern string, matches []string) ([]string, error) {
	infos, err := c.ListdirAttr(dir)
	if err != nil {
		return matches, nil // not a directory, unreadable, gone: no matches
	}
	var names []string
	for _, info := range infos {
		ok, err := path.Match(pattern, info.Name())
		if err != nil {
			return matches, err
		}
		if ok {
			names = append(names, info.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if dir == "." {
			matches = append(matches, n)
		} else {
			matches = append(matches, path.Join(dir, n))
		}
	}
	return matches, nil
}

// cleanGlobDir is the directory part of a pattern without its trailing
// slash ("" is ".", "/" stays).
func cleanGlobDir(dir string) string {
	switch dir {
	case "":
		return "."
	case "/":
		return dir
	}
	return dir[:len(dir)-1]
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// WalkDir is filepath.WalkDir on the server: fn gets root first, then
// every entry below it, depth first in lexical order, with an fs.DirEntry
// (from the directory listing: symlinks are reported, never followed).
// Errors go to fn as filepath.WalkDir passes them: a root that cannot be
// stat'ed gives fn(root, nil, err); a directory that cannot be read gives
// a second call fn(dir, d, err). fn's fs.SkipDir skips a directory (or,
// from a file, the rest of its directory), fs.SkipAll ends the walk
// without error, any other error ends it and WalkDir returns it. Errors
// are *fs.PathError. Paths are root joined with the names below it.
func (c *Conn) WalkDir(root string, fn fs.WalkDirFunc) error {
	info, err := c.Lstat(root)
	if err != nil {
		err = fn(root, nil, pathErr("lstat", root, err))
	} else {
		err = c.walkDir(root, fs.FileInfoToDirEntry(info), fn)
	}
	if err == fs.SkipDir || err == fs.SkipAll {
		return nil
	}
	return err
}

func (c *Conn) walkDir(p string, d fs.DirEntry, fn fs.WalkDirFunc) error {
	if err := fn(p, d, nil); err != nil || !d.IsDir() {
		if err == fs.SkipDir && d.IsDir() {
			err = nil // skip this directory's contents
		}
		return err
	}
	entries, err := c.ReadDir(p)
	if err != nil {
		// Second call for the directory, as filepath.WalkDir makes.
		if err = fn(p, d, err); err != nil {
			if err == fs.SkipDir && d.IsDir() {
				err = nil
			}
			return err
		}
	}
	for _, e := range entries {
		if err := c.walkDir(path.Join(p, e.Name()), e, fn); err != nil {
			if err == fs.SkipDir {
				break // a file's SkipDir skips the rest of its directory
			}
			return err
		}
	}
	return nil
}
