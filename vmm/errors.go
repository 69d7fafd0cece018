package vmm

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that the API can map it to a status code.
type Kind int

const (
	KindInternal Kind = iota // anything unexpected: a host I/O failure, a bug
	KindInvalid              // the request or config document is wrong
	KindNotFound             // no VM of that name
	KindConflict             // duplicate name or a transition the state forbids
)

// Error is an error with a Kind. Its message is one line meant for users.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of err, KindInternal when it has none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
