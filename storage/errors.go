package storage

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the store returns wraps one of these, so
// callers can test with errors.Is and still show Error() to a receptionist.
var (
	ErrInUse        = errors.New("storage: the clinic database is in use by another Front Desk")
	ErrNotFound     = errors.New("storage: not found")
	ErrConflict     = errors.New("storage: changed by someone else")
	ErrInvalid      = errors.New("storage: some details need fixing")
	ErrHasIntakes   = errors.New("storage: the patient has intake forms")
	ErrHasRequests  = errors.New("storage: booking requests are linked to the patient")
	ErrNewerSchema  = errors.New("storage: the clinic database is from a newer Front Desk")
	ErrUnreadable   = errors.New("storage: a record could not be read")
	ErrImportFailed = errors.New("storage: nothing was imported")
)

// Error is a storage error whose message can be shown to a receptionist.
// It wraps one of the sentinel errors above.
type Error struct {
	Msg  string
	Kind error
}

var _ error = (*Error)(nil)

func (e *Error) Error() string { return "storage: " + e.Msg }

// Unwrap returns the sentinel the error is a kind of.
func (e *Error) Unwrap() error { return e.Kind }

func notFound(what string, id uint64) error {
	return &Error{Msg: fmt.Sprintf("there is no %s number %d; it may have been deleted", what, id), Kind: ErrNotFound}
}

// ConflictError reports that a patient was saved by someone else since it
// was read. Current holds the stored patient, so the screen can show it.
type ConflictError struct {
	Current Patient
}

var _ error = (*ConflictError)(nil)

func (e *ConflictError) Error() string {
	return "storage: someone else changed this patient's details while you were editing; review their changes and save again"
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// IntakeConflictError reports that an intake was saved by someone else since
// it was read. Current holds the stored intake.
type IntakeConflictError struct {
	Current Intake
}

var _ error = (*IntakeConflictError)(nil)

func (e *IntakeConflictError) Error() string {
	return "storage: someone else changed this intake form while you were editing; review their changes and save again"
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *IntakeConflictError) Unwrap() error { return ErrConflict }

// FieldError is one problem with one field of a record. Field is the field's
// JSON name ("given_name", "date_of_birth", "phones[1]", "emergency.phone",
// "email"); Msg is a sentence for the receptionist.
type FieldError struct {
	Field string `json:"field"`
	Msg   string `json:"message"`
}

func (e FieldError) Error() string { return e.Msg }

// ValidationError lists every problem found with a record; nothing was saved.
type ValidationError struct {
	Fields []FieldError
}

var _ error = (*ValidationError)(nil)

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Msg
	}
	return "storage: " + strings.Join(msgs, " ")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
