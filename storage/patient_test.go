package storage

import (
	"errors"
	"strings"
	"testing"
	"time"

	"frontdesk/forms"
)

func TestValidatePatient(t *testing.T) {
	good := Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14", Email: "zoe@example.com",
		Phones: []Phone{{Number: "(555) 123-4567"}}}
	tomorrow := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	tests := []struct {
		name   string
		edit   func(p *Patient)
		field  string // "" = valid
		saying string
	}{
		{"valid", func(p *Patient) {}, "", ""},
		{"US date typed", func(p *Patient) { p.DateOfBirth = "03/14/1986" }, "", ""},
		{"European date typed", func(p *Patient) { p.DateOfBirth = "14.03.1986" }, "", ""},
		{"only a family name", func(p *Patient) { p.GivenName = "" }, "", ""},
		{"international phone", func(p *Patient) { p.Phones = []Phone{{Number: "+44 20 7946 0018"}} }, "", ""},
		{"no name", func(p *Patient) { p.GivenName, p.FamilyName = " ", "" }, "given_name", "name"},
		{"no date of birth", func(p *Patient) { p.DateOfBirth = "" }, "date_of_birth", "Enter the date of birth"},
		{"February 30", func(p *Patient) { p.DateOfBirth = "1986-02-30" }, "date_of_birth", "not a real date"},
		{"words for a date", func(p *Patient) { p.DateOfBirth = "last spring" }, "date_of_birth", "not a real date"},
		{"born tomorrow", func(p *Patient) { p.DateOfBirth = tomorrow }, "date_of_birth", "in the future"},
		{"born 1890", func(p *Patient) { p.DateOfBirth = "1890-01-01" }, "date_of_birth", "before 1900"},
		{"email without domain", func(p *Patient) { p.Email = "zoe@" }, "email", "name@example.com"},
		{"email with a space", func(p *Patient) { p.Email = "zoe nguyen@example.com" }, "email", "does not look right"},
		{"email without dot", func(p *Patient) { p.Email = "zoe@localhost" }, "email", "does not look right"},
		{"phone too short", func(p *Patient) { p.Phones = []Phone{{Number: "12"}} }, "phones[0]", "cannot be read"},
		{"phone of letters", func(p *Patient) { p.Phones = append(p.Phones, Phone{Number: "call me"}) }, "phones[1]", "cannot be read"},
		{"emergency phone", func(p *Patient) { p.Emergency.Phone = "99" }, "emergency.phone", "emergency contact"},
		{"sex unknown word", func(p *Patient) { p.Sex = "banana" }, "sex", "female, male, other or unknown"},
		{"sex as a letter", func(p *Patient) { p.Sex = "F" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			p.Phones = append([]Phone(nil), good.Phones...)
			tt.edit(&p)
			errs := ValidatePatient(p, "US")
			if tt.field == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.field || !strings.Contains(errs[0].Msg, tt.saying) {
				t.Fatalf("got %+v, want one error on %s saying %q", errs, tt.field, tt.saying)
			}
		})
	}
}

func TestCreateReadUpdatePatient(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	p := Patient{GivenName: "  Zoë ", FamilyName: "Nguyễn", DateOfBirth: "03/14/1986", Sex: "f",
		Phones: []Phone{{Label: "mobile", Number: "(555) 123-4567"}, {Number: "  "}}, Email: "Zoe@Example.com"}
	if err := s.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || p.Version != 1 || p.CreatedAt.IsZero() || !p.CreatedAt.Equal(p.UpdatedAt) {
		t.Fatalf("created patient: %+v", p)
	}
	if p.GivenName != "Zoë" || p.DateOfBirth != "1986-03-14" || p.Sex != "female" || len(p.Phones) != 1 || p.Phones[0].E164 != "+15551234567" {
		t.Errorf("not normalised on save: %+v", p)
	}
	got, err := s.Patient(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName() != "Zoë Nguyễn" || got.Version != 1 || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("read back %+v", got)
	}

	first, second := got, got
	first.Notes = "prefers mornings"
	if err := s.UpdatePatient(&first); err != nil {
		t.Fatal(err)
	}
	if first.Version != 2 || !first.CreatedAt.Equal(p.CreatedAt) || first.UpdatedAt.Before(p.UpdatedAt) {
		t.Errorf("after update: %+v", first)
	}
	second.Notes = "stale edit"
	err = s.UpdatePatient(&second)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, ErrConflict) {
		t.Fatalf("stale update: %v, want *ConflictError", err)
	}
	if conflict.Current.Version != 2 || conflict.Current.Notes != "prefers mornings" {
		t.Errorf("conflict shows %+v, want the stored version 2", conflict.Current)
	}
	if stored, _ := s.Patient(p.ID); stored.Notes != "prefers mornings" {
		t.Errorf("the stale edit overwrote the record: %q", stored.Notes)
	}

	bad := first
	bad.DateOfBirth = "1986-13-01"
	var verr *ValidationError
	if err := s.UpdatePatient(&bad); !errors.As(err, &verr) || !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid update: %v", err)
	}
	if _, err := s.Patient(9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Patient(9999): %v, want ErrNotFound", err)
	}
	missing := Patient{ID: 9999, GivenName: "A", FamilyName: "B", DateOfBirth: "1990-01-01", Version: 1}
	if err := s.UpdatePatient(&missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdatePatient of a missing patient: %v", err)
	}
}

func TestCreateInvalidPatientSavesNothing(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	p := Patient{GivenName: "Ana", DateOfBirth: "2999-01-01", Email: "ana@"}
	err := s.CreatePatient(&p)
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Fields) != 2 {
		t.Fatalf("got %v", err)
	}
	if p.ID != 0 || s.PatientCount() != 0 {
		t.Errorf("an invalid patient was saved: %+v, count %d", p, s.PatientCount())
	}
	if !strings.Contains(err.Error(), "in the future") || !strings.Contains(err.Error(), "email") {
		t.Errorf("message %q", err)
	}
}

func TestDeletePatient(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	keep := mustCreate(t, s, Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14"})
	gone := mustCreate(t, s, Patient{GivenName: "Olga", FamilyName: "Petrova", DateOfBirth: "1970-05-06"})
	in := Intake{PatientID: keep.ID, Answers: forms.Answers{"visit-reason": forms.Text("back pain")}}
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	err := s.DeletePatient(keep.ID)
	if !errors.Is(err, ErrHasIntakes) || !strings.Contains(err.Error(), "an intake form") {
		t.Fatalf("deleting a patient with an intake: %v", err)
	}
	if _, err := s.Patient(keep.ID); err != nil {
		t.Fatalf("refused delete removed the patient: %v", err)
	}
	if err := s.DeletePatient(gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Patient(gone.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted patient still readable: %v", err)
	}
	if got := s.Search("olga", 10); len(got) != 0 {
		t.Errorf("deleted patient still found: %v", got)
	}
	if s.PatientCount() != 1 {
		t.Errorf("PatientCount = %d", s.PatientCount())
	}
	if err := s.DeletePatient(gone.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestListPatientsAlphabetical(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	for _, n := range [][2]string{{"Zoë", "Nguyễn"}, {"Łukasz", "Adamski"}, {"Anna", "Zimmer"}, {"Bob", "Adamski"}, {"Émile", "Nguyen"}} {
		mustCreate(t, s, Patient{GivenName: n[0], FamilyName: n[1], DateOfBirth: "1980-01-01"})
	}
	all, err := s.ListPatients(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range all {
		names = append(names, p.DisplayName())
	}
	want := "Bob Adamski, Łukasz Adamski, Émile Nguyen, Zoë Nguyễn, Anna Zimmer"
	if strings.Join(names, ", ") != want {
		t.Errorf("list order %q, want %q", strings.Join(names, ", "), want)
	}
	page, _ := s.ListPatients(3, 10)
	if len(page) != 2 || page[0].GivenName != "Zoë" {
		t.Errorf("page from 3: %v", page)
	}
	if page, _ := s.ListPatients(10, 10); len(page) != 0 {
		t.Errorf("page past the end: %v", page)
	}
	if s.PatientCount() != 5 {
		t.Errorf("PatientCount = %d", s.PatientCount())
	}
}

func TestDisplayName(t *testing.T) {
	tests := []struct {
		p    Patient
		want string
	}{
		{Patient{GivenName: "Zoë", FamilyName: "Nguyễn"}, "Zoë Nguyễn"},
		{Patient{GivenName: "Robert", PreferredName: "Bob", FamilyName: "Smith"}, "Robert “Bob” Smith"},
		{Patient{GivenName: "小龙", FamilyName: "李"}, "李小龙"},
		{Patient{FamilyName: "Suharto"}, "Suharto"},
	}
	for _, tt := range tests {
		if got := tt.p.DisplayName(); got != tt.want {
			t.Errorf("DisplayName(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
