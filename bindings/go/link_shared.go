//go:build !psftp_static

package psftp

// Links libpsftp.so through pkg-config's psftp.pc. An installed psftp.pc
// carries an rpath to its library directory, so the program starts
// without LD_LIBRARY_PATH. Build with -tags psftp_static for a program
// that does not need libpsftp.so at all (link_static.go).

// #cgo pkg-config: psftp
import "C"
