package psftp

// #include <psftp.h>
import "C"

import (
	"io/fs"
	"os"
	"path"
	"time"
	"unsafe"
)

// pathCall runs a C call that takes one remote path.
func (c *Conn) pathCall(param, p string, f func(h *C.psftp_conn, p *C.char) C.int) error {
	var a cArgs
	defer a.free()
	cp := a.str(param, p)
	return c.call(&a, func(h *C.psftp_conn) C.int { return f(h, cp) })
}

// twoPathCall runs a C call that takes two remote paths.
func (c *Conn) twoPathCall(src, dst string, f func(h *C.psftp_conn, src, dst *C.char) C.int) error {
	var a cArgs
	defer a.free()
	s, d := a.str("remote_src", src), a.str("remote_dest", dst)
	return c.call(&a, func(h *C.psftp_conn) C.int { return f(h, s, d) })
}

// pathBool runs a yes/no question about one remote path.
func (c *Conn) pathBool(p string, f func(h *C.psftp_conn, p *C.char, out *C.bool) C.int) (bool, error) {
	var a cArgs
	defer a.free()
	cp := a.str("remotepath", p)
	return c.boolOut(&a, func(h *C.psftp_conn, out *C.bool) C.int { return f(h, cp, out) })
}

// pathString runs a call that maps one remote path to a string.
func (c *Conn) pathString(param, p string, f func(h *C.psftp_conn, p *C.char, out **C.char) C.int) (string, error) {
	var a cArgs
	defer a.free()
	cp := a.str(param, p)
	return c.stringOut(&a, func(h *C.psftp_conn, out **C.char) C.int { return f(h, cp, out) })
}

// Listdir is pysftp listdir(remotepath): the names in the directory,
// sorted, without "." and "..".
func (c *Conn) Listdir(remotepath string) ([]string, error) {
	var out *C.psftp_strarray
	err := c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int {
		return C.psftp_listdir(h, p, &out)
	})
	if err != nil {
		return nil, err
	}
	return takeStrarray(out), nil
}

// ListdirAttr is pysftp listdir_attr(remotepath): the entries with their
// attributes, sorted by name. Each is a *FileInfo (with Longname).
func (c *Conn) ListdirAttr(remotepath string) ([]os.FileInfo, error) {
	var out *C.psftp_dirent_list
	err := c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int {
		return C.psftp_listdir_attr(h, p, &out)
	})
	if err != nil {
		return nil, err
	}
	defer C.psftp_dirent_list_free(out)
	infos := make([]os.FileInfo, int(out.count))
	for i, e := range unsafe.Slice(out.entries, int(out.count)) {
		infos[i] = &FileInfo{
			name:     C.GoString(e.filename),
			longname: C.GoString(e.longname),
			attrs:    attrsFromC(&e.attrs),
		}
	}
	return infos, nil
}

// statCall runs stat or lstat.
func (c *Conn) statCall(remotepath string, f func(h *C.psftp_conn, p *C.char, out *C.psftp_attrs) C.int) (os.FileInfo, error) {
	attrs := C.psftp_attrs{struct_size: C.sizeof_psftp_attrs}
	err := c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int { return f(h, p, &attrs) })
	if err != nil {
		return nil, err
	}
	return &FileInfo{name: path.Base(remotepath), attrs: attrsFromC(&attrs)}, nil
}

// Stat is pysftp stat(remotepath), following symlinks.
func (c *Conn) Stat(remotepath string) (os.FileInfo, error) {
	fi, err := c.statCall(remotepath, func(h *C.psftp_conn, p *C.char, out *C.psftp_attrs) C.int {
		return C.psftp_stat(h, p, out)
	})
	return fi, pathErr("stat", remotepath, err)
}

// Lstat is pysftp lstat(remotepath): about a symlink itself.
func (c *Conn) Lstat(remotepath string) (os.FileInfo, error) {
	fi, err := c.statCall(remotepath, func(h *C.psftp_conn, p *C.char, out *C.psftp_attrs) C.int {
		return C.psftp_lstat(h, p, out)
	})
	return fi, pathErr("lstat", remotepath, err)
}

// Exists is pysftp exists(remotepath): false for a missing or inaccessible
// path; an error only for a real failure such as a lost connection.
func (c *Conn) Exists(remotepath string) (bool, error) {
	return c.pathBool(remotepath, func(h *C.psftp_conn, p *C.char, out *C.bool) C.int { return C.psftp_exists(h, p, out) })
}

// Lexists is pysftp lexists(remotepath): like Exists, true for a broken
// symlink.
func (c *Conn) Lexists(remotepath string) (bool, error) {
	return c.pathBool(remotepath, func(h *C.psftp_conn, p *C.char, out *C.bool) C.int { return C.psftp_lexists(h, p, out) })
}

// Isdir is pysftp isdir(remotepath) (follows symlinks).
func (c *Conn) Isdir(remotepath string) (bool, error) {
	return c.pathBool(remotepath, func(h *C.psftp_conn, p *C.char, out *C.bool) C.int { return C.psftp_isdir(h, p, out) })
}

// Isfile is pysftp isfile(remotepath): a regular file (follows symlinks).
func (c *Conn) Isfile(remotepath string) (bool, error) {
	return c.pathBool(remotepath, func(h *C.psftp_conn, p *C.char, out *C.bool) C.int { return C.psftp_isfile(h, p, out) })
}

// Chdir is pysftp chdir(remotepath): later relative paths start there.
// "" resets to the server's default directory (pysftp chdir(None)).
func (c *Conn) Chdir(remotepath string) error {
	var a cArgs
	defer a.free()
	p := a.optStr("remotepath", remotepath)
	return pathErr("chdir", remotepath, c.call(&a, func(h *C.psftp_conn) C.int { return C.psftp_chdir(h, p) }))
}

// Cwd is pysftp cwd(remotepath), a synonym of Chdir.
func (c *Conn) Cwd(remotepath string) error {
	var a cArgs
	defer a.free()
	p := a.optStr("remotepath", remotepath)
	return pathErr("chdir", remotepath, c.call(&a, func(h *C.psftp_conn) C.int { return C.psftp_cwd(h, p) }))
}

// Cd is pysftp `with sftp.cd(remotepath):` — it runs body in remotepath
// and then returns to the previous directory, whatever body does (even if
// it panics). "" only bookmarks the current directory. body may use the
// Conn; its error is returned. If the change of directory fails, body does
// not run.
func (c *Conn) Cd(remotepath string, body func() error) error {
	if body == nil {
		return invalidArg("body", "is nil")
	}
	var a cArgs
	defer a.free()
	p := a.optStr("remotepath", remotepath)
	s := &callbackState{body: body}
	return c.callWith(&a, s, func(h *C.psftp_conn, ud C.uintptr_t) C.int {
		return C.psftp_cd(h, p, cCdBody, userData(ud))
	})
}

// CdPush is the first half of Cd without a body: remember the directory
// and change to remotepath ("" only bookmarks). Pair it with CdPop, e.g.
// `defer c.CdPop()`.
func (c *Conn) CdPush(remotepath string) error {
	var a cArgs
	defer a.free()
	p := a.optStr("remotepath", remotepath)
	return c.call(&a, func(h *C.psftp_conn) C.int { return C.psftp_cd_push(h, p) })
}

// CdPop returns to the directory the matching CdPush remembered.
func (c *Conn) CdPop() error {
	return c.call(nil, func(h *C.psftp_conn) C.int { return C.psftp_cd_pop(h) })
}

// Getcwd is pysftp getcwd(): "" until the first Chdir, as pysftp's None.
func (c *Conn) Getcwd() (string, error) {
	return c.stringOut(nil, func(h *C.psftp_conn, out **C.char) C.int { return C.psftp_getcwd(h, out) })
}

// Pwd is pysftp pwd: the current directory as the server names it.
func (c *Conn) Pwd() (string, error) {
	return c.stringOut(nil, func(h *C.psftp_conn, out **C.char) C.int { return C.psftp_pwd(h, out) })
}

// Normalize is pysftp normalize(remotepath): the server's absolute,
// canonical form of the path (whether a missing path is an error is the
// server's answer).
func (c *Conn) Normalize(remotepath string) (string, error) {
	return c.pathString("remotepath", remotepath, func(h *C.psftp_conn, p *C.char, out **C.char) C.int {
		return C.psftp_normalize(h, p, out)
	})
}

// Readlink is pysftp readlink(remotelink): the target as an absolute,
// normalized path (a relative target is resolved from the link's directory).
func (c *Conn) Readlink(remotelink string) (string, error) {
	target, err := c.pathString("remotelink", remotelink, func(h *C.psftp_conn, p *C.char, out **C.char) C.int {
		return C.psftp_readlink(h, p, out)
	})
	return target, pathErr("readlink", remotelink, err)
}

// modeCall runs mkdir, makedirs or chmod with mode as POSIX bits.
func (c *Conn) modeCall(param, p string, mode fs.FileMode, f func(h *C.psftp_conn, p *C.char, mode C.uint32_t) C.int) error {
	m, err := posixMode(mode)
	if err != nil {
		return err
	}
	return c.pathCall(param, p, func(h *C.psftp_conn, cp *C.char) C.int { return f(h, cp, m) })
}

// Mkdir is pysftp mkdir(remotepath, mode): mode is a Go mode (0o755); the
// server applies its umask. ErrExists if something is there.
func (c *Conn) Mkdir(remotepath string, mode fs.FileMode) error {
	return pathErr("mkdir", remotepath, c.modeCall("remotepath", remotepath, mode, func(h *C.psftp_conn, p *C.char, m C.uint32_t) C.int {
		return C.psftp_mkdir(h, p, m)
	}))
}

// Makedirs is pysftp makedirs(remotedir, mode): creates every missing
// level. Succeeds if the directory exists; ErrExists if a file is in the way.
func (c *Conn) Makedirs(remotedir string, mode fs.FileMode) error {
	return pathErr("mkdir", remotedir, c.modeCall("remotedir", remotedir, mode, func(h *C.psftp_conn, p *C.char, m C.uint32_t) C.int {
		return C.psftp_makedirs(h, p, m)
	}))
}

// Chmod is pysftp chmod(remotepath, mode) with a Go mode (0o644, or
// 0o755|fs.ModeSetuid; 0o4755 works too).
func (c *Conn) Chmod(remotepath string, mode fs.FileMode) error {
	return pathErr("chmod", remotepath, c.modeCall("remotepath", remotepath, mode, func(h *C.psftp_conn, p *C.char, m C.uint32_t) C.int {
		return C.psftp_chmod(h, p, m)
	}))
}

// Chown is pysftp chown(remotepath, uid, gid); -1 keeps that id.
func (c *Conn) Chown(remotepath string, uid, gid int) error {
	return pathErr("chown", remotepath, c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int {
		return C.psftp_chown(h, p, C.int64_t(uid), C.int64_t(gid))
	}))
}

// Rmdir is pysftp rmdir(remotepath): removes an empty directory;
// ErrDirNotEmpty (also errors.Is syscall.ENOTEMPTY) if it has entries.
func (c *Conn) Rmdir(remotepath string) error {
	return pathErr("remove", remotepath, c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int { return C.psftp_rmdir(h, p) }))
}

// Remove is pysftp remove(remotefile): deletes a file (not a directory).
func (c *Conn) Remove(remotefile string) error {
	return pathErr("remove", remotefile, c.pathCall("remotefile", remotefile, func(h *C.psftp_conn, p *C.char) C.int { return C.psftp_remove(h, p) }))
}

// Unlink is pysftp unlink(remotefile), a synonym of Remove.
func (c *Conn) Unlink(remotefile string) error {
	return pathErr("remove", remotefile, c.pathCall("remotefile", remotefile, func(h *C.psftp_conn, p *C.char) C.int { return C.psftp_unlink(h, p) }))
}

// Rename is pysftp rename(src, dest): ErrExists if dest exists (SFTP v3).
// PosixRename replaces.
func (c *Conn) Rename(remoteSrc, remoteDest string) error {
	return linkErr("rename", remoteSrc, remoteDest, c.twoPathCall(remoteSrc, remoteDest, func(h *C.psftp_conn, s, d *C.char) C.int {
		return C.psftp_rename(h, s, d)
	}))
}

// PosixRename renames and atomically replaces an existing destination
// (posix-rename@openssh.com); ErrUnsupported if the server lacks it.
func (c *Conn) PosixRename(remoteSrc, remoteDest string) error {
	return linkErr("rename", remoteSrc, remoteDest, c.twoPathCall(remoteSrc, remoteDest, func(h *C.psftp_conn, s, d *C.char) C.int {
		return C.psftp_posix_rename(h, s, d)
	}))
}

// Hardlink creates remoteDest as a hard link to remoteSrc
// (hardlink@openssh.com); ErrUnsupported if the server lacks it.
func (c *Conn) Hardlink(remoteSrc, remoteDest string) error {
	return linkErr("link", remoteSrc, remoteDest, c.twoPathCall(remoteSrc, remoteDest, func(h *C.psftp_conn, s, d *C.char) C.int {
		return C.psftp_hardlink(h, s, d)
	}))
}

// Symlink is pysftp symlink(remoteSrc, remoteDest): creates the link
// remoteDest pointing to remoteSrc (stored as given).
func (c *Conn) Symlink(remoteSrc, remoteDest string) error {
	return linkErr("symlink", remoteSrc, remoteDest, c.twoPathCall(remoteSrc, remoteDest, func(h *C.psftp_conn, s, d *C.char) C.int {
		return C.psftp_symlink(h, s, d)
	}))
}

// Truncate is pysftp truncate(remotepath, size): returns the size the
// server reports afterwards.
func (c *Conn) Truncate(remotepath string, size int64) (int64, error) {
	if size < 0 {
		return 0, pathErr("truncate", remotepath, invalidArg("size", "is negative"))
	}
	var n C.uint64_t
	err := c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int {
		return C.psftp_truncate(h, p, C.uint64_t(size), &n)
	})
	return int64(n), pathErr("truncate", remotepath, err)
}

// Utime sets the access and modification times (whole seconds; SFTP v3
// carries 1970 to 2106).
func (c *Conn) Utime(remotepath string, atime, mtime time.Time) error {
	return pathErr("chtimes", remotepath, c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int {
		return C.psftp_utime(h, p, C.int64_t(atime.Unix()), C.int64_t(mtime.Unix()))
	}))
}

// Statvfs gives the figures of the file system holding remotepath
// (statvfs@openssh.com); ErrUnsupported if the server lacks it.
func (c *Conn) Statvfs(remotepath string) (*StatVFS, error) {
	v := C.psftp_statvfs_info{struct_size: C.sizeof_psftp_statvfs_info}
	err := c.pathCall("remotepath", remotepath, func(h *C.psftp_conn, p *C.char) C.int { return C.psftp_statvfs(h, p, &v) })
	if err != nil {
		return nil, err
	}
	return statVFSFromC(&v), nil
}
