package psftp

// ErrorCodes gives the tests the list of sentinels (errors.go).
func ErrorCodes() []ErrorCode { return errorCodes }
