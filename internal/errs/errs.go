// Package errs holds the few error categories that domain parts return and the HTTP and CLI edges
// map to status codes or messages in one place.
package errs

import (
	"errors"
	"fmt"
)

// Kind is the category of a domain error.
type Kind int

// The categories. The HTTP edge maps each to one status code.
const (
	KindInternal        Kind = iota // not one of ours: a bug or an outage
	KindInvalid                     // the caller sent something wrong; Field names it
	KindNotFound                    // the thing does not exist or is not visible to the caller
	KindConflict                    // the change collides with the current state
	KindForbidden                   // the caller may not do this
	KindUnauthenticated             // the caller did not prove who they are
	KindTooMany                     // the caller must slow down
)

// String names the kind as it appears in API error codes.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindTooMany:
		return "too_many_requests"
	default:
		return "internal"
	}
}

// Error is a categorised error with a message that is safe to show the caller.
type Error struct {
	Kind  Kind
	Field string // the input field at fault, for KindInvalid; may be empty
	Msg   string // safe to show to the caller
	Err   error  // the cause, never shown to the caller
	// Reason is a stable code for what went wrong (e.g. "password_short"), and Args the values its
	// message needs, so an edge can word the message in the reader's language.
	Reason string
	Args   []any
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid reports bad input in field.
func Invalid(field, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// NotFound reports that the named thing does not exist.
func NotFound(format string, args ...any) error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf(format, args...)}
}

// Conflict reports a collision with the current state, optionally naming the field.
func Conflict(field, format string, args ...any) error {
	return &Error{Kind: KindConflict, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Forbidden reports that the caller may not do what they asked.
func Forbidden(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Msg: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports missing or wrong credentials.
func Unauthenticated(format string, args ...any) error {
	return &Error{Kind: KindUnauthenticated, Msg: fmt.Sprintf(format, args...)}
}

// TooMany reports that the caller is being throttled.
func TooMany(format string, args ...any) error {
	return &Error{Kind: KindTooMany, Msg: fmt.Sprintf(format, args...)}
}

// Because returns a copy of the categorised error err with a stable reason code and the values
// its message needs. Errors without a category are returned as they are.
func Because(err error, reason string, args ...any) error {
	e, ok := As(err)
	if !ok {
		return err
	}
	c := *e
	c.Reason, c.Args = reason, args
	return &c
}

// KindOf returns the category of err, or KindInternal when err carries none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// As returns the categorised error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
