package storage

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// clinicPatients is a small, varied register for search and duplicate tests.
var clinicPatients = []Patient{
	{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14", Email: "zoe.nguyen@example.com", Phones: []Phone{{Number: "(555) 123-4567"}}},
	{GivenName: "小龙", FamilyName: "李", DateOfBirth: "1940-11-27"},
	{GivenName: "Łukasz", FamilyName: "Wiśniewski", DateOfBirth: "1979-06-01", Phones: []Phone{{Number: "+48 512 345 678"}}},
	{GivenName: "José", FamilyName: "Ñúñez", DateOfBirth: "1965-12-24", Email: "jose@example.es"},
	{GivenName: "Ольга", FamilyName: "Иванова", DateOfBirth: "1958-02-03"},
	{GivenName: "Søren", FamilyName: "Østergaard", DateOfBirth: "1991-09-09"},
	{GivenName: "Jürgen", FamilyName: "Weiß", DateOfBirth: "1950-05-05"},
	{GivenName: "Mary", FamilyName: "O'Brien", DateOfBirth: "1972-08-15", Phones: []Phone{{Number: "555-987-6543"}}},
	{GivenName: "Ana", FamilyName: "García-López", DateOfBirth: "1990-04-03"},
	{GivenName: "Ann", FamilyName: "Lee", DateOfBirth: "1982-01-01"},
	{GivenName: "Annabel", FamilyName: "Smith", DateOfBirth: "1983-01-01"},
	{GivenName: "Đặng", FamilyName: "Thảo", DateOfBirth: "1999-10-10", Email: "dang.thao@example.vn"},
}

func seedClinic(t testing.TB, s *Store) map[string]uint64 {
	t.Helper()
	ids := make(map[string]uint64)
	for _, p := range clinicPatients {
		q := mustCreate(t, s, p)
		ids[q.DisplayName()] = q.ID
	}
	return ids
}

func names(results []SearchResult) []string {
	var out []string
	for _, r := range results {
		out = append(out, r.Patient.DisplayName())
	}
	return out
}

func TestSearch(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	seedClinic(t, s)
	tests := []struct {
		query   string
		want    []string // in this order at the top; nil means nothing found
		matched string   // a field the first result must report, if set
	}{
		{"zoe", []string{"Zoë Nguyễn"}, MatchedName},
		{"ZOË", []string{"Zoë Nguyễn"}, MatchedName},
		{"nguyen", []string{"Zoë Nguyễn"}, MatchedName},
		{"ngu zo", []string{"Zoë Nguyễn"}, MatchedName},
		{"z", []string{"Zoë Nguyễn"}, MatchedName},
		{"lukasz", []string{"Łukasz Wiśniewski"}, MatchedName},
		{"wisniewski", []string{"Łukasz Wiśniewski"}, MatchedName},
		{"李", []string{"李小龙"}, MatchedName},
		{"小", []string{"李小龙"}, MatchedName},
		{"李小龙", []string{"李小龙"}, MatchedName},
		{"jose nunez", []string{"José Ñúñez"}, MatchedName},
		{"ольга", []string{"Ольга Иванова"}, MatchedName},
		{"ОЛЬ", []string{"Ольга Иванова"}, MatchedName},
		{"soren ostergaard", []string{"Søren Østergaard"}, MatchedName},
		{"jurgen weiss", []string{"Jürgen Weiß"}, MatchedName},
		{"dang", []string{"Đặng Thảo"}, MatchedName},
		{"o'brien", []string{"Mary O'Brien"}, MatchedName},
		{"obrien", []string{"Mary O'Brien"}, MatchedName},
		{"garcia-lopez", []string{"Ana García-López"}, MatchedName},
		{"garcia lopez", []string{"Ana García-López"}, MatchedName},
		{"lopez", []string{"Ana García-López"}, MatchedName},
		{"garcialo", []string{"Ana García-López"}, MatchedName},
		{"(555) 123-4567", []string{"Zoë Nguyễn"}, MatchedPhone},
		{"555.123.4567", []string{"Zoë Nguyễn"}, MatchedPhone},
		{"+1 555 123 4567", []string{"Zoë Nguyễn"}, MatchedPhone},
		{"5551234567", []string{"Zoë Nguyễn"}, MatchedPhone},
		{"1-555-123-4567", []string{"Zoë Nguyễn"}, MatchedPhone},
		{"555 12", []string{"Zoë Nguyễn"}, MatchedPhone},
		{"555", []string{"Zoë Nguyễn", "Mary O'Brien"}, MatchedPhone}, // equal scores: list order
		{"55", nil, ""},
		{"+48 512 345 678", []string{"Łukasz Wiśniewski"}, MatchedPhone},
		{"512345", []string{"Łukasz Wiśniewski"}, MatchedPhone},
		{"zoe.nguyen@example.com", []string{"Zoë Nguyễn"}, MatchedEmail},
		{"ZOE.NGUYEN@", []string{"Zoë Nguyễn"}, MatchedEmail},
		{"jose@", []string{"José Ñúñez"}, MatchedEmail},
		{"zoe.ngu", []string{"Zoë Nguyễn"}, MatchedEmail},
		{"dang.thao@example.vn", []string{"Đặng Thảo"}, MatchedEmail},
		{"1986-03-14", []string{"Zoë Nguyễn"}, MatchedDOB},
		{"03/14/1986", []string{"Zoë Nguyễn"}, MatchedDOB},
		{"14.03.1986", []string{"Zoë Nguyễn"}, MatchedDOB},
		{"04/03/1990", []string{"Ana García-López"}, MatchedDOB}, // MDY: April 3
		{"03/04/1990", nil, ""},                                  // MDY: March 4, nobody
		{"zoe 1986-03-14", []string{"Zoë Nguyễn"}, MatchedDOB},
		{"zoe 1990-04-03", nil, ""},
		{"zoe 555", []string{"Zoë Nguyễn"}, MatchedPhone},
		{"mary 555-987", []string{"Mary O'Brien"}, MatchedPhone},
		{"ann", []string{"Ann Lee", "Annabel Smith"}, MatchedName}, // whole word first
		{"xyz", nil, ""},
		{"   ", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := s.Search(tt.query, 10)
			if tt.want == nil {
				if got == nil || len(got) != 0 {
					t.Fatalf("Search(%q) = %#v, want an empty list", tt.query, names(got))
				}
				return
			}
			if len(got) < len(tt.want) || !slices.Equal(names(got)[:len(tt.want)], tt.want) {
				t.Fatalf("Search(%q) = %v, want %v first", tt.query, names(got), tt.want)
			}
			if tt.matched != "" && !slices.Contains(got[0].Matched, tt.matched) {
				t.Errorf("Search(%q) matched %v, want %q", tt.query, got[0].Matched, tt.matched)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Score > got[i-1].Score {
					t.Errorf("results not ranked: %v", got)
				}
			}
		})
	}
}

func TestSearchRanksMoreFieldsHigher(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	mustCreate(t, s, Patient{GivenName: "Lee", FamilyName: "Park", DateOfBirth: "1980-01-01"})
	mustCreate(t, s, Patient{GivenName: "Lee", FamilyName: "Kim", DateOfBirth: "1980-01-01", Email: "lee@example.com"})
	got := s.Search("lee 1980-01-01", 10)
	if len(got) != 2 || !slices.Contains(got[0].Matched, MatchedDOB) || !slices.Contains(got[0].Matched, MatchedName) {
		t.Errorf("name + date: %v", got)
	}
	if got[0].Score <= s.Search("lee", 10)[0].Score {
		t.Error("matching two fields does not rank above matching one")
	}
}

func TestSearchDayFirstClinic(t *testing.T) {
	s := openTestStore(t, Options{DateOrder: DMY, Plaintext: true})
	seedClinic(t, s)
	if got := names(s.Search("03/04/1990", 5)); !slices.Equal(got, []string{"Ana García-López"}) {
		t.Errorf("DMY 03/04/1990 found %v", got)
	}
	if got := names(s.Search("14/03/1986", 5)); !slices.Equal(got, []string{"Zoë Nguyễn"}) {
		t.Errorf("unambiguous date found %v", got)
	}
}

func TestSearchFollowsEdits(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	p := mustCreate(t, s, clinicPatients[0])
	p.FamilyName = "Trần"
	p.Phones = []Phone{{Number: "555 222 3333"}}
	if err := s.UpdatePatient(&p); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"nguyen": 0, "(555) 123-4567": 0, "tran": 1, "zoe tr": 1, "5552223333": 1} {
		if got := s.Search(q, 5); len(got) != want {
			t.Errorf("after edit Search(%q) = %v, want %d", q, names(got), want)
		}
	}
}

// TestSearchFollowsDOBAndNameEdits changes and deletes patients found by
// date of birth and name, both while the changes are pending and once they
// are folded into the sorted postings (pendingLimit 1).
func TestSearchFollowsDOBAndNameEdits(t *testing.T) {
	for _, limit := range []int{1, pendingLimit} {
		t.Run(fmt.Sprint("pendingLimit=", limit), func(t *testing.T) {
			defer func(n int) { pendingLimit = n }(pendingLimit)
			pendingLimit = limit
			s := openTestStore(t, Options{Plaintext: true})
			a := mustCreate(t, s, Patient{GivenName: "Ana", FamilyName: "Silva", DateOfBirth: "1986-03-14"})
			b := mustCreate(t, s, Patient{GivenName: "Bea", FamilyName: "Silva", DateOfBirth: "1986-03-14"})
			mustCreate(t, s, Patient{GivenName: "Cy", FamilyName: "Silvestre", DateOfBirth: "1990-01-02"})
			check := func(when string, want map[string][]string) {
				t.Helper()
				for q, w := range want {
					if got := names(s.Search(q, 10)); !slices.Equal(got, w) {
						t.Errorf("%s: Search(%q) = %v, want %v", when, q, got, w)
					}
				}
			}
			check("created", map[string][]string{"1986-03-14": {"Ana Silva", "Bea Silva"}, "1990-01-02": {"Cy Silvestre"},
				"silv": {"Ana Silva", "Bea Silva", "Cy Silvestre"}, "ana 1986-03-14": {"Ana Silva"}})
			a.DateOfBirth, a.GivenName = "1990-01-02", "Anya"
			if err := s.UpdatePatient(&a); err != nil {
				t.Fatal(err)
			}
			check("edited", map[string][]string{"1986-03-14": {"Bea Silva"}, "1990-01-02": {"Anya Silva", "Cy Silvestre"},
				"ana": nil, "anya": {"Anya Silva"}, "ana 1986-03-14": nil, "an 1990-01-02": {"Anya Silva"}})
			if err := s.DeletePatient(b.ID); err != nil {
				t.Fatal(err)
			}
			check("deleted", map[string][]string{"1986-03-14": nil, "bea": nil, "silv": {"Anya Silva", "Cy Silvestre"}})
			if err := s.DeletePatient(a.ID); err != nil {
				t.Fatal(err)
			}
			check("both deleted", map[string][]string{"1990-01-02": {"Cy Silvestre"}, "anya": nil, "silv": {"Cy Silvestre"}})
		})
	}
}

func TestSearchCapsResults(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	for i := range 30 {
		mustCreate(t, s, Patient{GivenName: fmt.Sprintf("Maria%02d", i), FamilyName: "Silva", DateOfBirth: "1980-01-01"})
	}
	if got := s.Search("silva", 7); len(got) != 7 {
		t.Errorf("limit 7 gave %d", len(got))
	}
	if got := s.Search("silva", 0); len(got) != 20 {
		t.Errorf("default limit gave %d", len(got))
	}
	got := s.Search("maria0", 100)
	if len(got) != 10 || !strings.HasPrefix(got[0].Patient.GivenName, "Maria00") {
		t.Errorf("maria0: %v", names(got))
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Zoë": "zoe", "Nguyễn": "nguyen", "Łukasz": "lukasz", "Søren": "soren", "Đặng": "dang",
		"Weiß": "weiss", "ÆRØ": "aero", "Ñúñez": "nunez", "Ольга": "ольга", "Ёлка": "елка", "李小龙": "李小龙",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in    string
		order DateOrder
		want  string
	}{
		{"1986-03-14", MDY, "1986-03-14"},
		{"03/14/1986", MDY, "1986-03-14"},
		{"03/14/1986", DMY, "1986-03-14"},
		{"14.03.1986", MDY, "1986-03-14"},
		{"14-03-1986", DMY, "1986-03-14"},
		{"03/04/1986", MDY, "1986-03-04"},
		{"03/04/1986", DMY, "1986-04-03"},
		{"3/4/1986", DMY, "1986-04-03"},
		{"1986-02-29", MDY, ""},
		{"2000-02-29", MDY, "2000-02-29"},
		{"13/13/1986", MDY, ""},
		{"1986", MDY, ""},
		{"03/04/86", MDY, ""},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in, tt.order)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ParseDate(%q, %s) = %q, %v; want %q", tt.in, tt.order, got, ok, tt.want)
		}
	}
}

// TestConcurrentSearchAndWrites is for -race: searches run while patients are
// created and edited.
func TestConcurrentSearchAndWrites(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	seedClinic(t, s)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				p := mustCreate(t, s, Patient{GivenName: fmt.Sprintf("Writer%d", w), FamilyName: fmt.Sprintf("Number%d", i), DateOfBirth: "1980-01-01"})
				p.Notes = "edited"
				if err := s.UpdatePatient(&p); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, q := range []string{"z", "zo", "zoe", "writer", "555", "number1", "1980-01-01"} {
				s.Search(q, 10)
				s.DuplicateCandidates(Patient{GivenName: "Zoe", FamilyName: "Nguyen", DateOfBirth: "1986-03-14"})
				s.ListPatients(0, 5)
				s.UrgentPatients()
				s.PatientCount()
			}
		}()
	}
	wg.Wait()
	if got := len(s.Search("writer", 100)); got != 40 {
		t.Errorf("found %d writers, want 40", got)
	}
}
