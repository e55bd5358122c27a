package psftp

// #include <psftp.h>
import "C"

import (
	"io/fs"
	"path"
	"time"
)

// Which fields of Attrs the server sent (Attrs.Flags bits).
const (
	AttrSize        = C.PSFTP_ATTR_SIZE        // Size is valid
	AttrUIDGID      = C.PSFTP_ATTR_UIDGID      // UID and GID are valid
	AttrPermissions = C.PSFTP_ATTR_PERMISSIONS // Mode is valid
	AttrACModTime   = C.PSFTP_ATTR_ACMODTIME   // Atime and Mtime are valid
)

// Attrs are a remote file's attributes as the server sent them (paramiko's
// SFTPAttributes). A field is meaningful only when its Attr* bit is set in
// Flags. Mode is the raw st_mode (type and permission bits); times are
// seconds since the epoch. FileInfo.Sys() returns an *Attrs.
type Attrs struct {
	Flags uint32
	Size  uint64
	UID   uint32
	GID   uint32
	Mode  uint32
	Atime int64
	Mtime int64
}

func attrsFromC(a *C.psftp_attrs) Attrs {
	return Attrs{
		Flags: uint32(a.flags),
		Size:  uint64(a.size),
		UID:   uint32(a.uid),
		GID:   uint32(a.gid),
		Mode:  uint32(a.mode),
		Atime: int64(a.atime),
		Mtime: int64(a.mtime),
	}
}

// FileInfo is an fs.FileInfo over Attrs, as Stat, ListdirAttr, Walktree
// and Put return it.
type FileInfo struct {
	name     string
	longname string
	attrs    Attrs
}

var _ fs.FileInfo = (*FileInfo)(nil)

// newFileInfoAt describes the file at remote path p.
func newFileInfoAt(p string, a *C.psftp_attrs) *FileInfo {
	return &FileInfo{name: path.Base(p), attrs: attrsFromC(a)}
}

// Name is the base name of the file.
func (fi *FileInfo) Name() string { return fi.name }

// Size is the length in bytes (0 if the server did not send it).
func (fi *FileInfo) Size() int64 { return int64(fi.attrs.Size) }

// Mode converts st_mode to an fs.FileMode (0 if the server did not send it).
func (fi *FileInfo) Mode() fs.FileMode {
	if fi.attrs.Flags&AttrPermissions == 0 {
		return 0
	}
	return fileMode(fi.attrs.Mode)
}

// ModTime is the modification time (the epoch if the server did not send it).
func (fi *FileInfo) ModTime() time.Time { return time.Unix(fi.attrs.Mtime, 0) }

// IsDir reports whether the entry is a directory.
func (fi *FileInfo) IsDir() bool { return fi.Mode().IsDir() }

// Sys returns the raw *Attrs.
func (fi *FileInfo) Sys() any { return &fi.attrs }

// Longname is the server's `ls -l` style line of a ListdirAttr entry (may
// be empty; "" for other calls).
func (fi *FileInfo) Longname() string { return fi.longname }

// st_mode file types (POSIX values, which SFTP v3 carries).
const (
	sIFMT   = 0o170000
	sIFSOCK = 0o140000
	sIFLNK  = 0o120000
	sIFBLK  = 0o060000
	sIFDIR  = 0o040000
	sIFCHR  = 0o020000
	sIFIFO  = 0o010000
	sISUID  = 0o4000
	sISGID  = 0o2000
	sISVTX  = 0o1000
)

// fileMode converts an st_mode to Go's FileMode, as the os package does.
func fileMode(st uint32) fs.FileMode {
	m := fs.FileMode(st & 0o777)
	switch st & sIFMT {
	case sIFDIR:
		m |= fs.ModeDir
	case sIFLNK:
		m |= fs.ModeSymlink
	case sIFIFO:
		m |= fs.ModeNamedPipe
	case sIFSOCK:
		m |= fs.ModeSocket
	case sIFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case sIFBLK:
		m |= fs.ModeDevice
	}
	if st&sISUID != 0 {
		m |= fs.ModeSetuid
	}
	if st&sISGID != 0 {
		m |= fs.ModeSetgid
	}
	if st&sISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// posixMode turns a Go mode into the POSIX bits psftp takes (chmod(2)'s
// mode): the permission bits plus setuid, setgid and sticky, from Go's
// flags or from Unix's own bits (0o4755).
func posixMode(mode fs.FileMode) (C.uint32_t, error) {
	const special = fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	if mode&^(special|0o7777) != 0 {
		return 0, invalidArg("mode", mode.String()+" has bits other than permissions, setuid, setgid and sticky")
	}
	bits := uint32(mode & 0o7777)
	if mode&fs.ModeSetuid != 0 {
		bits |= sISUID
	}
	if mode&fs.ModeSetgid != 0 {
		bits |= sISGID
	}
	if mode&fs.ModeSticky != 0 {
		bits |= sISVTX
	}
	return C.uint32_t(bits), nil
}

// StatVFS are the file-system figures of statvfs@openssh.com (statvfs(3)).
type StatVFS struct {
	Bsize, Frsize, Blocks, Bfree, Bavail, Files, Ffree, Favail, Fsid, Flag, Namemax uint64
}

func statVFSFromC(v *C.psftp_statvfs_info) *StatVFS {
	return &StatVFS{
		Bsize: uint64(v.bsize), Frsize: uint64(v.frsize), Blocks: uint64(v.blocks),
		Bfree: uint64(v.bfree), Bavail: uint64(v.bavail), Files: uint64(v.files),
		Ffree: uint64(v.ffree), Favail: uint64(v.favail), Fsid: uint64(v.fsid),
		Flag: uint64(v.flag), Namemax: uint64(v.namemax),
	}
}
