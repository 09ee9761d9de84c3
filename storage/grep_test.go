package storage

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"frontdesk/forms"
)

// grepPatients have fields long enough (5 bytes and more) that finding one
// by chance in megabytes of ciphertext is practically impossible.
var grepPatients = []Patient{
	{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "03/14/1986", Email: "zoe.nguyen@example.com",
		Phones: []Phone{{Label: "mobile", Number: "(555) 123-4567"}}},
	{GivenName: "Bartholomew", FamilyName: "Quistgaard", DateOfBirth: "1951-11-23", Email: "bart.quist@example.org",
		Phones: []Phone{{Number: "+44 20 7946 0018"}}},
	{GivenName: "Ольга", FamilyName: "Петровская", DateOfBirth: "1977-07-07", Email: "olga.petrovskaya@example.net",
		Phones: []Phone{{Number: "212-555-0199"}}},
	{GivenName: "Søren", FamilyName: "Jørgensen-Åberg", DateOfBirth: "2001-02-03", Email: "soren.jorgensen@example.dk",
		Phones: []Phone{{Number: "(646) 555-0142"}}},
}

// needlesOf lists what must never be found of p: its name, phones, email
// and date of birth as typed and as stored.
func needlesOf(p Patient, stored Patient) []string {
	out := []string{p.DisplayName(), p.GivenName + " " + p.FamilyName, p.Email, p.DateOfBirth, stored.DateOfBirth}
	for _, name := range []string{p.GivenName, p.FamilyName} {
		if len(name) >= 5 {
			out = append(out, name)
		}
	}
	for i, ph := range p.Phones {
		out = append(out, ph.Number, digitsOf(ph.Number), stored.Phones[i].E164)
	}
	return out
}

// encodings returns the byte forms of s searched for: UTF-8, UTF-16LE,
// UTF-16BE, and each of those folded (lower case, no diacritics).
func encodings(s string) map[string][]byte {
	out := map[string][]byte{}
	for form, v := range map[string]string{"": s, "folded ": fold(s)} {
		out[form+"UTF-8"] = []byte(v)
		units := utf16.Encode([]rune(v))
		le := make([]byte, 2*len(units))
		be := make([]byte, 2*len(units))
		for i, u := range units {
			binary.LittleEndian.PutUint16(le[2*i:], u)
			binary.BigEndian.PutUint16(be[2*i:], u)
		}
		out[form+"UTF-16LE"], out[form+"UTF-16BE"] = le, be
	}
	return out
}

func TestNoPatientDataInTheDataFolderOutsidePackets(t *testing.T) {
	dir := t.TempDir()
	// Half the patients arrive in a plaintext store, which set-up encrypts.
	plain, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	var stored []Patient
	for _, p := range grepPatients[:2] {
		stored = append(stored, mustCreate(t, plain, p))
	}
	if err := plain.Seed(300, 11); err != nil {
		t.Fatal(err)
	}
	plain.Close()

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Setup(adminName, adminPass); err != nil {
		t.Fatal(err)
	}
	for _, p := range grepPatients[2:] {
		stored = append(stored, mustCreate(t, s, p))
	}
	for i := range stored {
		in := Intake{PatientID: stored[i].ID, Answers: forms.Answers{"visit-reason": forms.Text("pain after lifting")}}
		if err := s.CreateIntake(&in); err != nil {
			t.Fatal(err)
		}
		stored[i].Notes = "updated twice"
		if err := s.UpdatePatient(&stored[i]); err != nil {
			t.Fatal(err)
		}
		s.Audit(AuditEvent{Action: ActionViewPatient, RecordKind: RecordPatient, RecordID: stored[i].ID})
	}
	backups := filepath.Join(dir, "backups")
	backup, _, err := s.Backup(backups, 3)
	if err != nil {
		t.Fatal(err)
	}
	s.Lock()
	s.Unlock("Zoë Nguyễn", "wrong password") // a failed sign-in is kept while locked
	s.Close()
	if _, err := Restore(dir, backup, Credentials{User: adminName, Password: adminPass}); err != nil {
		t.Fatal(err)
	}
	// Packets are patient data by design and live in packets/, which is skipped.
	os.MkdirAll(filepath.Join(dir, "packets"), 0o700)
	os.WriteFile(filepath.Join(dir, "packets", "nguyen-zoe-intake.pdf"), []byte(stored[0].DisplayName()+" "+stored[0].Email), 0o600)

	type needle struct {
		what, form string
		b          []byte
	}
	var needles []needle
	for i, p := range grepPatients {
		for _, n := range needlesOf(p, stored[i]) {
			for form, b := range encodings(n) {
				if len(b) >= 5 {
					needles = append(needles, needle{n, form, b})
				}
			}
		}
	}
	files, scanned := 0, 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "packets" {
				return filepath.SkipDir
			}
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		scanned += len(raw)
		rel, _ := filepath.Rel(dir, path)
		for _, n := range needles {
			if bytes.Contains(raw, n.b) {
				t.Errorf("%s holds %q (%s)", rel, n.what, n.form)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk saw the store, the backup and the store kept aside by the restore.
	if files < 3 {
		t.Errorf("scanned only %d files", files)
	}
	t.Logf("%d files, %d KiB, %d needle forms: none found", files, scanned>>10, len(needles))

	// And the needles are findable where they are expected: the check works.
	pkt, _ := os.ReadFile(filepath.Join(dir, "packets", "nguyen-zoe-intake.pdf"))
	if !bytes.Contains(pkt, []byte(strings.TrimSpace(stored[0].Email))) {
		t.Error("the control file does not hold the email")
	}
}
