package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Role is what a staff member may do. Only admins manage staff accounts and
// read the audit log.
type Role string

// The roles of staff members.
const (
	RoleAdmin        Role = "admin"
	RoleReception    Role = "reception"
	RolePractitioner Role = "practitioner"
)

// Roles lists every role, for a picker.
var Roles = []Role{RoleAdmin, RoleReception, RolePractitioner}

// MinPasswordLength is the shortest password a staff account may have.
const MinPasswordLength = 8

// StaffUser is one staff member's account. Names are not patient data.
type StaffUser struct {
	ID             uint64    `json:"id"` // 0 for the recovery-key session
	Name           string    `json:"name"`
	Role           Role      `json:"role"`
	Disabled       bool      `json:"disabled,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	LastSignIn     time.Time `json:"last_sign_in,omitzero"`
	FailedAttempts int       `json:"failed_attempts,omitempty"` // wrong passwords since the last sign-in
	NextAttempt    time.Time `json:"next_attempt,omitzero"`     // no password is checked before this
}

// IsAdmin reports whether the staff member may manage accounts.
func (u StaffUser) IsAdmin() bool { return u.Role == RoleAdmin }

// userRecord is a StaffUser as stored: with the data key wrapped under the
// user's password (none while disabled) and a MAC, keyed from the data key,
// over the fields that grant rights (name, role, disabled, created).
type userRecord struct {
	StaffUser
	Wrap *wrappedKey `json:"wrap,omitempty"`
	MAC  []byte      `json:"mac"`
}

func (u *userRecord) sum(key []byte) []byte {
	disabled := []byte{0}
	if u.Disabled {
		disabled[0] = 1
	}
	created := binary.BigEndian.AppendUint64(nil, uint64(u.CreatedAt.UnixNano()))
	return mac(key, itob(u.ID), []byte(u.Name), []byte(u.Role), disabled, created)
}

func normalizeUserName(name string) string { return strings.Join(strings.Fields(name), " ") }

func validateNewUser(name string, role Role, password string) []FieldError {
	var errs []FieldError
	switch {
	case name == "":
		errs = append(errs, FieldError{Field: "name", Msg: "Enter the staff member's name."})
	case utf8.RuneCountInString(name) > 64:
		errs = append(errs, FieldError{Field: "name", Msg: "A staff name can be at most 64 characters."})
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs = append(errs, FieldError{Field: "name", Msg: "A staff name cannot hold control characters."})
	case name == RecoveryUserName:
		errs = append(errs, FieldError{Field: "name", Msg: "That name is kept for the recovery key."})
	}
	if !slices.Contains(Roles, role) {
		errs = append(errs, FieldError{Field: "role", Msg: fmt.Sprintf("The role must be admin, reception or practitioner, not %q.", role)})
	}
	errs = append(errs, validatePassword(password)...)
	return errs
}

func validatePassword(password string) []FieldError {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return []FieldError{{Field: "password", Msg: fmt.Sprintf("A password needs at least %d characters.", MinPasswordLength)}}
	}
	return nil
}

// Users lists the staff accounts in the order they were created. It works
// while the store is locked (a sign-in screen may offer the names).
func (s *Store) Users() ([]StaffUser, error) {
	if s.keyring == nil {
		return []StaffUser{}, nil
	}
	out := []StaffUser{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var rec userRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return &Error{Msg: fmt.Sprintf("staff account %d is damaged", btoi(k)), Kind: ErrUnreadable}
			}
			out = append(out, rec.StaffUser)
			return nil
		})
	})
	return out, err
}

// userByName finds an account by name, ignoring case and accents.
func (s *Store) userByName(name string) (userRecord, error) {
	var found userRecord
	ok := false
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, ok, err = unsafeUserByName(tx, name)
		return err
	})
	if err == nil && !ok {
		err = &Error{Msg: "there is no staff account called " + name, Kind: ErrNotFound}
	}
	return found, err
}

func unsafeUserByName(tx *bolt.Tx, name string) (userRecord, bool, error) {
	var found userRecord
	ok := false
	b := tx.Bucket(bucketUsers)
	if b == nil {
		return found, false, nil
	}
	want := fold(normalizeUserName(name))
	err := b.ForEach(func(k, v []byte) error {
		var rec userRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return &Error{Msg: fmt.Sprintf("staff account %d is damaged", btoi(k)), Kind: ErrUnreadable}
		}
		if fold(rec.Name) == want {
			found, ok = rec, true
		}
		return nil
	})
	return found, ok, err
}

func unsafePutUser(tx *bolt.Tx, rec *userRecord) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketUsers).Put(itob(rec.ID), raw)
}

// unsafeAddUser creates an account whose password wraps dataKey. It needs
// a write transaction.
func (s *Store) unsafeAddUser(tx *bolt.Tx, dataKey []byte, name string, role Role, password string) (StaffUser, error) {
	if _, exists, err := unsafeUserByName(tx, name); err != nil || exists {
		if err == nil {
			err = &ValidationError{Fields: []FieldError{{Field: "name", Msg: fmt.Sprintf("There is already a staff account called %s.", name)}}}
		}
		return StaffUser{}, err
	}
	b := tx.Bucket(bucketUsers)
	id, err := b.NextSequence()
	if err != nil {
		return StaffUser{}, err
	}
	rec := userRecord{StaffUser: StaffUser{ID: id, Name: name, Role: role, CreatedAt: timeNow().UTC().Truncate(time.Second)}}
	rec.Wrap, err = wrapKey(dataKey, []byte(password), kdfArgon2id, purposeUser(id))
	if err != nil {
		return StaffUser{}, err
	}
	rec.MAC = rec.sum(macKey(dataKey))
	return rec.StaffUser, unsafePutUser(tx, &rec)
}

// requireAdmin checks that the signed-in staff member is an admin. A
// Plaintext store has no sign-in and no accounts; it allows everything but
// account management, which fails there with ErrNotEncrypted.
func (s *Store) requireAdmin() error {
	if s.keyring == nil {
		return nil
	}
	u, ok := s.CurrentUser()
	if !ok {
		return errLockedSeal
	}
	if u.Role != RoleAdmin {
		return &Error{Msg: "only an admin can do that; ask an admin to sign in", Kind: ErrNotAllowed}
	}
	return nil
}

// changeUser loads an account by name, lets change edit it, and stores it
// with a fresh MAC, recording event in the audit log, all in one
// transaction. It needs the store unlocked.
func (s *Store) changeUser(name string, event AuditEvent, change func(rec *userRecord, dataKey []byte) error) (StaffUser, error) {
	if s.keyring == nil {
		return StaffUser{}, &Error{Msg: "this clinic database has no staff accounts (it is not encrypted)", Kind: ErrNotEncrypted}
	}
	dataKey := s.keyring.dataKey()
	if dataKey == nil {
		return StaffUser{}, errLockedSeal
	}
	defer clear(dataKey)
	var out StaffUser
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, ok, err := unsafeUserByName(tx, name)
		if err != nil {
			return err
		}
		if !ok {
			return &Error{Msg: "there is no staff account called " + normalizeUserName(name), Kind: ErrNotFound}
		}
		if err := change(&rec, dataKey); err != nil {
			return err
		}
		rec.MAC = rec.sum(macKey(dataKey))
		if err := unsafePutUser(tx, &rec); err != nil {
			return err
		}
		out = rec.StaffUser
		event.RecordID, event.Detail = rec.ID, strings.TrimSpace(rec.Name+" "+event.Detail)
		return s.unsafeAudit(tx, event)
	})
	return out, err
}

// AddUser creates a staff account (an admin only). The new account's
// password wraps the data key, so it can sign in at once.
func (s *Store) AddUser(name string, role Role, password string) (StaffUser, error) {
	if s.keyring == nil {
		return StaffUser{}, &Error{Msg: "this clinic database has no staff accounts (it is not encrypted)", Kind: ErrNotEncrypted}
	}
	if err := s.requireAdmin(); err != nil {
		return StaffUser{}, err
	}
	name = normalizeUserName(name)
	if errs := validateNewUser(name, role, password); len(errs) > 0 {
		return StaffUser{}, &ValidationError{Fields: errs}
	}
	dataKey := s.keyring.dataKey()
	if dataKey == nil {
		return StaffUser{}, errLockedSeal
	}
	defer clear(dataKey)
	var u StaffUser
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if u, err = s.unsafeAddUser(tx, dataKey, name, role, password); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionAddUser, RecordKind: "staff", RecordID: u.ID, Detail: u.Name + " as " + string(role)})
	})
	return u, err
}

// DisableUser stops an account from signing in (an admin only): its wrap of
// the data key is deleted, so not even its old password opens a copy of
// the file made from now on. ResetPassword enables it again. The last
// enabled admin cannot be disabled.
func (s *Store) DisableUser(name string) (StaffUser, error) {
	if err := s.requireAdmin(); err != nil {
		return StaffUser{}, err
	}
	users, err := s.Users()
	if err != nil {
		return StaffUser{}, err
	}
	return s.changeUser(name, AuditEvent{Action: ActionDisableUser, RecordKind: "staff"}, func(rec *userRecord, _ []byte) error {
		if rec.Role == RoleAdmin {
			admins := 0
			for _, u := range users {
				if u.Role == RoleAdmin && !u.Disabled {
					admins++
				}
			}
			if admins <= 1 && !rec.Disabled {
				return &Error{Msg: rec.Name + " is the only admin left; add another admin before disabling this account", Kind: ErrNotAllowed}
			}
		}
		rec.Disabled, rec.Wrap = true, nil
		return nil
	})
}

// ResetPassword gives an account a new password (an admin only) by
// wrapping the data key, which the admin's session holds, under it: nothing
// is lost. It also enables a disabled account and clears its wrong-password
// delay.
func (s *Store) ResetPassword(name, newPassword string) (StaffUser, error) {
	if err := s.requireAdmin(); err != nil {
		return StaffUser{}, err
	}
	if errs := validatePassword(newPassword); len(errs) > 0 {
		return StaffUser{}, &ValidationError{Fields: errs}
	}
	return s.changeUser(name, AuditEvent{Action: ActionResetPassword, RecordKind: "staff"}, func(rec *userRecord, dataKey []byte) error {
		w, err := wrapKey(dataKey, []byte(newPassword), kdfArgon2id, purposeUser(rec.ID))
		if err != nil {
			return err
		}
		rec.Wrap, rec.Disabled, rec.FailedAttempts, rec.NextAttempt = w, false, 0, time.Time{}
		return nil
	})
}

// ChangePassword changes the signed-in staff member's own password; the
// old one must be given.
func (s *Store) ChangePassword(oldPassword, newPassword string) error {
	u, ok := s.CurrentUser()
	if !ok || s.keyring == nil {
		return errLockedSeal
	}
	if u.ID == 0 {
		return &Error{Msg: "the recovery key has no password; reset an admin's password instead", Kind: ErrNotAllowed}
	}
	if errs := validatePassword(newPassword); len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	_, err := s.changeUser(u.Name, AuditEvent{Action: ActionChangePassword, RecordKind: "staff", RecordID: u.ID}, func(rec *userRecord, dataKey []byte) error {
		if rec.Wrap == nil {
			return &Error{Msg: "this account is disabled", Kind: ErrAccountDisabled}
		}
		if _, err := rec.Wrap.unwrap([]byte(oldPassword), purposeUser(rec.ID)); err != nil {
			return &Error{Msg: "the current password is wrong", Kind: ErrWrongPassword}
		}
		w, err := wrapKey(dataKey, []byte(newPassword), kdfArgon2id, purposeUser(rec.ID))
		rec.Wrap = w
		return err
	})
	return err
}

// signInDelay is how long an account waits after failures wrong passwords
// in a row: nothing for the first two, then 1 s, doubling, at most 5 min.
func signInDelay(failures int) time.Duration {
	if failures < 3 {
		return 0
	}
	if failures > 12 {
		return 5 * time.Minute
	}
	return min(time.Second<<(failures-3), 5*time.Minute)
}

func (s *Store) recordFailedSignIn(id uint64, now time.Time) {
	s.db.Update(func(tx *bolt.Tx) error {
		var rec userRecord
		raw := tx.Bucket(bucketUsers).Get(itob(id))
		if raw == nil || json.Unmarshal(raw, &rec) != nil {
			return errors.New("gone")
		}
		rec.FailedAttempts++
		if d := signInDelay(rec.FailedAttempts); d > 0 {
			rec.NextAttempt = now.Add(d).UTC()
		}
		return unsafePutUser(tx, &rec)
	})
}

// unsafeRecordSignIn notes a sign-in on the account and clears its
// wrong-password count. It needs a write transaction.
func unsafeRecordSignIn(tx *bolt.Tx, id uint64) error {
	var rec userRecord
	raw := tx.Bucket(bucketUsers).Get(itob(id))
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return err
	}
	rec.FailedAttempts, rec.NextAttempt, rec.LastSignIn = 0, time.Time{}, timeNow().UTC().Truncate(time.Second)
	return unsafePutUser(tx, &rec)
}
