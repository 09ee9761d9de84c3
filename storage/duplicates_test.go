package storage

import (
	"slices"
	"testing"
)

func TestDuplicateCandidates(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	ids := seedClinic(t, s)
	zoe := ids["Zoë Nguyễn"]
	tests := []struct {
		name    string
		p       Patient
		want    uint64 // 0: no candidates
		reasons []string
	}{
		{"same folded name and DOB", Patient{GivenName: "ZOE", FamilyName: "nguyen", DateOfBirth: "03/14/1986"}, zoe, []string{ReasonSameNameDOB}},
		{"same phone in another format", Patient{GivenName: "Minh", FamilyName: "Nguyen", DateOfBirth: "2010-01-01", Phones: []Phone{{Number: "+1 555.123.4567"}}}, zoe, []string{ReasonSamePhone}},
		{"same email in capitals", Patient{GivenName: "Z", FamilyName: "N", DateOfBirth: "2001-01-01", Email: "ZOE.NGUYEN@example.com"}, zoe, []string{ReasonSameEmail}},
		{"one letter wrong", Patient{GivenName: "Zoe", FamilyName: "Nguyin", DateOfBirth: "1986-03-14"}, zoe, []string{ReasonCloseNameDOB}},
		{"two letters swapped", Patient{GivenName: "Zoe", FamilyName: "Ngyuen", DateOfBirth: "1986-03-14"}, zoe, []string{ReasonCloseNameDOB}},
		{"one letter missing", Patient{GivenName: "Zoe", FamilyName: "Nguen", DateOfBirth: "1986-03-14"}, zoe, []string{ReasonCloseNameDOB}},
		{"given and family swapped", Patient{GivenName: "Nguyễn", FamilyName: "Zoë", DateOfBirth: "1986-03-14"}, zoe, []string{ReasonCloseNameDOB}},
		{"everything", Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14", Email: "zoe.nguyen@example.com", Phones: []Phone{{Number: "5551234567"}}}, zoe,
			[]string{ReasonSameNameDOB, ReasonSameEmail, ReasonSamePhone}},
		{"same name, other DOB", Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1987-03-14"}, 0, nil},
		{"two letters wrong", Patient{GivenName: "Zoe", FamilyName: "Ngoyin", DateOfBirth: "1986-03-14"}, 0, nil},
		{"CJK name", Patient{GivenName: "小龍", FamilyName: "李", DateOfBirth: "1940-11-27"}, ids["李小龙"], []string{ReasonCloseNameDOB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.DuplicateCandidates(tt.p)
			if tt.want == 0 {
				if len(got) != 0 {
					t.Fatalf("candidates %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Patient.ID != tt.want || !slices.Equal(got[0].Reasons, tt.reasons) {
				t.Fatalf("candidates %+v, want patient %d for %v", got, tt.want, tt.reasons)
			}
		})
	}
}

func TestDuplicateCandidatesOnEdit(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	ids := seedClinic(t, s)
	zoe, err := s.Patient(ids["Zoë Nguyễn"])
	if err != nil {
		t.Fatal(err)
	}
	if got := s.DuplicateCandidates(zoe); len(got) != 0 {
		t.Fatalf("a stored patient is their own duplicate: %+v", got)
	}
	mary, _ := s.Patient(ids["Mary O'Brien"])
	mary.Phones = []Phone{{Number: "555-123-4567"}}
	got := s.DuplicateCandidates(mary)
	if len(got) != 1 || got[0].Patient.ID != zoe.ID || !slices.Equal(got[0].Reasons, []string{ReasonSamePhone}) {
		t.Fatalf("edited phone: %+v", got)
	}
	if err := s.UpdatePatient(&mary); err != nil {
		t.Fatal(err)
	}
	// Once saved, both show up in the review queue; the old phone no longer does.
	pairs := s.AllDuplicates()
	if len(pairs) != 1 || pairs[0].A.ID != zoe.ID || pairs[0].B.ID != mary.ID || !slices.Equal(pairs[0].Reasons, []string{ReasonSamePhone}) {
		t.Fatalf("AllDuplicates = %+v", pairs)
	}
	if got := s.DuplicateCandidates(Patient{GivenName: "X", FamilyName: "Y", DateOfBirth: "2000-01-01", Phones: []Phone{{Number: "555-987-6543"}}}); len(got) != 0 {
		t.Errorf("Mary's old phone still matches: %+v", got)
	}
}

func TestAllDuplicates(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	ids := seedClinic(t, s)
	if got := s.AllDuplicates(); len(got) != 0 {
		t.Fatalf("distinct register has duplicates: %+v", got)
	}
	twin := mustCreate(t, s, Patient{GivenName: "Jose", FamilyName: "Nunez", DateOfBirth: "1965-12-24"})
	typo := mustCreate(t, s, Patient{GivenName: "Søren", FamilyName: "Østergard", DateOfBirth: "1991-09-09"})
	pairs := s.AllDuplicates()
	if len(pairs) != 2 {
		t.Fatalf("AllDuplicates = %+v", pairs)
	}
	if pairs[0].A.ID != ids["José Ñúñez"] || pairs[0].B.ID != twin.ID || pairs[0].Reasons[0] != ReasonSameNameDOB {
		t.Errorf("first pair %+v", pairs[0])
	}
	if pairs[1].A.ID != ids["Søren Østergaard"] || pairs[1].B.ID != typo.ID || pairs[1].Reasons[0] != ReasonCloseNameDOB {
		t.Errorf("second pair %+v", pairs[1])
	}
}

func TestWithinOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"nguyen", "nguyen", true}, {"nguyen", "nguyin", true}, {"nguyen", "ngyuen", true},
		{"nguyen", "nguen", true}, {"nguyen", "nguyenn", true}, {"nguyen", "ngoyin", false},
		{"ab", "ba", true}, {"abc", "cab", false}, {"小龙", "小龍", true}, {"", "a", true}, {"", "ab", false},
	}
	for _, tt := range tests {
		if got := withinOneEdit([]rune(tt.a), []rune(tt.b)); got != tt.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
