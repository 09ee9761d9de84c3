package storage

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAdminsManageStaffAccounts(t *testing.T) {
	dir := t.TempDir()
	s, _ := newEncryptedStore(t, dir)
	defer func() { s.Close() }()
	mustCreate(t, s, zoe)

	rita, err := s.AddUser("Rita Reception", RoleReception, "front desk 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser("rita reception", RolePractitioner, "whatever 12"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a second account with the same name: %v", err)
	}
	invalid := []struct {
		name, pass string
		role       Role
		field      string
	}{
		{"", "long enough", RoleReception, "name"},
		{"Pat", "short", RoleReception, "password"},
		{"Pat", "long enough", "janitor", "role"},
		{RecoveryUserName, "long enough", RoleAdmin, "name"},
	}
	for _, tt := range invalid {
		var v *ValidationError
		if _, err := s.AddUser(tt.name, tt.role, tt.pass); !errors.As(err, &v) || v.Fields[0].Field != tt.field {
			t.Errorf("AddUser(%q, %q, %q): %v, want a problem with %s", tt.name, tt.role, tt.pass, err, tt.field)
		}
	}
	if _, err := s.AddUser("Dr Lin", RolePractitioner, "needles and pins"); err != nil {
		t.Fatal(err)
	}

	// A receptionist signs in: sees patients, may not manage accounts.
	if _, err := s.Unlock("Rita Reception", "front desk 1"); err != nil {
		t.Fatal(err)
	}
	if got := s.Search("zoe", 5); len(got) != 1 {
		t.Errorf("the receptionist's search found %d", len(got))
	}
	for name, call := range map[string]func() error{
		"AddUser":       func() error { _, err := s.AddUser("Eve", RoleAdmin, "long enough"); return err },
		"DisableUser":   func() error { _, err := s.DisableUser(adminName); return err },
		"ResetPassword": func() error { _, err := s.ResetPassword(adminName, "taken over!"); return err },
		"AuditEvents":   func() error { _, err := s.AuditEvents(AuditFilter{}); return err },
		"NewRecovery":   func() error { _, err := s.ReplaceRecoveryKey(); return err },
	} {
		if err := call(); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s by a receptionist: %v, want ErrNotAllowed", name, err)
		}
	}
	if err := s.ChangePassword("wrong old", "brand new pass"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("ChangePassword with a wrong old password: %v", err)
	}
	if err := s.ChangePassword("front desk 1", "brand new pass"); err != nil {
		t.Fatal(err)
	}

	// The admin disables, then resets, the receptionist.
	if _, err := s.Unlock(adminName, adminPass); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DisableUser(adminName); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("disabling the last admin: %v", err)
	}
	if u, err := s.DisableUser("rita reception"); err != nil || !u.Disabled {
		t.Fatalf("DisableUser = %+v, %v", u, err)
	}
	s.Lock()
	if _, err := s.Unlock("Rita Reception", "brand new pass"); !errors.Is(err, ErrAccountDisabled) {
		t.Errorf("a disabled account signs in: %v", err)
	}
	if _, err := s.Unlock(adminName, adminPass); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResetPassword("Rita Reception", "reset by admin"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = reopen(t, dir)
	if _, err := s.Unlock("Rita Reception", "brand new pass"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("the old password still works after a reset: %v", err)
	}
	u, err := s.Unlock("Rita Reception", "reset by admin")
	if err != nil || u.ID != rita.ID || u.Role != RoleReception {
		t.Fatalf("after the reset: %+v, %v", u, err)
	}
	if p, err := s.Patient(1); err != nil || p.GivenName != "Zoë" {
		t.Errorf("after a reset the data is %+v, %v", p, err)
	}
	users, err := s.Users()
	if err != nil || len(users) != 3 || users[0].Name != adminName || users[1].Name != "Rita Reception" || users[2].Role != RolePractitioner {
		t.Errorf("Users() = %+v, %v", users, err)
	}
}

func TestStaffRecordChangedInTheFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, _ := newEncryptedStore(t, dir)
	rita, err := s.AddUser("Rita", RoleReception, "front desk 1")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Someone with the file makes the receptionist an admin.
	writeRaw(t, filepath.Join(dir, FileName), func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		var rec map[string]any
		json.Unmarshal(b.Get(itob(rita.ID)), &rec)
		rec["role"] = "admin"
		raw, _ := json.Marshal(rec)
		return b.Put(itob(rita.ID), raw)
	})
	s = reopen(t, dir)
	if _, err := s.Unlock("Rita", "front desk 1"); err == nil || !strings.Contains(err.Error(), "changed outside Front Desk") {
		t.Errorf("a tampered account signed in: %v", err)
	}
	if s.State() != StateLocked {
		t.Error("the store unlocked")
	}
}

func TestAuditLogRecordsWhoDidWhat(t *testing.T) {
	dir := t.TempDir()
	s, _ := newEncryptedStore(t, dir)
	defer func() { s.Close() }()
	if _, err := s.AddUser("Rita", RoleReception, "front desk 1"); err != nil {
		t.Fatal(err)
	}
	s.Unlock("Rita", "front desk 1")
	p := mustCreate(t, s, zoe)
	for i := range 3 { // an autosave burst is one entry
		p.Notes = strings.Repeat("x", i+1)
		if err := s.UpdatePatient(&p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Audit(AuditEvent{Action: ActionViewPatient, RecordKind: RecordPatient, RecordID: p.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit(AuditEvent{Action: ActionPrint, RecordKind: RecordPatient, RecordID: p.ID, Detail: "blank packet"}); err != nil {
		t.Fatal(err)
	}
	s.Lock()
	s.Unlock("Rita", "not it")
	s.Unlock(adminName, adminPass)

	all, err := s.AuditEvents(AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(all) - 1; i >= 0; i-- {
		got = append(got, all[i].User+" "+string(all[i].Action))
	}
	want := []string{"Maya Admin setup", "Maya Admin add-user", "Rita sign-in", "Rita create", "Rita update", "Rita view-patient",
		"Rita print", "Rita lock", "Rita failed-sign-in", "Maya Admin sign-in"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("audit log:\n got %s\nwant %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	filters := []struct {
		name string
		f    AuditFilter
		want int
	}{
		{"by user", AuditFilter{User: "Rita"}, 7},
		{"by action", AuditFilter{Action: ActionSignIn}, 2},
		{"by record", AuditFilter{RecordKind: RecordPatient, RecordID: p.ID}, 4},
		{"from the future", AuditFilter{From: time.Now().Add(time.Hour)}, 0},
		{"until now", AuditFilter{To: time.Now().Add(time.Second)}, 10},
		{"limit", AuditFilter{Limit: 3}, 3},
	}
	for _, tt := range filters {
		evs, err := s.AuditEvents(tt.f)
		if err != nil || len(evs) != tt.want {
			t.Errorf("%s: %d events, %v; want %d", tt.name, len(evs), err, tt.want)
		}
	}
	var buf bytes.Buffer
	if err := s.WriteAuditCSV(&buf, AuditFilter{User: "Rita"}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 8 || strings.Join(rows[0], ",") != "id,time,user,action,record_kind,record_id,detail" {
		t.Fatalf("CSV: %v, %v", rows, err)
	}
	if rows[1][3] != "sign-in" || rows[7][3] != "failed-sign-in" || rows[6][6] != "" {
		t.Errorf("CSV rows: %v", rows)
	}
}
