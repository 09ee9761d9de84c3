package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"frontdesk/forms"
)

func TestExport(t *testing.T) {
	s := openTestStore(t, Options{Sealer: xorSealer{}})
	ids := seedClinic(t, s)
	in := Intake{PatientID: ids["Zoë Nguyễn"], Answers: forms.Answers{"rf-fever": forms.Yes(), "nrs-now": forms.Int(7)}}
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSettings(Settings{ClinicName: "Willowbrook", Paper: PaperA4, Region: "GB", DateOrder: DMY}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Export(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Format        string    `json:"format"`
		FormatVersion int       `json:"format_version"`
		SchemaVersion int       `json:"schema_version"`
		Settings      Settings  `json:"settings"`
		Patients      []Patient `json:"patients"`
		Intakes       []Intake  `json:"intakes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, buf.String())
	}
	if got.Format != ExportFormat || got.FormatVersion != 1 || got.SchemaVersion != SchemaVersion {
		t.Errorf("header %+v", got)
	}
	if got.Settings.ClinicName != "Willowbrook" || got.Settings.DateOrder != DMY {
		t.Errorf("settings %+v", got.Settings)
	}
	if len(got.Patients) != len(clinicPatients) || got.Patients[0].DisplayName() != "Zoë Nguyễn" || got.Patients[0].Phones[0].E164 != "+15551234567" {
		t.Errorf("patients: %d, first %+v", len(got.Patients), got.Patients[0])
	}
	if len(got.Intakes) != 1 || got.Intakes[0].RedFlags != forms.ScreenUrgent || *got.Intakes[0].Answers["nrs-now"].Int != 7 {
		t.Errorf("intakes %+v", got.Intakes)
	}
	if strings.Contains(buf.String(), string(sealMark)) {
		t.Error("export holds sealed values")
	}
}

func TestSeed(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	if err := s.Seed(300, 7); err != nil {
		t.Fatal(err)
	}
	if s.PatientCount() != 300 {
		t.Fatalf("PatientCount = %d", s.PatientCount())
	}
	all, err := s.ListPatients(0, 300)
	if err != nil {
		t.Fatal(err)
	}
	nonASCII := 0
	for _, p := range all {
		if !p.Demo {
			t.Fatalf("seeded patient not marked demo: %+v", p)
		}
		if errs := ValidatePatient(p, "US"); len(errs) > 0 {
			t.Fatalf("seeded patient %s is invalid: %v", p.DisplayName(), errs)
		}
		if !isASCII(p.DisplayName()) {
			nonASCII++
		}
		ins, err := s.IntakesFor(p.ID)
		if err != nil || len(ins) != 1 || !ins[0].Demo {
			t.Fatalf("patient %d intakes %v, %v", p.ID, ins, err)
		}
	}
	if nonASCII < 100 {
		t.Errorf("only %d of 300 names are non-ASCII", nonASCII)
	}
	if n := len(s.UrgentPatients()); n == 0 || n > 60 {
		t.Errorf("%d urgent patients of 300", n)
	}
	// The same seed makes the same people.
	other := openTestStore(t, Options{Plaintext: true})
	other.Seed(300, 7)
	a, _ := s.ListPatients(0, 5)
	b, _ := other.ListPatients(0, 5)
	for i := range a {
		if a[i].DisplayName() != b[i].DisplayName() || a[i].DateOfBirth != b[i].DateOfBirth {
			t.Errorf("seed not repeatable: %s vs %s", a[i].DisplayName(), b[i].DisplayName())
		}
	}
	if got := s.Search(all[0].GivenName, 500); len(got) == 0 {
		t.Error("seeded patients not searchable")
	}
}

func TestSettings(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	set, err := s.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if set.Region != "US" || set.DateOrder != MDY || set.Paper != PaperLetter {
		t.Errorf("defaults %+v", set)
	}
	bad := Settings{Paper: "A5", Region: "Narnia", DateOrder: "YMD"}
	var verr *ValidationError
	if err := s.SaveSettings(bad); !errors.As(err, &verr) || len(verr.Fields) != 3 {
		t.Fatalf("bad settings: %v", err)
	}
	if err := s.SaveSettings(Settings{ClinicName: "Willowbrook", Paper: PaperA4, Region: "gb", DateOrder: DMY}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Settings(); got.Region != "GB" || got.ClinicName != "Willowbrook" {
		t.Errorf("saved settings %+v", got)
	}
	// A London number typed the local way now reads as British.
	p := mustCreate(t, s, Patient{GivenName: "Ada", FamilyName: "King", DateOfBirth: "10/12/1980", Phones: []Phone{{Number: "020 7946 0018"}}})
	if p.Phones[0].E164 != "+442079460018" || p.DateOfBirth != "1980-12-10" {
		t.Errorf("with GB settings: %+v", p)
	}
	for _, q := range []string{"020 7946 0018", "+44 20 7946 0018", "2079460018", "020 79"} {
		if got := s.Search(q, 5); len(got) != 1 {
			t.Errorf("Search(%q) found %d", q, len(got))
		}
	}
	if s.Region() != "GB" || s.DateOrder() != DMY {
		t.Errorf("store region %s order %s", s.Region(), s.DateOrder())
	}
}

func TestExportEmptyStore(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	var buf bytes.Buffer
	if err := s.Export(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("empty export is not JSON: %v\n%s", err, buf.String())
	}
	if string(got["patients"]) != "[]" || string(got["intakes"]) != "[]" {
		t.Errorf("empty export: %s", buf.String())
	}
}
