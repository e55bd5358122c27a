package psftp

// #include <psftp.h>
import "C"

import (
	"io/fs"
	"syscall"
)

// ErrorCode is a psftp result code (PSFTP_E_*). Each code is a sentinel:
// errors.Is(err, psftp.ErrNotFound) tells whether a call failed with it.
type ErrorCode int

// One sentinel per PSFTP_E_* code of psftp.h.
const (
	ErrInvalidArg      ErrorCode = C.PSFTP_E_INVALID_ARG      // NULL, malformed, out-of-range or closed argument
	ErrConnect         ErrorCode = C.PSFTP_E_CONNECT          // TCP connect failed
	ErrHostKeyUnknown  ErrorCode = C.PSFTP_E_HOSTKEY_UNKNOWN  // host key not in known_hosts
	ErrHostKeyMismatch ErrorCode = C.PSFTP_E_HOSTKEY_MISMATCH // known_hosts holds another key
	ErrAuth            ErrorCode = C.PSFTP_E_AUTH             // authentication failed
	ErrNotFound        ErrorCode = C.PSFTP_E_NOT_FOUND        // remote path does not exist
	ErrPermission      ErrorCode = C.PSFTP_E_PERMISSION       // server refused access
	ErrExists          ErrorCode = C.PSFTP_E_EXISTS           // destination already exists
	ErrNotADirectory   ErrorCode = C.PSFTP_E_NOT_A_DIRECTORY  // a path component is not a directory
	ErrLocalIO         ErrorCode = C.PSFTP_E_LOCAL_IO         // local file-system operation failed
	ErrSFTP            ErrorCode = C.PSFTP_E_SFTP             // other SFTP failure
	ErrSSH             ErrorCode = C.PSFTP_E_SSH              // SSH protocol failure
	ErrTimeout         ErrorCode = C.PSFTP_E_TIMEOUT          // operation or connect timed out
	ErrCancelled       ErrorCode = C.PSFTP_E_CANCELLED        // stopped by Interrupt or a context
	ErrConnectionLost  ErrorCode = C.PSFTP_E_CONNECTION_LOST  // connection dropped or closed
	ErrUnsafePath      ErrorCode = C.PSFTP_E_UNSAFE_PATH      // remote name leads outside the destination
	ErrPanic           ErrorCode = C.PSFTP_E_PANIC            // internal panic in psftp (a psftp bug)
	ErrUnsupported     ErrorCode = C.PSFTP_E_UNSUPPORTED      // server lacks the SFTP extension
	ErrDirNotEmpty     ErrorCode = C.PSFTP_E_DIR_NOT_EMPTY    // rmdir of a directory with entries
	// A callback stopped the call. Calls return the callback's own error
	// (or its context's) instead, so this code only shows through the C API.
	ErrUser ErrorCode = C.PSFTP_E_USER
	// A verified transfer's copy differs from its source (TransferOptions
	// Verify); the destination keeps its old content.
	ErrIntegrity ErrorCode = C.PSFTP_E_INTEGRITY
)

// errorCodes lists every sentinel; the tests check it against the codes
// the library defines (psftp_error_name), so a code added to psftp's table
// cannot be forgotten here.
var errorCodes = []ErrorCode{
	ErrInvalidArg, ErrConnect, ErrHostKeyUnknown, ErrHostKeyMismatch, ErrAuth,
	ErrNotFound, ErrPermission, ErrExists, ErrNotADirectory, ErrLocalIO, ErrSFTP,
	ErrSSH, ErrTimeout, ErrCancelled, ErrConnectionLost, ErrUnsafePath, ErrPanic,
	ErrUnsupported, ErrDirNotEmpty, ErrUser, ErrIntegrity,
}

// Error returns the code's C name, such as "PSFTP_E_NOT_FOUND".
func (e ErrorCode) Error() string {
	return C.GoString(C.psftp_strerror(C.int(e)))
}

// Name is the code's short name, such as "ENOTFOUND" (the same names as
// the Node binding's error.code); "EUNKNOWN" for a code psftp does not
// define.
func (e ErrorCode) Name() string {
	return C.GoString(C.psftp_error_name(C.int(e)))
}

// Is lets the io/fs sentinels (and syscall.ENOTEMPTY) match the codes that
// mean the same, so errors.Is(err, fs.ErrNotExist) works as with the os
// package.
func (e ErrorCode) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return e == ErrNotFound
	case fs.ErrPermission:
		return e == ErrPermission
	case fs.ErrExist:
		return e == ErrExists
	case syscall.ENOTEMPTY:
		return e == ErrDirNotEmpty
	}
	return false
}

// Error is a failed psftp call: its code and psftp's message, which names
// the path, host or parameter and keeps the server's own text.
type Error struct {
	Code    ErrorCode
	Message string

	interrupted bool // the failure of a call on an interrupted Conn
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "psftp: " + e.Code.Error()
	}
	return "psftp: " + e.Message
}

// Unwrap gives the code, so errors.Is(err, psftp.ErrAuth) matches.
func (e *Error) Unwrap() error { return e.Code }

// Is makes the failure of a call on an interrupted Conn match
// ErrInterrupted (besides its code, ErrCancelled, through Unwrap).
func (e *Error) Is(target error) bool {
	return target == ErrInterrupted && e.interrupted
}

// invalidArg is a bad argument found on the Go side, before calling C;
// the message has psftp's form ("param: why").
func invalidArg(param, why string) error {
	return &Error{Code: ErrInvalidArg, Message: param + ": " + why}
}
