package psftp

// ErrorCodes gives the tests the list of sentinels (errors.go).
func ErrorCodes() []ErrorCode { return errorCodes }

// StoredHandles is how many callback handles psftp holds (callbacks.go).
func StoredHandles() int64 { return storedHandles.Load() }
