package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackupIsVerifiedEncryptedAndKeepsTheLastN(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(t.TempDir(), "usb stick")
	s, _ := newEncryptedStore(t, dir)
	defer func() { s.Close() }()
	mustCreate(t, s, zoe)
	if err := s.Seed(50, 3); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dest, 0o700); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(dest, "frontdesk-notes.db") // not a backup name: never deleted
	os.WriteFile(notes, []byte("x"), 0o600)

	var paths []string
	for range 3 {
		path, rep, err := s.Backup(dest, 2)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Patients != 51 || rep.Intakes != 50 || rep.Path != path || rep.Bytes == 0 {
			t.Errorf("BackupReport = %+v", rep)
		}
		if !backupNameRE.MatchString(filepath.Base(path)) {
			t.Errorf("backup named %s", path)
		}
		paths = append(paths, path)
	}
	files, err := BackupFiles(dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Path != paths[2] || files[1].Path != paths[1] {
		t.Errorf("kept %+v, want the last two of %v", files, paths)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a file that is not a backup was deleted: %v", err)
	}
	if found := fileHolds(t, paths[2], []string{"Zoë", "Nguyễn", zoe.Email, zoe.DateOfBirth}); len(found) > 0 {
		t.Errorf("the backup holds %q in plain text", found)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dest, ".frontdesk-backup-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	if evs, _ := s.AuditEvents(AuditFilter{Action: ActionBackup}); len(evs) != 3 {
		t.Errorf("%d backups in the audit log", len(evs))
	}

	s.Lock()
	if _, _, err := s.Backup(dest, 2); !errors.Is(err, ErrLocked) {
		t.Errorf("Backup while locked: %v", err)
	}
}

func TestRestoreReplacesTheStoreOnlyAfterVerifying(t *testing.T) {
	dir := t.TempDir()
	dest := t.TempDir()
	s, recovery := newEncryptedStore(t, dir)
	mustCreate(t, s, zoe)
	backup, _, err := s.Backup(dest, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, Patient{GivenName: "Olga", FamilyName: "Petrovskaya", DateOfBirth: "1977-07-07"})

	if _, err := Restore(dir, backup, Credentials{User: adminName, Password: adminPass}); !errors.Is(err, ErrInUse) {
		t.Errorf("Restore while the store is open: %v", err)
	}
	s.Close()

	damaged := filepath.Join(dest, "frontdesk-20200101-000000.db")
	raw, _ := os.ReadFile(backup)
	for i := 4096 * 2; i < len(raw); i += 7 {
		raw[i] ^= 0xFF
	}
	os.WriteFile(damaged, raw, 0o600)
	tests := []struct {
		name   string
		backup string
		cred   Credentials
		want   error
	}{
		{"wrong password", backup, Credentials{User: adminName, Password: "nope nope"}, ErrWrongPassword},
		{"unknown user", backup, Credentials{User: "Nobody", Password: adminPass}, ErrWrongPassword},
		{"damaged backup", damaged, Credentials{User: adminName, Password: adminPass}, ErrUnreadable},
		{"missing backup", filepath.Join(dest, "nothing.db"), Credentials{User: adminName, Password: adminPass}, ErrUnreadable},
	}
	for _, tt := range tests {
		if _, err := Restore(dir, tt.backup, tt.cred); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		s = reopen(t, dir)
		if _, err := s.Unlock(adminName, adminPass); err != nil || s.PatientCount() != 2 {
			t.Errorf("after a refused restore (%s) the store has %d patients, %v", tt.name, s.PatientCount(), err)
		}
		s.Close()
	}

	rep, err := Restore(dir, backup, Credentials{RecoveryKey: recovery})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Patients != 1 || !strings.Contains(rep.KeptAside, "frontdesk.db.before-restore-") {
		t.Errorf("RestoreReport = %+v", rep)
	}
	if _, err := os.Stat(rep.KeptAside); err != nil {
		t.Errorf("the replaced store was not kept: %v", err)
	}
	s = reopen(t, dir)
	if _, err := s.Unlock(adminName, adminPass); err != nil {
		t.Fatal(err)
	}
	if n := s.PatientCount(); n != 1 || len(s.Search("olga", 5)) != 0 {
		t.Errorf("after the restore: %d patients", n)
	}
	if evs, _ := s.AuditEvents(AuditFilter{Action: ActionRestore}); len(evs) != 1 || evs[0].User != RecoveryUserName {
		t.Errorf("restore in the audit log: %+v", evs)
	}
}

func TestBackupDue(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		last  time.Time
		every time.Duration
		want  bool
	}{
		{time.Time{}, 24 * time.Hour, true},
		{now.Add(-25 * time.Hour), 24 * time.Hour, true},
		{now.Add(-time.Hour), 24 * time.Hour, false},
		{time.Time{}, 0, false},
	}
	for _, tt := range tests {
		if got := BackupDue(tt.last, tt.every, now); got != tt.want {
			t.Errorf("BackupDue(%v, %v) = %v", tt.last, tt.every, got)
		}
	}
}

func TestSignInAndBackupSettings(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	set, err := s.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if set.AutoLockMinutes != 10 || set.BackupEveryHours != 24 || set.BackupKeep != 14 || set.BackupDir != "" {
		t.Errorf("defaults: %+v", set)
	}
	tests := []struct {
		edit  func(*Settings)
		field string
	}{
		{func(s *Settings) { s.AutoLockMinutes = 241 }, "auto_lock_minutes"},
		{func(s *Settings) { s.AutoLockMinutes = -1 }, "auto_lock_minutes"},
		{func(s *Settings) { s.BackupEveryHours = 24*30 + 1 }, "backup_every_hours"},
		{func(s *Settings) { s.BackupKeep = -3 }, "backup_keep"},
	}
	for _, tt := range tests {
		bad := set
		tt.edit(&bad)
		var v *ValidationError
		if err := s.SaveSettings(bad); !errors.As(err, &v) || v.Fields[0].Field != tt.field {
			t.Errorf("%+v: %v, want a problem with %s", bad, err, tt.field)
		}
	}
	set.AutoLockMinutes, set.BackupDir, set.BackupKeep = 5, "/media/usb", 3
	if err := s.SaveSettings(set); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Settings(); got.AutoLockMinutes != 5 || got.BackupDir != "/media/usb" || got.BackupKeep != 3 {
		t.Errorf("saved: %+v", got)
	}
}

func TestRemoveOldPackets(t *testing.T) {
	dir := t.TempDir()
	if n, err := RemoveOldPackets(dir, 0); n != 0 || err != nil {
		t.Errorf("no packets folder: %d, %v", n, err)
	}
	pk := PacketsDir(dir)
	os.MkdirAll(pk, 0o700)
	old := time.Now().Add(-72 * time.Hour)
	for name, mod := range map[string]time.Time{"old-intake.pdf": old, ".packet-1.tmp": old, "new-intake.pdf": time.Now(), "notes.txt": old} {
		path := filepath.Join(pk, name)
		os.WriteFile(path, []byte("%PDF"), 0o600)
		os.Chtimes(path, mod, mod)
	}
	tests := []struct {
		olderThan time.Duration
		removed   int
		left      []string
	}{
		{48 * time.Hour, 2, []string{"new-intake.pdf", "notes.txt"}},
		{0, 1, []string{"notes.txt"}},
	}
	for _, tt := range tests {
		n, err := RemoveOldPackets(dir, tt.olderThan)
		entries, _ := os.ReadDir(pk)
		var left []string
		for _, e := range entries {
			left = append(left, e.Name())
		}
		if err != nil || n != tt.removed || strings.Join(left, ",") != strings.Join(tt.left, ",") {
			t.Errorf("RemoveOldPackets(%v) = %d, %v; left %v, want %d and %v", tt.olderThan, n, err, left, tt.removed, tt.left)
		}
	}
}
