package storage

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func importFile(t *testing.T, s *Store, name string, opts ImportOptions) (ImportReport, error) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return s.ImportCSV(f, opts)
}

func TestImportCSV(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	rep, err := importFile(t, s, "patients.csv", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 5 || len(rep.Invalid) != 0 || len(rep.Skipped) != 0 || s.PatientCount() != 5 {
		t.Fatalf("report %+v, count %d", rep, s.PatientCount())
	}
	zoe := s.Search("zoe nguyen", 1)
	if len(zoe) != 1 {
		t.Fatal("imported Zoë not found (BOM not stripped?)")
	}
	p := zoe[0].Patient
	if p.Sex != "female" || p.Address != "12 Quince Street\nSpringfield" || p.Emergency.Relationship != "brother" ||
		p.Phones[0].E164 != "+15551234567" || p.Language != "Vietnamese" {
		t.Errorf("imported Zoë: %+v", p)
	}
	li := s.Search("李", 1)[0].Patient
	if li.DateOfBirth != "1940-11-27" || li.PreferredName != "Bruce" || li.Notes != `likes mornings, "quiet" room` {
		t.Errorf("imported 李: %+v", li)
	}
	lukasz := s.Search("lukasz", 1)[0].Patient
	if len(lukasz.Phones) != 2 || lukasz.DateOfBirth != "1979-06-14" || lukasz.Sex != "male" {
		t.Errorf("imported Łukasz: %+v", lukasz)
	}

	// The same file again adds nothing and says who each row already is.
	rep, err = importFile(t, s, "patients.csv", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || len(rep.Skipped) != 5 || s.PatientCount() != 5 {
		t.Fatalf("second import: %+v, count %d", rep, s.PatientCount())
	}
	first := rep.Skipped[0]
	if first.Line != 2 || first.Existing.ID != p.ID || !strings.Contains(first.Reason, ReasonSameNameDOB) {
		t.Errorf("first skipped row: %+v", first)
	}
	lines := []int{}
	for _, sk := range rep.Skipped {
		lines = append(lines, sk.Line)
	}
	if !slices.Equal(lines, []int{2, 4, 5, 6, 8}) {
		t.Errorf("skipped lines %v, want 2 4 5 6 8 (multi-line rows counted)", lines)
	}
}

func TestImportCSVInvalidRowsImportNothing(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	rep, err := importFile(t, s, "invalid.csv", ImportOptions{})
	if !errors.Is(err, ErrImportFailed) {
		t.Fatalf("err = %v, want ErrImportFailed", err)
	}
	if s.PatientCount() != 0 || rep.Imported != 0 {
		t.Fatalf("imported %d despite invalid rows", s.PatientCount())
	}
	want := []struct {
		line   int
		saying string
	}{{3, "not a real date"}, {4, "email address"}, {5, "name"}, {6, "phone number"}}
	if len(rep.Invalid) != len(want) {
		t.Fatalf("invalid rows %+v", rep.Invalid)
	}
	for i, w := range want {
		if rep.Invalid[i].Line != w.line || !strings.Contains(rep.Invalid[i].Reason, w.saying) {
			t.Errorf("invalid row %d = %+v, want line %d saying %q", i, rep.Invalid[i], w.line, w.saying)
		}
	}
	if !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("error message %q", err)
	}

	rep, err = importFile(t, s, "invalid.csv", ImportOptions{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 2 || len(rep.Invalid) != 4 || s.PatientCount() != 2 {
		t.Errorf("with SkipInvalid: %+v, count %d", rep, s.PatientCount())
	}
}

func TestImportCSVResemblingRowsAreImportedForReview(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	zoe := mustCreate(t, s, clinicPatients[0])
	rep, err := importFile(t, s, "resembling.csv", ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Line 2 is Zoë (same folded name + DOB), line 5 has her email, line 7 repeats line 6.
	var skipped []int
	for _, sk := range rep.Skipped {
		skipped = append(skipped, sk.Line)
	}
	if !slices.Equal(skipped, []int{2, 5, 7}) || rep.Skipped[0].Existing.ID != zoe.ID || rep.Skipped[1].Existing.ID != zoe.ID {
		t.Errorf("skipped %+v", rep.Skipped)
	}
	if !strings.Contains(rep.Skipped[2].Reason, "line 6") || rep.Skipped[2].Existing.GivenName != "New" || rep.Skipped[2].Existing.ID == 0 {
		t.Errorf("repeated row: %+v", rep.Skipped[2])
	}
	if rep.Imported != 3 {
		t.Fatalf("imported %d, want 3 (typo name, shared phone, new person)", rep.Imported)
	}
	var dupLines []int
	for _, d := range rep.PossibleDuplicates {
		dupLines = append(dupLines, d.Line)
		if d.Candidates[0].Patient.ID != zoe.ID {
			t.Errorf("line %d resembles %+v, want Zoë", d.Line, d.Candidates)
		}
	}
	if !slices.Equal(dupLines, []int{3, 4}) {
		t.Errorf("possible duplicates on lines %v, want 3 and 4", dupLines)
	}
	pairs := s.AllDuplicates()
	if len(pairs) != 2 {
		t.Fatalf("review queue %+v", pairs)
	}
	reasons := [][]string{pairs[0].Reasons, pairs[1].Reasons}
	if !slices.Equal(reasons[0], []string{ReasonCloseNameDOB}) || !slices.Equal(reasons[1], []string{ReasonSamePhone}) {
		t.Errorf("review queue reasons %v", reasons)
	}
}

func TestImportCSVBadHeaders(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	tests := []struct{ name, csv, saying string }{
		{"empty", "", "empty"},
		{"unknown column", "given_name,family_name,shoe_size\nA,B,42\n", `unknown column "shoe_size"`},
		{"no name column", "date_of_birth,email\n1980-01-01,a@example.com\n", "given_name or family_name"},
		{"column twice", "given_name,given_name\nA,B\n", "twice"},
		{"too many values", "given_name,family_name,date_of_birth\nA,B,1980-01-01,extra\n", "header names 3 columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := s.ImportCSV(strings.NewReader(tt.csv), ImportOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, r := range rep.Invalid {
				msg += " " + r.Reason
			}
			if !strings.Contains(msg, tt.saying) || !errors.Is(err, ErrImportFailed) {
				t.Errorf("error %q, want it to say %q", msg, tt.saying)
			}
		})
	}
	if s.PatientCount() != 0 {
		t.Errorf("bad files imported %d patients", s.PatientCount())
	}
}
