//go:build !linux

package vmm

import "errors"

// exchange is not available: callers fall back to two renames.
func exchange(a, b string) error { return errors.New("rename exchange: not supported") }
