package storage

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Backups are copies of the whole file, made online in one read transaction
// (bbolt Tx.WriteTo), so they are consistent and stay encrypted: a backup
// opens with the passwords and the recovery key that were valid when it
// was made (an account disabled since still opens an older backup).

// backupTimeLayout names backups frontdesk-YYYYMMDD-HHMMSS.db (local time).
const backupTimeLayout = "20060102-150405"

var backupNameRE = regexp.MustCompile(`^frontdesk-(\d{8}-\d{6})(-\d+)?\.db$`)

// BackupReport says what a backup holds. The counts were read back from
// the copy, every record unsealed, before it got its name.
type BackupReport struct {
	Path        string
	Bytes       int64
	Patients    int
	Intakes     int
	AuditEvents int
	Removed     []string // older backups deleted to keep the last N
	Took        time.Duration
}

// BackupFile is one backup in a folder.
type BackupFile struct {
	Path  string
	Time  time.Time // from the name, local time
	Bytes int64
	seq   int // the -N of a second backup within the same second
}

// Backup copies the open store into destDir as frontdesk-YYYYMMDD-HHMMSS.db
// while it stays in use, then verifies the copy: bbolt's integrity check,
// and every patient and intake unsealed with the data key in memory and
// counted against the store. Only a verified copy gets its name (written to
// a temporary file, synced, renamed). Then only the newest keep backups are
// kept (keep ≤ 0 keeps all); nothing but files named like backups is ever
// deleted. The store must be unlocked (any staff role may back up).
func (s *Store) Backup(destDir string, keep int) (string, BackupReport, error) {
	start := time.Now()
	var rep BackupReport
	if s.State() != StateUnlocked {
		return "", rep, errLockedSeal
	}
	fail := func(err error) (string, BackupReport, error) {
		if _, ok := err.(*Error); ok {
			return "", rep, err
		}
		return "", rep, &Error{Msg: "the backup failed: " + err.Error(), Kind: ErrUnreadable}
	}
	if err := os.MkdirAll(destDir, 0o700); err != nil {
		return fail(err)
	}
	tmp, err := os.CreateTemp(destDir, ".frontdesk-backup-*.tmp")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name())
	var want fileCounts
	err = s.db.View(func(tx *bolt.Tx) error {
		want = countRecords(tx)
		_, err := tx.WriteTo(tmp)
		return err
	})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	got, err := verifyFile(tmp.Name(), s.sealer)
	if err != nil {
		return fail(err)
	}
	if got != want {
		return fail(fmt.Errorf("the copy holds %d patients and %d intakes, the store %d and %d", got.patients, got.intakes, want.patients, want.intakes))
	}
	path := filepath.Join(destDir, "frontdesk-"+time.Now().Format(backupTimeLayout)+".db")
	for i := 2; fileExists(path); i++ {
		path = filepath.Join(destDir, fmt.Sprintf("frontdesk-%s-%d.db", time.Now().Format(backupTimeLayout), i))
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	syncDir(destDir)
	fi, _ := os.Stat(path)
	rep = BackupReport{Path: path, Bytes: fi.Size(), Patients: got.patients, Intakes: got.intakes, AuditEvents: got.audit}
	if keep > 0 {
		files, err := BackupFiles(destDir)
		if err != nil {
			return fail(err)
		}
		for _, f := range files[min(keep, len(files)):] {
			if err := os.Remove(f.Path); err != nil {
				return fail(err)
			}
			rep.Removed = append(rep.Removed, f.Path)
		}
	}
	rep.Took = time.Since(start)
	err = s.Audit(AuditEvent{Action: ActionBackup, Detail: fmt.Sprintf("%s: %d patients, %d intakes", filepath.Base(path), rep.Patients, rep.Intakes)})
	return path, rep, err
}

// BackupFiles lists the backups in dir, newest first.
func BackupFiles(dir string) ([]BackupFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{Msg: "cannot list the backup folder: " + err.Error(), Kind: ErrNotFound}
	}
	var out []BackupFile
	for _, e := range entries {
		m := backupNameRE.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		t, err := time.ParseInLocation(backupTimeLayout, m[1], time.Local)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		seq := 1
		if m[2] != "" {
			seq, _ = strconv.Atoi(m[2][1:])
		}
		out = append(out, BackupFile{Path: filepath.Join(dir, e.Name()), Time: t, Bytes: fi.Size(), seq: seq})
	}
	slices.SortFunc(out, func(a, b BackupFile) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	return out, nil
}

// BackupDue reports whether a scheduled backup should run now: never made,
// or the last one is at least every old. every ≤ 0 means no schedule.
func BackupDue(last time.Time, every time.Duration, now time.Time) bool {
	return every > 0 && (last.IsZero() || now.Sub(last) >= every)
}

type fileCounts struct{ patients, intakes, audit int }

func countRecords(tx *bolt.Tx) fileCounts {
	n := func(name []byte) int {
		if b := tx.Bucket(name); b != nil {
			return b.Stats().KeyN
		}
		return 0
	}
	return fileCounts{n(bucketPatients), n(bucketIntakes), n(bucketAudit)}
}

// verifyFile opens a copy of the store read-only, runs bbolt's integrity
// check and unseals and decodes every patient and intake with sealer.
//
// A damaged file can make bbolt panic; the walk runs first, in this
// goroutine, where the panic is recovered, so that Check (which runs in a
// goroutine of its own) only sees pages the walk has read.
func verifyFile(path string, sealer Sealer) (c fileCounts, err error) {
	defer recoverDamage(&err)
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return c, &Error{Msg: "the backup cannot be opened: " + err.Error(), Kind: ErrUnreadable}
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("the backup is not a Front Desk database (no %s bucket)", name)
			}
		}
		check := func(bucket []byte, what string, v any) (int, error) {
			n := 0
			err := tx.Bucket(bucket).ForEach(func(k, raw []byte) error {
				plain, err := sealer.Unseal(raw)
				if err != nil {
					return fmt.Errorf("%s %d in the backup cannot be unsealed: %v", what, btoi(k), err)
				}
				if err := json.Unmarshal(plain, v); err != nil {
					return fmt.Errorf("%s %d in the backup is damaged: %v", what, btoi(k), err)
				}
				n++
				return nil
			})
			return n, err
		}
		if c.patients, err = check(bucketPatients, "patient", new(Patient)); err != nil {
			return err
		}
		if c.intakes, err = check(bucketIntakes, "intake", new(Intake)); err != nil {
			return err
		}
		if b := tx.Bucket(bucketAudit); b != nil {
			if c.audit, err = check(bucketAudit, "audit event", new(AuditEvent)); err != nil {
				return err
			}
		}
		// Read every other value too, so that Check meets no page unread.
		err = tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error { return nil })
		})
		if err != nil {
			return err
		}
		for err := range tx.Check() {
			return fmt.Errorf("the backup is damaged: %v", err)
		}
		return nil
	})
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return c, err
		}
		return c, &Error{Msg: err.Error(), Kind: ErrUnreadable}
	}
	return c, nil
}

// Credentials open an encrypted backup in Restore: a staff name and
// password valid when the backup was made, or the recovery key.
type Credentials struct {
	User, Password string
	RecoveryKey    string
}

// RestoreReport says what Restore did.
type RestoreReport struct {
	Restored  string // the backup file
	KeptAside string // where the store that was replaced now is ("" if there was none)
	Patients  int
	Intakes   int
}

// Restore replaces the store in dataDir with a backup. The store must be
// closed (Front Desk closes it first; another running Front Desk makes this
// fail with ErrInUse). The backup is copied into dataDir and that copy is
// verified (integrity check; every patient and intake unsealed with the key
// cred unwraps from the backup itself) before anything is replaced; then
// the current file is renamed frontdesk.db.before-restore-YYYYMMDD-HHMMSS
// and the copy takes its place. The restore is recorded in the restored
// store's audit log, as cred's user.
func Restore(dataDir, backupPath string, cred Credentials) (RestoreReport, error) {
	rep := RestoreReport{Restored: backupPath}
	fail := func(err error) (RestoreReport, error) {
		var se *Error
		if errors.As(err, &se) || errors.Is(err, ErrInUse) {
			return rep, err
		}
		return rep, &Error{Msg: "cannot restore the backup: " + err.Error(), Kind: ErrUnreadable}
	}
	current := filepath.Join(dataDir, FileName)
	if fileExists(current) {
		db, err := bolt.Open(current, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			if errors.Is(err, bolterrors.ErrTimeout) {
				return fail(ErrInUse)
			}
			return fail(err)
		}
		db.Close()
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fail(err)
	}
	tmp, err := copyToTemp(backupPath, dataDir)
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp)
	sealer, err := unlockFile(tmp, cred)
	if err != nil {
		return fail(err)
	}
	counts, err := verifyFile(tmp, sealer)
	if err != nil {
		return fail(err)
	}
	rep.Patients, rep.Intakes = counts.patients, counts.intakes
	if fileExists(current) {
		rep.KeptAside = current + ".before-restore-" + time.Now().Format(backupTimeLayout)
		if err := os.Rename(current, rep.KeptAside); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, current); err != nil {
		return fail(err)
	}
	syncDir(dataDir)

	s, err := Open(dataDir, Options{Plaintext: true})
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	if s.Encrypted() {
		if cred.RecoveryKey != "" {
			_, err = s.UnlockWithRecoveryKey(cred.RecoveryKey)
		} else {
			_, err = s.Unlock(cred.User, cred.Password)
		}
		if err != nil {
			return fail(err)
		}
	}
	err = s.Audit(AuditEvent{Action: ActionRestore, Detail: fmt.Sprintf("from %s: %d patients, %d intakes", filepath.Base(backupPath), rep.Patients, rep.Intakes)})
	return rep, err
}

// unlockFile returns the sealer that reads the store file at path: the
// identity for a plaintext file, else the data key cred unwraps from the
// file's own keyring.
func unlockFile(path string, cred Credentials) (_ Sealer, err error) {
	defer recoverDamage(&err)
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, &Error{Msg: "the backup cannot be opened: " + err.Error(), Kind: ErrUnreadable}
	}
	defer db.Close()
	var dataKey []byte
	err = db.View(func(tx *bolt.Tx) error {
		kr := tx.Bucket(bucketKeyring)
		if kr == nil || kr.Get(keyRecoveryWrap) == nil {
			return nil
		}
		var w *wrappedKey
		purpose := purposeRecovery
		secret := []byte(cred.Password)
		if cred.RecoveryKey != "" {
			raw, ok := parseRecoveryKey(cred.RecoveryKey)
			if !ok {
				return &Error{Msg: "that is not a recovery key; check every group of characters", Kind: ErrWrongPassword}
			}
			secret, w = raw, new(wrappedKey)
			if err := json.Unmarshal(kr.Get(keyRecoveryWrap), w); err != nil {
				return err
			}
		} else {
			rec, ok, err := unsafeUserByName(tx, cred.User)
			if err != nil {
				return err
			}
			if !ok || rec.Wrap == nil {
				return &Error{Msg: "the name or password is wrong for this backup (use a password that was valid when it was made, or the recovery key)", Kind: ErrWrongPassword}
			}
			w, purpose = rec.Wrap, purposeUser(rec.ID)
		}
		dataKey, err = w.unwrap(secret, purpose)
		if err != nil {
			return &Error{Msg: "the name or password is wrong for this backup (use a password that was valid when it was made, or the recovery key)", Kind: ErrWrongPassword}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if dataKey == nil {
		return identitySealer{}, nil
	}
	k := &keyring{}
	return k, k.set(dataKey)
}

func copyToTemp(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".frontdesk-restore-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(out.Name(), 0o600)
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// recoverDamage turns a panic of bbolt over a damaged file into an error.
func recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = &Error{Msg: fmt.Sprintf("the backup is damaged: %v", r), Kind: ErrUnreadable}
	}
}
