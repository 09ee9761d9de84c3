package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontdesk/forms"
)

// openTestStore opens a store in a fresh temp folder, closed when the test ends.
func openTestStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t testing.TB, s *Store, p Patient) Patient {
	t.Helper()
	if err := s.CreatePatient(&p); err != nil {
		t.Fatalf("CreatePatient(%s): %v", p.DisplayName(), err)
	}
	return p
}

func TestOpenCreatesPrivateFolderAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "FrontDesk")
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != filepath.Join(dir, "frontdesk.db") {
		t.Errorf("Path() = %q", s.Path())
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, s.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", path, got, want)
		}
	}
}

func TestDefaultDirEndsInFrontDesk(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/tmp/cfg")
	t.Setenv("HOME", "/tmp/home")
	dir, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := os.UserConfigDir()
	if dir != filepath.Join(base, "FrontDesk") {
		t.Errorf("DefaultDir() = %q, want %q", dir, filepath.Join(base, "FrontDesk"))
	}
}

func TestDataDir(t *testing.T) {
	t.Setenv(EnvDataDir, "")
	def, _ := DefaultDir()
	tests := []struct{ flag, env, want string }{
		{"/srv/clinic", "/from/env", "/srv/clinic"},
		{"", "/from/env", "/from/env"},
		{"", "", def},
	}
	for _, tt := range tests {
		t.Setenv(EnvDataDir, tt.env)
		if got, err := DataDir(tt.flag); err != nil || got != tt.want {
			t.Errorf("DataDir(%q) with %s=%q = %q, %v; want %q", tt.flag, EnvDataDir, tt.env, got, err, tt.want)
		}
	}
}

// envOpenDir makes the test binary, started again as a child, try to open the
// store in that folder and print the outcome.
const envOpenDir = "FRONTDESK_TEST_OPEN_DIR"

func TestHelperProcessOpensStore(t *testing.T) {
	dir := os.Getenv(envOpenDir)
	if dir == "" {
		return // only meaningful as the child of TestSecondProcessIsRefused
	}
	start := time.Now()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		os.Stdout.WriteString("ERROR: " + err.Error() + "\n")
	} else {
		s.Close()
		os.Stdout.WriteString("OPENED\n")
	}
	os.Stdout.WriteString("WAITED: " + time.Since(start).Round(10*time.Millisecond).String() + "\n")
}

func runOpenChild(t *testing.T, dir string) string {
	t.Helper()
	// A hang guard, not a speed check: a child still waiting after this long is stuck.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcessOpensStore$", "-test.count=1")
	cmd.Env = append(os.Environ(), envOpenDir+"="+dir)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the second Front Desk hung instead of giving up: %s", out)
	}
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	return string(out)
}

func TestSecondProcessIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	out := runOpenChild(t, dir)
	if !strings.Contains(out, "ERROR: storage: the clinic database is in use by another Front Desk") {
		t.Fatalf("second process output:\n%s", out)
	}
	t.Logf("second process: %s", strings.TrimSpace(out))
	s.Close()
	if out := runOpenChild(t, dir); !strings.Contains(out, "OPENED") {
		t.Fatalf("after the first closed, the second could not open:\n%s", out)
	}
}

func TestErrInUseText(t *testing.T) {
	if !strings.Contains(ErrInUse.Error(), "the clinic database is in use by another Front Desk") {
		t.Fatal(ErrInUse)
	}
}

// writeRaw creates or edits the database file with a bare bbolt handle.
func writeRaw(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, Patient{GivenName: "Ana", FamilyName: "Silva", DateOfBirth: "1970-01-02"})
	s.Close()
	writeRaw(t, filepath.Join(dir, FileName), func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, itob(SchemaVersion+1))
	})
	_, err = Open(dir, Options{Plaintext: true})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer file: %v, want ErrNewerSchema", err)
	}
	for _, want := range []string{fmt.Sprintf("schema version %d", SchemaVersion+1), fmt.Sprintf("schema version %d", SchemaVersion), "newer Front Desk"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestMigrateV1PhoneToPhones(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	v1Patient := `{"id":1,"given_name":"Zoë","family_name":"Nguyễn","date_of_birth":"1986-03-14",` +
		`"phone":"(555) 123-4567","email":"zoe@example.com","emergency":{},"created_at":"2025-01-02T03:04:05Z",` +
		`"updated_at":"2025-01-02T03:04:05Z","version":3}`
	v1Intake := `{"id":1,"patient_id":1,"template_id":"evaluation","template_version":"1",` +
		`"answers":{"rf-bladder":{"bool":true}},"status":"draft","red_flags":"urgent","positive_flags":["rf-bladder"],` +
		`"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z","version":1}`
	writeRaw(t, path, func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		meta.Put(keySchemaVersion, itob(1))
		pb, _ := tx.CreateBucket(bucketPatients)
		pb.SetSequence(1)
		pb.Put(itob(1), []byte(v1Patient))
		ib, _ := tx.CreateBucket(bucketIntakes)
		ib.SetSequence(1)
		ib.Put(itob(1), []byte(v1Intake))
		_, err := tx.CreateBucket(bucketSettings)
		return err
	})

	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatalf("Open of a schema 1 file: %v", err)
	}
	defer s.Close()
	p, err := s.Patient(1)
	if err != nil {
		t.Fatal(err)
	}
	want := []Phone{{Number: "(555) 123-4567", E164: "+15551234567"}}
	if len(p.Phones) != 1 || p.Phones[0] != want[0] {
		t.Errorf("migrated phones = %+v, want %+v", p.Phones, want)
	}
	if p.Version != 3 || p.DisplayName() != "Zoë Nguyễn" {
		t.Errorf("migration changed other fields: %+v", p)
	}
	if got := s.Search("555-123-4567", 5); len(got) != 1 || got[0].Patient.ID != 1 {
		t.Errorf("search by the migrated phone found %v", got)
	}
	if !s.UrgentPatients()[1] {
		t.Error("the v1 urgent intake is not linked to its patient after migration")
	}
	if ins, err := s.IntakesFor(1); err != nil || len(ins) != 1 {
		t.Errorf("IntakesFor(1) = %v, %v", ins, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		v, err := s.unsafeSchemaVersion(tx)
		if v != SchemaVersion {
			t.Errorf("schema version after open = %d, want %d", v, SchemaVersion)
		}
		raw := tx.Bucket(bucketPatients).Get(itob(1))
		var fields map[string]json.RawMessage
		json.Unmarshal(raw, &fields)
		if _, ok := fields["phone"]; ok {
			t.Errorf("the old phone field is still stored: %s", raw)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	q := mustCreate(t, s, Patient{GivenName: "Ana", FamilyName: "Silva", DateOfBirth: "1970-01-02"})
	if q.ID != 2 {
		t.Errorf("next patient ID after migration = %d, want 2", q.ID)
	}
}

// xorSealer is a stand-in for encryption: a marker, then every byte XORed.
type xorSealer struct{}

var sealMark = []byte("SEALED:")

func (xorSealer) Seal(plain []byte) ([]byte, error) {
	out := append([]byte(nil), sealMark...)
	for _, b := range plain {
		out = append(out, b^0x5A)
	}
	return out, nil
}

func (xorSealer) Unseal(sealed []byte) ([]byte, error) {
	if !bytes.HasPrefix(sealed, sealMark) {
		return nil, errors.New("not sealed")
	}
	out := make([]byte, 0, len(sealed)-len(sealMark))
	for _, b := range sealed[len(sealMark):] {
		out = append(out, b^0x5A)
	}
	return out, nil
}

func TestNoPatientDataInKeysAndEveryValueSealed(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Sealer: xorSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	people := []Patient{
		{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14", Email: "zoe.nguyen@example.com",
			Phones: []Phone{{Label: "mobile", Number: "(555) 123-4567"}}, Address: "12 Quince Street",
			Emergency: EmergencyContact{Name: "Bartholomew Quist", Phone: "555 987 6543"}, Notes: "allergic to latex"},
		{GivenName: "小龙", FamilyName: "李", DateOfBirth: "1940-11-27", Email: "bruce@example.org", Phones: []Phone{{Number: "+44 20 7946 0018"}}},
	}
	var ids []uint64
	for _, p := range people {
		ids = append(ids, mustCreate(t, s, p).ID)
	}
	in := Intake{PatientID: ids[0], Answers: forms.Answers{"visit-reason": forms.Text("sciatica since spring"), "rf-fever": forms.Yes()}}
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSettings(Settings{ClinicName: "Willowbrook Acupuncture", Paper: PaperLetter, Region: "US", DateOrder: MDY}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportCSV(strings.NewReader("given_name,family_name,date_of_birth,phone\nOlga,Petrovskaya,1977-07-07,555-444-3322\n"), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	needles := []string{"Zoë", "Nguyễn", "1986-03-14", "zoe.nguyen@example.com", "555", "5551234567", "123-4567",
		"12 Quince", "Bartholomew", "latex", "小龙", "李", "1940-11-27", "bruce@example.org", "7946", "sciatica",
		"Willowbrook", "Olga", "Petrovskaya", "1977-07-07", "rf-fever", "given_name"}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var unsealed bytes.Buffer
	values := 0
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(bucket []byte, b *bolt.Bucket) error {
			known := false
			for _, name := range append(allBuckets, bucketAudit) {
				known = known || bytes.Equal(name, bucket)
			}
			if !known {
				t.Errorf("unexpected bucket %q", bucket)
			}
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					t.Errorf("bucket %q holds a nested bucket %q", bucket, k)
					return nil
				}
				fixed := false
				for _, name := range fixedKeys {
					fixed = fixed || bytes.Equal(name, k)
				}
				if !fixed && len(k) != 8 {
					t.Errorf("bucket %q: key %q is neither an 8-byte ID nor a fixed name", bucket, k)
				}
				for _, n := range needles {
					if bytes.Contains(k, []byte(n)) || bytes.Contains(v, []byte(n)) {
						t.Errorf("bucket %q key %x: raw bytes contain %q", bucket, k, n)
					}
				}
				plain, err := xorSealer{}.Unseal(v)
				if err != nil {
					t.Errorf("bucket %q key %x: value did not pass through the Sealer", bucket, k)
				}
				unsealed.Write(plain)
				values++
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The needles are really there once unsealed, so the walk looked at the data.
	for _, n := range needles {
		if n != "given_name" && !bytes.Contains(unsealed.Bytes(), []byte(n)) {
			t.Errorf("unsealed values do not contain %q: the test walked the wrong data", n)
		}
	}
	if values < 7 {
		t.Errorf("walked only %d values", values)
	}
}

func TestSealedStoreNeedsItsSealer(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Sealer: xorSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, Patient{GivenName: "Ana", FamilyName: "Silva", DateOfBirth: "1970-01-02"})
	s.Close()
	if _, err := Open(dir, Options{Plaintext: true}); err == nil {
		t.Fatal("a sealed store opened without its sealer")
	}
	s, err = Open(dir, Options{Sealer: xorSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Search("ana silva", 5); len(got) != 1 {
		t.Errorf("reopened sealed store: search found %d", len(got))
	}
}

func TestDamagedFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, Patient{GivenName: "Ana", FamilyName: "Silva", DateOfBirth: "1970-01-02"})
	s.Close()
	writeRaw(t, filepath.Join(dir, FileName), func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPatientKeys).Put(itob(1), []byte{9, 9, 9})
	})
	if _, err := Open(dir, Options{Plaintext: true}); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "patient 1") {
		t.Errorf("damaged search keys: %v", err)
	}
	writeRaw(t, filepath.Join(dir, FileName), func(tx *bolt.Tx) error {
		return tx.DeleteBucket(bucketIntakePatients)
	})
	if _, err := Open(dir, Options{Plaintext: true}); !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), "intake_patients") {
		t.Errorf("missing bucket: %v", err)
	}
}
