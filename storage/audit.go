package storage

import (
	"crypto/ecdh"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditAction is what a staff member did.
type AuditAction string

// The actions the audit log records. The store records the ones it sees
// itself (creates, updates, deletes, imports, exports, settings, sign-in,
// failed sign-in, lock, staff accounts, backups, restores); the caller
// records views and prints with Audit.
const (
	ActionViewPatient    AuditAction = "view-patient"
	ActionViewIntake     AuditAction = "view-intake"
	ActionCreate         AuditAction = "create"
	ActionUpdate         AuditAction = "update"
	ActionDelete         AuditAction = "delete"
	ActionPrint          AuditAction = "print"
	ActionExport         AuditAction = "export"
	ActionImport         AuditAction = "import"
	ActionSignIn         AuditAction = "sign-in"
	ActionFailedSignIn   AuditAction = "failed-sign-in"
	ActionLock           AuditAction = "lock"
	ActionBackup         AuditAction = "backup"
	ActionRestore        AuditAction = "restore"
	ActionSetup          AuditAction = "setup"
	ActionAddUser        AuditAction = "add-user"
	ActionDisableUser    AuditAction = "disable-user"
	ActionResetPassword  AuditAction = "reset-password"
	ActionChangePassword AuditAction = "change-password"
	ActionNewRecoveryKey AuditAction = "new-recovery-key"
)

// Record kinds an audit event names.
const (
	RecordPatient  = "patient"
	RecordIntake   = "intake"
	RecordSettings = "settings"
	RecordStaff    = "staff"
)

// AuditEvent is one entry of the audit log: who did what to which record,
// when. Detail never holds patient data beyond what the record ID gives
// (counts, file names, a staff name).
type AuditEvent struct {
	ID         uint64      `json:"id"`
	Time       time.Time   `json:"time"`
	User       string      `json:"user"` // staff name; "" on a Plaintext store
	Action     AuditAction `json:"action"`
	RecordKind string      `json:"record_kind,omitempty"` // "patient", "intake", "settings", "staff", …
	RecordID   uint64      `json:"record_id,omitempty"`
	Detail     string      `json:"detail,omitempty"`
}

// updateCoalesce: an update by the same person to the same record within
// this time of their last event is not logged again, so that an intake
// saved as it is typed makes one entry per sitting, not one per keystroke.
const updateCoalesce = 10 * time.Minute

// Audit appends an event to the audit log, filling in Time (now) and User
// (the signed-in staff member) when empty. Views and prints are the
// caller's to record. While the store is locked the event is sealed to the
// audit public key and moved into the log at the next sign-in. The log is
// append-only: there is no way to change or delete an event.
func (s *Store) Audit(ev AuditEvent) error {
	if s.keyring != nil && !s.keyring.unlocked() {
		return s.auditWhileLocked(ev)
	}
	return s.db.Update(func(tx *bolt.Tx) error { return s.unsafeAudit(tx, ev) })
}

// unsafeAudit appends ev to the log. It needs a write transaction; the
// store must be unlocked.
func (s *Store) unsafeAudit(tx *bolt.Tx, ev AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = timeNow()
	}
	ev.Time = ev.Time.UTC()
	if ev.User == "" {
		if u, ok := s.CurrentUser(); ok {
			ev.User = u.Name
		}
	}
	b, err := tx.CreateBucketIfNotExists(bucketAudit)
	if err != nil {
		return err
	}
	appendOnly(b)
	if ev.Action == ActionUpdate && ev.RecordID != 0 {
		if k, v := b.Cursor().Last(); k != nil {
			var last AuditEvent
			if s.unseal(v, &last, "audit event", btoi(k)) == nil && last.User == ev.User && last.Action == ev.Action &&
				last.RecordKind == ev.RecordKind && last.RecordID == ev.RecordID && ev.Time.Sub(last.Time) < updateCoalesce {
				return nil
			}
		}
	}
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	ev.ID = id
	sealed, err := s.seal(ev)
	if err != nil {
		return err
	}
	return b.Put(itob(id), sealed)
}

// auditWhileLocked keeps ev sealed to the audit public key until the next
// unlock. Best effort: a sign-in screen must not fail because of it.
func (s *Store) auditWhileLocked(ev AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = timeNow()
	}
	ev.Time = ev.Time.UTC()
	plain, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		kr := tx.Bucket(bucketKeyring)
		if kr == nil {
			return nil
		}
		pub, err := ecdh.X25519().NewPublicKey(kr.Get(keyAuditPublic))
		if err != nil {
			return &Error{Msg: "the audit key is damaged: " + err.Error(), Kind: ErrUnreadable}
		}
		boxed, err := sealToPublic(pub, plain)
		if err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketAuditPending)
		if err != nil {
			return err
		}
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(itob(id), boxed)
	})
}

// unsafeDrainPendingAudit moves the events written while locked into the
// log. It needs a write transaction and the data key.
func (s *Store) unsafeDrainPendingAudit(tx *bolt.Tx) error {
	pending := tx.Bucket(bucketAuditPending)
	if pending == nil || pending.Stats().KeyN == 0 {
		return nil
	}
	var privBytes []byte
	var err error
	if raw := tx.Bucket(bucketKeyring).Get(keyAuditPrivate); raw != nil {
		privBytes, err = s.sealer.Unseal(raw)
	}
	if err != nil || privBytes == nil {
		return &Error{Msg: "cannot read the audit key", Kind: ErrUnreadable}
	}
	priv, err := ecdh.X25519().NewPrivateKey(privBytes)
	if err != nil {
		return &Error{Msg: "the audit key is damaged: " + err.Error(), Kind: ErrUnreadable}
	}
	var events []AuditEvent
	err = pending.ForEach(func(k, v []byte) error {
		var ev AuditEvent
		plain, err := openFromPublic(priv, v)
		if err == nil {
			err = json.Unmarshal(plain, &ev)
		}
		if err != nil {
			ev = AuditEvent{Time: timeNow(), Action: ActionFailedSignIn, Detail: "an event written while locked is damaged and could not be read"}
		}
		events = append(events, ev)
		return nil
	})
	if err != nil {
		return err
	}
	for _, ev := range events {
		if err := s.unsafeAudit(tx, ev); err != nil {
			return err
		}
	}
	return tx.DeleteBucket(bucketAuditPending)
}

// AuditFilter picks audit events; zero fields match everything.
type AuditFilter struct {
	User       string      // staff name, exactly
	Action     AuditAction // one action
	RecordKind string      // "patient", "intake", …
	RecordID   uint64      // with RecordKind: one record
	From, To   time.Time   // From ≤ Time < To
	Limit      int         // at most this many, newest first; 0 for all
}

func (f AuditFilter) match(ev *AuditEvent) bool {
	return (f.User == "" || ev.User == f.User) && (f.Action == "" || ev.Action == f.Action) &&
		(f.RecordKind == "" || ev.RecordKind == f.RecordKind) && (f.RecordID == 0 || ev.RecordID == f.RecordID) &&
		(f.From.IsZero() || !ev.Time.Before(f.From)) && (f.To.IsZero() || ev.Time.Before(f.To))
}

// AuditEvents returns the events f picks, newest first (an admin only).
func (s *Store) AuditEvents(f AuditFilter) ([]AuditEvent, error) {
	if err := s.requireAdmin(); err != nil {
		return nil, err
	}
	out := []AuditEvent{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var ev AuditEvent
			if err := s.unseal(v, &ev, "audit event", btoi(k)); err != nil {
				return err
			}
			if f.match(&ev) {
				out = append(out, ev)
				if f.Limit > 0 && len(out) == f.Limit {
					return nil
				}
			}
		}
		return nil
	})
	return out, err
}

// WriteAuditCSV writes the events f picks as CSV (an admin only), oldest
// first, with a header row: id,time,user,action,record_kind,record_id,detail.
// Times are RFC 3339 in UTC.
func (s *Store) WriteAuditCSV(w io.Writer, f AuditFilter) error {
	events, err := s.AuditEvents(f)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "time", "user", "action", "record_kind", "record_id", "detail"})
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		rid := ""
		if ev.RecordID != 0 {
			rid = strconv.FormatUint(ev.RecordID, 10)
		}
		cw.Write([]string{strconv.FormatUint(ev.ID, 10), ev.Time.Format(time.RFC3339), ev.User, string(ev.Action), ev.RecordKind, rid, csvSafe(ev.Detail)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
