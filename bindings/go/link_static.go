//go:build psftp_static

package psftp

// Links libpsftp.a through pkg-config's psftp-static.pc, whose Libs name
// the archive by its path and the system libraries it needs (OpenSSL,
// zlib, ...). cgo reads only `pkg-config --libs`, never Libs.private,
// which is why psftp installs this second file.

// #cgo pkg-config: psftp-static
import "C"
