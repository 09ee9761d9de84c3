package storage

// The open / set-up / sign-in / lock flow of an encrypted store, as the
// window and the commands follow it:
//
//	st, err := storage.Open(dir, storage.Options{}) // never Plaintext in the app
//	switch st.State() {
//	case storage.StateNeedsSetup: // new or plaintext file: the set-up screen
//		recoveryKey, err := st.Setup(adminName, password) // show recoveryKey once, for paper
//	case storage.StateLocked: // the sign-in screen; st.Users() lists the names
//		user, err := st.Unlock(name, password) // or st.UnlockWithRecoveryKey(key)
//		// errors.Is(err, ErrWrongPassword), errors.As(err, &*SignInDelayError{}) (.Wait),
//		// errors.Is(err, ErrAccountDisabled)
//	}
//	// idle for Settings().AutoLockMinutes: save drafts, then
//	st.Lock() // data key, index and caches dropped; the lock screen calls Unlock again
//	st.Close() // at exit; then RemoveOldPackets(dir, days)
//
// The store records creates, updates, deletes, imports, exports, settings,
// staff accounts, sign-ins (failed too), locks, backups and restores in the
// audit log itself; the caller records what only it sees with Audit: a
// patient or intake opened (ActionViewPatient, ActionViewIntake) and a
// packet printed (ActionPrint).

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors of sign-in and set-up. Like every store error they come wrapped in
// an *Error (or *SignInDelayError) whose message a receptionist understands.
var (
	ErrLocked          = errors.New("storage: the clinic database is locked; sign in first")
	ErrNeedsSetup      = errors.New("storage: Front Desk is not set up yet: create the first admin account")
	ErrAlreadySetUp    = errors.New("storage: Front Desk is already set up")
	ErrWrongPassword   = errors.New("storage: the name or password is wrong")
	ErrAccountDisabled = errors.New("storage: this staff account is disabled")
	ErrTooManyAttempts = errors.New("storage: too many wrong passwords; wait before trying again")
	ErrNotAllowed      = errors.New("storage: only an admin can do that")
	ErrNotEncrypted    = errors.New("storage: this clinic database is not encrypted")
)

// SignInDelayError says a staff account had too many wrong passwords in a
// row: no password is checked until Wait has passed. The delay doubles with
// every further wrong password (see signInDelay).
type SignInDelayError struct {
	Name string
	Wait time.Duration
}

var _ error = (*SignInDelayError)(nil)

func (e *SignInDelayError) Error() string {
	return fmt.Sprintf("storage: too many wrong passwords for %s; try again in %s", e.Name, roundUp(e.Wait))
}

// Unwrap makes errors.Is(err, ErrTooManyAttempts) true.
func (e *SignInDelayError) Unwrap() error { return ErrTooManyAttempts }

func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// State is where an open store is in the sign-in flow.
type State int

// The states of an open store.
const (
	StateNeedsSetup State = iota + 1 // no staff accounts yet (a new or plaintext file): call Setup
	StateLocked                      // encrypted and locked: call Unlock or UnlockWithRecoveryKey
	StateUnlocked                    // patient data can be read and written
)

func (st State) String() string {
	switch st {
	case StateNeedsSetup:
		return "needs set-up"
	case StateLocked:
		return "locked"
	case StateUnlocked:
		return "unlocked"
	}
	return "unknown"
}

// State says whether the store needs Setup, is locked or is unlocked.
func (s *Store) State() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state
}

// Encrypted reports whether the store is (or, after Setup, will be)
// encrypted: false only for stores opened with Options.Plaintext or Sealer.
func (s *Store) Encrypted() bool { return s.keyring != nil }

// CurrentUser is the staff member who unlocked the store; false while
// locked and for Plaintext stores.
func (s *Store) CurrentUser() (StaffUser, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.user == nil {
		return StaffUser{}, false
	}
	return *s.user, true
}

// RecoveryUserName is the CurrentUser name (and the audit log's user) of a
// session unlocked with the recovery key. It has the admin role.
const RecoveryUserName = "(recovery key)"

// timeNow is the clock of sign-in delays and audit events; tests move it.
var timeNow = time.Now

// encryptBatchSize is how many values one transaction of the encryption of
// a plaintext file seals.
var encryptBatchSize = 2000

// encryptBatchHook, when set (tests), runs after each committed batch of
// the encryption of a plaintext file; an error stops the encryption there,
// as a crash would.
var encryptBatchHook func(batch int) error

func isEncrypted(db *bolt.DB) (bool, error) {
	var enc bool
	err := db.View(func(tx *bolt.Tx) error {
		kr := tx.Bucket(bucketKeyring)
		enc = kr != nil && kr.Get(keyRecoveryWrap) != nil
		return nil
	})
	if err != nil {
		return false, &Error{Msg: "cannot read the clinic database: " + err.Error(), Kind: ErrUnreadable}
	}
	return enc, nil
}

func purposeUser(id uint64) string { return fmt.Sprintf("frontdesk data key for staff user %d", id) }

const purposeRecovery = "frontdesk data key for the recovery key"

// Setup makes a new or plaintext store encrypted and creates its first
// admin account; it returns the recovery key, to be shown once and written
// down: it opens the store if every password is forgotten. The store is
// then unlocked, signed in as the admin.
//
// A plaintext file is encrypted in place, in batches of one transaction
// each with a progress marker in meta: if Front Desk stops part-way, the
// next Unlock (by the admin) finishes the job and nothing is lost. The file
// is then compacted into a fresh copy so that no plaintext lingers in free
// pages. If Setup fails after the keys were written, the store opens
// StateLocked; sign in as the admin (encryption resumes) and make a new
// recovery key with ReplaceRecoveryKey, since this one was never shown.
func (s *Store) Setup(adminName, password string) (recoveryKey string, err error) {
	if s.keyring == nil {
		return "", &Error{Msg: "this clinic database was opened without encryption", Kind: ErrNotEncrypted}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.State() != StateNeedsSetup {
		return "", &Error{Msg: "Front Desk is already set up; sign in instead", Kind: ErrAlreadySetUp}
	}
	adminName = normalizeUserName(adminName)
	if errs := validateNewUser(adminName, RoleAdmin, password); len(errs) > 0 {
		return "", &ValidationError{Fields: errs}
	}
	// A plaintext file's schema is brought up to date as it is.
	s.keyring.setPlain(true)
	err = s.migrate()
	s.keyring.setPlain(false)
	if err != nil {
		return "", err
	}

	dataKey := randomBytes(dataKeySize)
	display, raw := newRecoveryKey()
	recoveryWrap, err := wrapKey(dataKey, raw, kdfHKDF, purposeRecovery)
	if err != nil {
		return "", err
	}
	auditKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	if err := s.keyring.set(append([]byte(nil), dataKey...)); err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			s.keyring.clear()
		}
	}()
	var admin StaffUser
	err = s.db.Update(func(tx *bolt.Tx) error {
		kr, err := tx.CreateBucketIfNotExists(bucketKeyring)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketUsers); err != nil {
			return err
		}
		wrapJSON, _ := json.Marshal(recoveryWrap)
		if err := kr.Put(keyRecoveryWrap, wrapJSON); err != nil {
			return err
		}
		if err := kr.Put(keyAuditPublic, auditKey.PublicKey().Bytes()); err != nil {
			return err
		}
		sealedPriv, err := s.sealBytes(auditKey.Bytes())
		if err != nil {
			return err
		}
		if err := kr.Put(keyAuditPrivate, sealedPriv); err != nil {
			return err
		}
		admin, err = s.unsafeAddUser(tx, dataKey, adminName, RoleAdmin, password)
		if err != nil {
			return err
		}
		progress, _ := json.Marshal(encryptProgress{})
		return tx.Bucket(bucketMeta).Put(keyEncryptProgress, progress)
	})
	if err != nil {
		return "", err
	}
	// The file now holds keys: if what follows fails, the store is locked
	// (Unlock as the admin resumes), not waiting for another Setup.
	s.mu.Lock()
	s.state = StateLocked
	s.mu.Unlock()
	if err := s.finishUnlock(admin, ActionSetup, ""); err != nil {
		return "", err
	}
	return display, nil
}

// Unlock signs a staff member in: their password unwraps the data key, and
// the search index is built. A wrong password or unknown name gives an
// error wrapping ErrWrongPassword (and a failed-sign-in audit event); from
// the third wrong password in a row on one account, that account waits
// (1 s, 2 s, 4 s, … up to 5 minutes) before a password is checked again:
// the error is a *SignInDelayError wrapping ErrTooManyAttempts. A disabled
// account gets ErrAccountDisabled. Unlocking an unlocked store signs the
// new staff member in instead of the current one.
//
// The delay is kept in the users bucket, so restarting Front Desk does not
// reset it; it slows guessing at the desk. A stolen file is protected by
// Argon2id, not by the delay.
func (s *Store) Unlock(name, password string) (StaffUser, error) {
	if err := s.canUnlock(); err != nil {
		return StaffUser{}, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	name = normalizeUserName(name)
	rec, err := s.userByName(name)
	if isNotFound(err) {
		// Take as long as a real check, so that timing does not tell
		// which names have accounts.
		(&wrappedKey{KDF: kdfArgon2id, Salt: make([]byte, 16), Argon: &passwordKDF}).kek([]byte(password))
		s.Audit(AuditEvent{User: name, Action: ActionFailedSignIn, Detail: "unknown name"})
		return StaffUser{}, &Error{Msg: "the name or password is wrong", Kind: ErrWrongPassword}
	}
	if err != nil {
		return StaffUser{}, err
	}
	if rec.Disabled || rec.Wrap == nil {
		s.Audit(AuditEvent{User: rec.Name, Action: ActionFailedSignIn, Detail: "account disabled"})
		return StaffUser{}, &Error{Msg: fmt.Sprintf("the staff account %s is disabled; ask an admin to reset its password", rec.Name), Kind: ErrAccountDisabled}
	}
	now := timeNow()
	if now.Before(rec.NextAttempt) {
		return StaffUser{}, &SignInDelayError{Name: rec.Name, Wait: rec.NextAttempt.Sub(now)}
	}
	dataKey, err := rec.Wrap.unwrap([]byte(password), purposeUser(rec.ID))
	if errors.Is(err, errBadSecret) {
		s.recordFailedSignIn(rec.ID, now)
		s.Audit(AuditEvent{User: rec.Name, Action: ActionFailedSignIn, Detail: "wrong password"})
		return StaffUser{}, &Error{Msg: "the name or password is wrong", Kind: ErrWrongPassword}
	}
	if err != nil {
		return StaffUser{}, &Error{Msg: "cannot read the staff account " + rec.Name + ": " + err.Error(), Kind: ErrUnreadable}
	}
	if !hmac.Equal(rec.MAC, rec.sum(macKey(dataKey))) {
		clear(dataKey)
		return StaffUser{}, &Error{Msg: fmt.Sprintf("the staff account %s was changed outside Front Desk; an admin must reset its password", rec.Name), Kind: ErrUnreadable}
	}
	if err := s.keyring.set(dataKey); err != nil {
		return StaffUser{}, err
	}
	if err := s.finishUnlock(rec.StaffUser, ActionSignIn, ""); err != nil {
		s.keyring.clear()
		return StaffUser{}, err
	}
	return rec.StaffUser, nil
}

// UnlockWithRecoveryKey unlocks the store with the recovery key shown at
// Setup (case, spaces and dashes do not matter). The session has the admin
// role, as RecoveryUserName, so that an admin's forgotten password can be
// reset.
func (s *Store) UnlockWithRecoveryKey(key string) (StaffUser, error) {
	if err := s.canUnlock(); err != nil {
		return StaffUser{}, err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	user := StaffUser{Name: RecoveryUserName, Role: RoleAdmin}
	raw, ok := parseRecoveryKey(key)
	var w wrappedKey
	err := s.db.View(func(tx *bolt.Tx) error {
		return json.Unmarshal(tx.Bucket(bucketKeyring).Get(keyRecoveryWrap), &w)
	})
	if err != nil {
		return StaffUser{}, &Error{Msg: "the recovery key's record is damaged: " + err.Error(), Kind: ErrUnreadable}
	}
	var dataKey []byte
	if ok {
		dataKey, err = w.unwrap(raw, purposeRecovery)
	}
	if !ok || err != nil {
		s.Audit(AuditEvent{User: RecoveryUserName, Action: ActionFailedSignIn, Detail: "wrong recovery key"})
		return StaffUser{}, &Error{Msg: "that is not this clinic's recovery key; check every group of characters", Kind: ErrWrongPassword}
	}
	if err := s.keyring.set(dataKey); err != nil {
		return StaffUser{}, err
	}
	if err := s.finishUnlock(user, ActionSignIn, "with the recovery key"); err != nil {
		s.keyring.clear()
		return StaffUser{}, err
	}
	return user, nil
}

func (s *Store) canUnlock() error {
	if s.keyring == nil {
		return &Error{Msg: "this clinic database is not encrypted and has no sign-in", Kind: ErrNotEncrypted}
	}
	if s.State() == StateNeedsSetup {
		return &Error{Msg: "Front Desk is not set up yet: create the first admin account", Kind: ErrNeedsSetup}
	}
	return nil
}

// finishUnlock runs with the data key in the keyring and writeMu held:
// finish an interrupted encryption, compact, migrate, build the index, move
// audit events written while locked into the log, and sign user in.
func (s *Store) finishUnlock(user StaffUser, action AuditAction, detail string) error {
	if s.State() != StateUnlocked {
		if err := s.encryptInPlace(); err != nil {
			return err
		}
		if err := s.compactIfPending(); err != nil {
			return err
		}
		if err := s.activate(); err != nil {
			return err
		}
	}
	// One transaction: the sign-in on the account, the events written
	// while locked, and this sign-in in the audit log.
	err := s.db.Update(func(tx *bolt.Tx) error {
		if user.ID != 0 {
			if err := unsafeRecordSignIn(tx, user.ID); err != nil {
				return err
			}
		}
		if err := s.unsafeDrainPendingAudit(tx); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{User: user.Name, Action: action, Detail: detail})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.state = StateUnlocked
	s.user = &user
	s.mu.Unlock()
	return nil
}

// Lock signs the staff member out: the data key is dropped from memory, and
// so are the search index and every cache of patient data. Until the next
// Unlock, patient reads and writes fail with ErrLocked and Search finds
// nothing. A write in progress finishes first. Draft work the caller holds
// in memory is the caller's to keep or drop. Lock does nothing on a
// Plaintext store or a store already locked.
func (s *Store) Lock() error {
	if s.keyring == nil {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.State() != StateUnlocked {
		return nil
	}
	err := s.Audit(AuditEvent{Action: ActionLock})
	s.keyring.clear()
	s.mu.Lock()
	s.dropMemoryLocked()
	s.user = nil
	s.state = StateLocked
	s.mu.Unlock()
	return err
}

// dropMemoryLocked forgets everything the store keeps in memory of patient
// data: the search index (and any other in-memory index: add it here and
// build it in activate). It needs s.mu held for writing.
func (s *Store) dropMemoryLocked() {
	s.idx = newIndex()
	s.reqs = newRequestIndex() // Message-IDs and statuses of booking requests
}

// encryptProgress is where encrypting a plaintext file resumes: the next
// bucket (by name, in bbolt's order) and the last key sealed in it.
type encryptProgress struct {
	Bucket string `json:"bucket"`
	After  []byte `json:"after,omitempty"`
}

// encryptInPlace seals, with the data key in the keyring, every value a
// plaintext file held, resuming where the progress marker in meta says.
// Each batch is one transaction that also moves the marker, so a crash
// loses nothing and seals nothing twice.
func (s *Store) encryptInPlace() error {
	for batch := 1; ; batch++ {
		done, err := s.encryptBatch()
		if err != nil {
			return &Error{Msg: "cannot encrypt the clinic database: " + err.Error(), Kind: ErrUnreadable}
		}
		if done {
			return nil
		}
		if encryptBatchHook != nil {
			if err := encryptBatchHook(batch); err != nil {
				return err
			}
		}
	}
}

func (s *Store) encryptBatch() (done bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			done = true
			return nil
		}
		raw := meta.Get(keyEncryptProgress)
		if raw == nil {
			done = true
			return nil
		}
		var p encryptProgress
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("the progress marker is damaged: %v", err)
		}
		var names []string
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			for _, u := range unsealedBuckets {
				if bytes.Equal(u, name) {
					return nil
				}
			}
			names = append(names, string(name))
			return nil
		})
		n := 0
		for _, name := range names {
			if name < p.Bucket {
				continue
			}
			b := tx.Bucket([]byte(name))
			c := b.Cursor()
			var k, v []byte
			if name == p.Bucket && p.After != nil {
				k, v = c.Seek(p.After)
				if k != nil && bytes.Equal(k, p.After) {
					k, v = c.Next()
				}
			} else {
				k, v = c.First()
			}
			type kv struct{ k, v []byte }
			var batch []kv
			for ; k != nil && n < encryptBatchSize; k, v = c.Next() {
				if v == nil || (name == string(bucketMeta) && slices.ContainsFunc(unsealedMetaKeys, func(u []byte) bool { return bytes.Equal(u, k) })) {
					continue
				}
				sealed, err := s.sealBytes(v)
				if err != nil {
					return err
				}
				batch = append(batch, kv{append([]byte(nil), k...), sealed})
				n++
			}
			for _, e := range batch {
				if err := b.Put(e.k, e.v); err != nil {
					return err
				}
			}
			if n >= encryptBatchSize {
				next, _ := json.Marshal(encryptProgress{Bucket: name, After: batch[len(batch)-1].k})
				return meta.Put(keyEncryptProgress, next)
			}
		}
		done = true
		if err := meta.Delete(keyEncryptProgress); err != nil {
			return err
		}
		return meta.Put(keyCompactPending, []byte{1})
	})
	return done, err
}

// compactIfPending copies the file into a fresh one after a plaintext file
// was encrypted, since bbolt's free pages still hold the old plaintext; the
// copy replaces the file by rename. A crash before the rename leaves the
// marker in place and the next Unlock does it again.
func (s *Store) compactIfPending() error {
	pending := false
	s.db.View(func(tx *bolt.Tx) error {
		pending = tx.Bucket(bucketMeta) != nil && tx.Bucket(bucketMeta).Get(keyCompactPending) != nil
		return nil
	})
	if !pending {
		return nil
	}
	fail := func(err error) error {
		return &Error{Msg: "cannot compact the clinic database after encrypting it: " + err.Error(), Kind: ErrUnreadable}
	}
	tmp := s.path + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: s.opts.Timeout})
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp)
	if err := bolt.Compact(dst, s.db, 16<<20); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyCompactPending) }); err != nil {
		dst.Close()
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		return fail(err)
	}
	if err := s.db.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fail(err)
	}
	syncDir(filepath.Dir(s.path))
	db, err := openBolt(s.path, s.opts.Timeout)
	if err != nil {
		return fail(err)
	}
	s.db = db
	return nil
}

// syncDir makes a rename in dir durable (best effort: not every system
// can sync a folder).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// ReplaceRecoveryKey makes a new recovery key and forgets the old one (an
// admin only; the key is shown once). Use it when the paper is lost or
// after a Setup that was interrupted before the key was shown.
func (s *Store) ReplaceRecoveryKey() (string, error) {
	if err := s.requireAdmin(); err != nil {
		return "", err
	}
	dataKey := s.keyring.dataKey()
	if dataKey == nil {
		return "", errLockedSeal
	}
	defer clear(dataKey)
	display, raw := newRecoveryKey()
	w, err := wrapKey(dataKey, raw, kdfHKDF, purposeRecovery)
	if err != nil {
		return "", err
	}
	wrapJSON, _ := json.Marshal(w)
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketKeyring).Put(keyRecoveryWrap, wrapJSON); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionNewRecoveryKey})
	})
	if err != nil {
		return "", err
	}
	return display, nil
}
