package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontdesk/forms"
)

// Tests derive password keys with cheap Argon2id parameters; the
// benchmarks put the real ones back (realPasswordKDF).
var realPasswordKDF = passwordKDF

func init() { passwordKDF = argonParams{Time: 1, MemoryKiB: 256, Threads: 1} }

const (
	adminName = "Maya Admin"
	adminPass = "correct horse battery"
)

// newEncryptedStore opens a new default (encrypted) store, sets it up with
// an admin and returns it unlocked with the recovery key.
func newEncryptedStore(t testing.TB, dir string) (*Store, string) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.State(); st != StateNeedsSetup {
		t.Fatalf("a new store opened %v, want needs set-up", st)
	}
	key, err := s.Setup(adminName, adminPass)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return s, key
}

func reopen(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var zoe = Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14", Email: "zoe.nguyen@example.com",
	Phones: []Phone{{Label: "mobile", Number: "(555) 123-4567"}}}

func TestNewStoreIsEncryptedAndLocksAfterSetup(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := zoe
	if err := s.CreatePatient(&p); !errors.Is(err, ErrLocked) {
		t.Fatalf("CreatePatient before set-up: %v, want ErrLocked", err)
	}
	if _, err := s.Unlock(adminName, adminPass); !errors.Is(err, ErrNeedsSetup) {
		t.Errorf("Unlock before set-up: %v, want ErrNeedsSetup", err)
	}
	if _, err := s.Setup("", "short"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Setup with no name and a short password: %v", err)
	}
	key, err := s.Setup(adminName, adminPass)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$`).MatchString(key) {
		t.Errorf("recovery key %q is not 8 groups of 4", key)
	}
	if u, ok := s.CurrentUser(); !ok || u.Name != adminName || u.Role != RoleAdmin {
		t.Errorf("after set-up the current user is %+v, %v", u, ok)
	}
	if _, err := s.Setup("Other", adminPass); !errors.Is(err, ErrAlreadySetUp) {
		t.Errorf("second Setup: %v", err)
	}
	mustCreate(t, s, p)
	in := Intake{PatientID: 1, Answers: forms.Answers{"visit-reason": forms.Text("sciatica")}}
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = reopen(t, dir)
	if st := s.State(); st != StateLocked {
		t.Fatalf("reopened: %v, want locked", st)
	}
	checkLocked(t, s)

	tests := []struct {
		name, user, pass string
		want             error
	}{
		{"wrong password", adminName, "not the password", ErrWrongPassword},
		{"unknown name", "Nobody", adminPass, ErrWrongPassword},
		{"empty password", adminName, "", ErrWrongPassword},
	}
	for _, tt := range tests {
		if _, err := s.Unlock(tt.user, tt.pass); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if s.State() != StateLocked {
			t.Errorf("%s unlocked the store", tt.name)
		}
	}
	u, err := s.Unlock("  maya ADMIN ", adminPass)
	if err != nil {
		t.Fatalf("Unlock with the name typed in another case: %v", err)
	}
	if u.Name != adminName {
		t.Errorf("signed in as %q", u.Name)
	}
	checkUnlocked(t, s)

	if err := s.Lock(); err != nil {
		t.Fatal(err)
	}
	checkLocked(t, s)
	if _, err := s.UnlockWithRecoveryKey("AAAA-BBBB"); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong recovery key: %v", err)
	}
	typed := strings.ToLower(strings.ReplaceAll(key, "-", " "))
	if u, err := s.UnlockWithRecoveryKey(typed); err != nil || u.Name != RecoveryUserName || u.Role != RoleAdmin {
		t.Fatalf("UnlockWithRecoveryKey(%q) = %+v, %v", typed, u, err)
	}
	checkUnlocked(t, s)
}

func checkLocked(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.Patient(1); !errors.Is(err, ErrLocked) {
		t.Errorf("Patient(1) while locked: %v, want ErrLocked", err)
	}
	if _, err := s.IntakesFor(1); err == nil && s.PatientCount() != 0 {
		t.Error("IntakesFor while locked")
	}
	if got := s.Search("zoe", 5); len(got) != 0 {
		t.Errorf("Search while locked found %d", len(got))
	}
	if n := s.PatientCount(); n != 0 {
		t.Errorf("PatientCount while locked = %d", n)
	}
	if ids, err := s.ListPatients(0, 10); len(ids) != 0 || err != nil {
		t.Errorf("ListPatients while locked = %v, %v", ids, err)
	}
	p := Patient{GivenName: "Ana", FamilyName: "Silva", DateOfBirth: "1970-01-02"}
	if err := s.CreatePatient(&p); !errors.Is(err, ErrLocked) {
		t.Errorf("CreatePatient while locked: %v", err)
	}
	if s.keyring.dataKey() != nil {
		t.Error("the data key is still in memory")
	}
}

func checkUnlocked(t *testing.T, s *Store) {
	t.Helper()
	if s.State() != StateUnlocked {
		t.Fatalf("state %v", s.State())
	}
	if got := s.Search("zoe nguyen", 5); len(got) != 1 {
		t.Errorf("Search after unlock found %d", len(got))
	}
	if p, err := s.Patient(1); err != nil || p.Email != zoe.Email {
		t.Errorf("Patient(1) = %+v, %v", p, err)
	}
	if ins, err := s.IntakesFor(1); err != nil || len(ins) != 1 {
		t.Errorf("IntakesFor(1) = %d, %v", len(ins), err)
	}
}

func TestWrongPasswordsGrowADelay(t *testing.T) {
	dir := t.TempDir()
	s, _ := newEncryptedStore(t, dir)
	s.Close()
	s = reopen(t, dir)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	timeNow = func() time.Time { return now }
	defer func() { timeNow = time.Now }()
	for i := 1; i <= 3; i++ {
		if _, err := s.Unlock(adminName, "wrong"); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	_, err := s.Unlock(adminName, adminPass)
	var delay *SignInDelayError
	if !errors.As(err, &delay) || !errors.Is(err, ErrTooManyAttempts) || delay.Wait != time.Second {
		t.Fatalf("right password right after 3 wrong ones: %v, want a 1 s wait", err)
	}
	now = now.Add(time.Second)
	s.Unlock(adminName, "wrong again") // 4th: 2 s
	now = now.Add(time.Second)
	if _, err := s.Unlock(adminName, adminPass); !errors.As(err, &delay) || delay.Wait != time.Second {
		t.Fatalf("after the 4th wrong password: %v, want 1 s more of a 2 s wait", err)
	}
	now = now.Add(time.Second)
	if _, err := s.Unlock(adminName, adminPass); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
	users, _ := s.Users()
	if users[0].FailedAttempts != 0 || !users[0].NextAttempt.IsZero() {
		t.Errorf("a sign-in did not clear the wrong-password count: %+v", users[0])
	}
	events, err := s.AuditEvents(AuditFilter{Action: ActionFailedSignIn})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 || events[0].User != adminName || events[0].Detail != "wrong password" {
		t.Errorf("failed sign-ins in the audit log: %+v", events)
	}
	for d, want := range map[int]time.Duration{1: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 10: 128 * time.Second, 12: 5 * time.Minute, 40: 5 * time.Minute} {
		if got := signInDelay(d); got != want {
			t.Errorf("signInDelay(%d) = %v, want %v", d, got, want)
		}
	}
}

// plaintextNeedles are the patient details of fillPlaintext, as stored.
var plaintextNeedles = []string{"Zoë", "Nguyễn", "zoe.nguyen@example.com", "1986-03-14", "Petrovskaya", "sciatica"}

// fillPlaintext writes n demo patients with intakes plus Zoë to a
// plaintext store in dir.
func fillPlaintext(t *testing.T, dir string, n int) {
	t.Helper()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := mustCreate(t, s, zoe)
	in := Intake{PatientID: p.ID, Answers: forms.Answers{"visit-reason": forms.Text("sciatica since spring")}}
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, Patient{GivenName: "Olga", FamilyName: "Petrovskaya", DateOfBirth: "1977-07-07"})
	if err := s.Seed(n, 7); err != nil {
		t.Fatal(err)
	}
}

func fileHolds(t *testing.T, path string, needles []string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, n := range needles {
		if bytes.Contains(raw, []byte(n)) {
			found = append(found, n)
		}
	}
	return found
}

func TestSetupEncryptsAPlaintextStoreAndResumesAfterACrash(t *testing.T) {
	dir := t.TempDir()
	fillPlaintext(t, dir, 400)
	path := filepath.Join(dir, FileName)
	if found := fileHolds(t, path, plaintextNeedles); len(found) != len(plaintextNeedles) {
		t.Fatalf("the plaintext store does not hold the needles: %v", found)
	}

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.State() != StateNeedsSetup {
		t.Fatalf("a plaintext store opened %v, want needs set-up", s.State())
	}
	if _, err := s.Patient(1); !errors.Is(err, ErrLocked) {
		t.Errorf("a plaintext store is readable before set-up: %v", err)
	}
	// Stop the encryption after 3 batches of 100 values, as a crash would.
	encryptBatchSize = 100
	crash := errors.New("power cut")
	encryptBatchHook = func(batch int) error {
		if batch == 3 {
			return crash
		}
		return nil
	}
	defer func() { encryptBatchSize, encryptBatchHook = 2000, nil }()
	if _, err := s.Setup(adminName, adminPass); !errors.Is(err, crash) {
		t.Fatalf("Setup with a crash part-way: %v", err)
	}
	s.Close()
	encryptBatchHook = nil

	s = reopen(t, dir)
	if s.State() != StateLocked {
		t.Fatalf("after an interrupted set-up the store is %v, want locked", s.State())
	}
	if _, err := s.Unlock(adminName, adminPass); err != nil {
		t.Fatalf("Unlock after an interrupted set-up: %v", err)
	}
	if n := s.PatientCount(); n != 402 {
		t.Errorf("after resuming, %d patients, want 402", n)
	}
	if got := s.Search("zoe nguyen", 5); len(got) != 1 || got[0].Patient.Email != zoe.Email {
		t.Errorf("search after resuming: %v", got)
	}
	ins, err := s.IntakesFor(1)
	if err != nil || len(ins) != 1 || ins[0].Answers["visit-reason"].Text != "sciatica since spring" {
		t.Errorf("Zoë's intake after resuming: %+v, %v", ins, err)
	}
	all, err := s.ListPatients(0, 1000)
	if err != nil || len(all) != 402 {
		t.Errorf("ListPatients: %d, %v", len(all), err)
	}
	if _, err := s.ReplaceRecoveryKey(); err != nil {
		t.Errorf("a new recovery key after the interrupted set-up: %v", err)
	}
	s.Close()
	if found := fileHolds(t, path, plaintextNeedles); len(found) > 0 {
		t.Errorf("after encryption the file still holds %q (free pages not compacted?)", found)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("the compaction's temporary file was left: %v", err)
	}
	// Every value outside the key buckets is sealed: none parses as plaintext.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keyEncryptProgress) != nil || tx.Bucket(bucketMeta).Get(keyCompactPending) != nil {
			t.Error("the progress markers are still in meta")
		}
		return nil
	})
}

func TestPlaintextOptionLeavesAnEncryptedStoreLocked(t *testing.T) {
	dir := t.TempDir()
	s, _ := newEncryptedStore(t, dir)
	s.Close()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.State() != StateLocked || !s.Encrypted() {
		t.Errorf("Plaintext on an encrypted file: %v", s.State())
	}
}

// TestLockWhileWorking locks and unlocks while another goroutine saves and
// searches, as auto-lock does while the intake autosave runs: no save is
// half done, none slips through while locked, and -race sees no race.
func TestLockWhileWorking(t *testing.T) {
	dir := t.TempDir()
	s, _ := newEncryptedStore(t, dir)
	defer s.Close()
	done := make(chan struct{})
	saved := make(chan uint64, 1000)
	go func() {
		defer close(saved)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			p := Patient{GivenName: "Busy", FamilyName: "Writer", DateOfBirth: "1990-01-01"}
			err := s.CreatePatient(&p)
			switch {
			case err == nil:
				saved <- p.ID
			case !errors.Is(err, ErrLocked):
				t.Errorf("save %d: %v", i, err)
				return
			}
			s.Search("busy writer", 5)
			s.ListPatients(0, 5)
		}
	}()
	for range 5 {
		time.Sleep(5 * time.Millisecond)
		if err := s.Lock(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if _, err := s.Unlock(adminName, adminPass); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	n := 0
	for id := range saved {
		n++
		if _, err := s.Patient(id); err != nil {
			t.Errorf("patient %d was saved but: %v", id, err)
		}
	}
	if got := s.PatientCount(); got != n {
		t.Errorf("index holds %d patients, %d were saved", got, n)
	}
}
