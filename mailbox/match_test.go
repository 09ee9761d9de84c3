package mailbox

import (
	"fmt"
	"strings"
	"testing"
)

// peopleFake is an in-memory CandidateSource searching names, email and
// phone digits the way the store's index does.
type peopleFake []Person

func (f peopleFake) Search(query string, limit int) []Person {
	q := FoldName(query)
	qDigits := digitsOnly(query)
	var out []Person
	for _, p := range f {
		hit := strings.EqualFold(p.Email, query)
		name := FoldName(p.GivenName + " " + p.FamilyName)
		for _, w := range strings.Fields(q) {
			if strings.Contains(name, w) {
				hit = true
			}
		}
		for _, ph := range p.Phones {
			if qDigits != "" && len(qDigits) >= 7 && strings.HasSuffix(digitsOnly(ph), qDigits) ||
				len(qDigits) >= 7 && strings.HasSuffix(qDigits, digitsOnly(ph)) {
				hit = true
			}
		}
		if hit {
			out = append(out, p)
		}
		if len(out) == limit {
			break
		}
	}
	return out
}

func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

var testPeople = peopleFake{
	{ID: 1, GivenName: "Maria", FamilyName: "López", DateOfBirth: "1984-06-02", Email: "maria.lopez@example.com", Phones: []string{"(503) 555-0142"}},
	{ID: 2, GivenName: "Maria", FamilyName: "Lopez", DateOfBirth: "1950-01-01"},
	{ID: 3, GivenName: "Mario", FamilyName: "Lopez", DateOfBirth: "1984-06-02"},
	{ID: 4, GivenName: "Tom", FamilyName: "Nguyen", Phones: []string{"503.555.0163"}},
	{ID: 5, GivenName: "Sarah", FamilyName: "Kim", Email: "SARAH.KIM@example.org"},
	{ID: 6, GivenName: "Unrelated", FamilyName: "Person", Email: "x@example.com"},
	{ID: 7, GivenName: "小明", FamilyName: "王", Phones: []string{"+1 503 555 0177"}},
}

func TestMatchPatients(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		wantIDs []uint64 // in rank order
		top     []string // reasons of the first match
	}{
		{"email, phone, name and DOB", Request{Name: "Maria Lopez", GivenName: "Maria", FamilyName: "Lopez",
			Email: "maria.lopez@example.com", Phone: "+15035550142", DateOfBirth: "1984-06-02"},
			[]uint64{1, 3}, []string{"same email", "same phone", "same name and date of birth"}},
		{"phone only, written differently", Request{Phone: "503 555 0163"}, []uint64{4}, []string{"same phone"}},
		{"email case differs", Request{Email: "sarah.kim@example.org"}, []uint64{5}, []string{"same email"}},
		{"name order and accents", Request{Name: "Lopez Maria", GivenName: "Lopez", FamilyName: "Maria"},
			[]uint64{1, 2}, []string{"same name"}},
		{"typo in given name", Request{Name: "Tomm Nguyen"}, []uint64{4}, []string{"similar name"}},
		{"same name, other DOB is left out", Request{Name: "Maria Lopez", DateOfBirth: "1984-06-02"},
			[]uint64{1, 3}, []string{"same name and date of birth"}},
		{"family name first script", Request{Name: "王 小明", Phone: "503-555-0177"}, []uint64{7},
			[]string{"same phone", "same name"}},
		{"nothing in common", Request{Name: "Zed Zulu", Email: "zed@example.com"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MatchPatients(tt.req, testPeople, "US")
			var ids []uint64
			for _, m := range got {
				ids = append(ids, m.PatientID)
				if m.Confidence <= 0 || m.Confidence > 1 || len(m.Reasons) == 0 {
					t.Errorf("match %d: confidence %v reasons %q", m.PatientID, m.Confidence, m.Reasons)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) {
				t.Fatalf("matches = %v, want %v (%+v)", ids, tt.wantIDs, got)
			}
			if len(got) > 0 && strings.Join(got[0].Reasons, ", ") != strings.Join(tt.top, ", ") {
				t.Errorf("top reasons = %q, want %q", got[0].Reasons, tt.top)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Confidence > got[i-1].Confidence {
					t.Errorf("not ranked: %v", got)
				}
			}
		})
	}
}

func TestFoldName(t *testing.T) {
	for in, want := range map[string]string{
		"José  Núñez":   "jose nunez",
		"O'Brien-Smith": "o brien smith",
		"ÅSA STRAßE":    "asa strasse",
		"Nguyễn Văn An": "nguyen van an",
		"Иван Петров":   "иван петров",
	} {
		if got := FoldName(in); got != want {
			t.Errorf("FoldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatchPatientsNilSource(t *testing.T) {
	if got := MatchPatients(Request{Name: "A B"}, nil, ""); got != nil {
		t.Errorf("got %v", got)
	}
}
