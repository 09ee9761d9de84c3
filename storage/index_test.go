package storage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestEntryEncodeDecode(t *testing.T) {
	tests := []Patient{
		{ID: 1, GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14", Email: "Zoe@Example.com",
			Phones: []Phone{{Number: "(555) 123-4567", E164: "+15551234567"}, {Number: "+44 20 7946 0018", E164: "+442079460018"}}},
		{ID: 2, GivenName: "小龙", FamilyName: "李", PreferredName: "Bruce"},
		{ID: 3, FamilyName: "Suharto"},
		{ID: 4, GivenName: "Cher"},
		{ID: 5, GivenName: "Mary Ann", FamilyName: "O'Brien-Smith"},
	}
	for _, p := range tests {
		f := fieldsOf(&p)
		want := makeEntry(&f)
		got, ok := decodeEntry(p.ID, want.encode())
		if !ok {
			t.Fatalf("%s: cannot decode", p.DisplayName())
		}
		if got.id != want.id || got.name != want.name || got.given != want.given || got.family != want.family ||
			got.dob != want.dob || got.email != want.email || !slices.Equal(got.tokens, want.tokens) ||
			!slices.Equal(got.phones, want.phones) || !slices.Equal(got.national, want.national) {
			t.Errorf("%s: decoded %+v, want %+v", p.DisplayName(), got, want)
		}
	}
	good := makeEntry(&indexFields{GivenName: "Ana", FamilyName: "Silva"}).encode()
	for _, bad := range [][]byte{nil, {2}, good[:len(good)-1], append([]byte{1, 0xff, 0xff, 0xff}, good[1:]...)} {
		if _, ok := decodeEntry(1, bad); ok {
			t.Errorf("damaged keys %x decoded", bad)
		}
	}
}

func TestPairPostings(t *testing.T) {
	// Entry i has the email key "%05d" of i; entry 9999 repeats 00042.
	entries := make([]packed, 10000)
	p := pairPostings{entries: &entries}
	put := func(i int32, key string) uint32 {
		entries[i] = packed{id: uint64(i) + 1, keys: string((&entry{email: key}).encode())}
		var v keyView
		if !v.read(entries[i].keys) {
			t.Fatalf("cannot read keys of %q", key)
		}
		return v.emailAt
	}
	for i := range int32(3000) {
		p.add(i, put(i, fmt.Sprintf("%05d", i)))
		if i%500 == 0 {
			p.finish(false)
		}
	}
	p.add(9999, put(9999, "00042")) // a second entry with the same key
	p.remove("00007", 7)
	p.remove("02999", 2999) // still pending or already sorted: either way gone
	put(7, "77777")         // the removed entry's keys change: its tombstone still sorts by the old key
	for _, tt := range []struct {
		prefix string
		want   int
	}{{"0004", 11}, {"00007", 0}, {"0299", 9}, {"1", 0}, {"7", 0}} {
		n := 0
		p.visit(tt.prefix, func(string, int32) { n++ })
		if n != tt.want {
			t.Errorf("visit(%q) saw %d, want %d", tt.prefix, n, tt.want)
		}
	}
	if got := p.exact("00042"); len(got) != 2 {
		t.Errorf("exact(00042) = %v", got)
	}
	groups := 0
	p.groups(func(ids []int32) { groups++ })
	if groups != 1 {
		t.Errorf("%d shared keys, want 1", groups)
	}
	p.finish(true)
	if len(p.pending) != 0 || p.dead != 0 || len(p.retired) != 0 || !slices.IsSortedFunc(p.sorted, p.compare) || len(p.sorted) != 2999 {
		t.Errorf("after finish: %d pending, %d dead, %d sorted", len(p.pending), p.dead, len(p.sorted))
	}
}

// TestIndexMatchesReopen makes many random writes, then checks the live
// index answers exactly as one built from the file: old keys are removed on
// every update and delete. With a small pendingLimit, pending keys and
// tombstones are folded in many times; with the usual one, never.
func TestIndexMatchesReopen(t *testing.T) {
	for _, limit := range []int{8, pendingLimit} {
		t.Run(fmt.Sprint("pendingLimit=", limit), func(t *testing.T) {
			defer func(n int) { pendingLimit = n }(pendingLimit)
			pendingLimit = limit
			testIndexMatchesReopen(t)
		})
	}
}

func testIndexMatchesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	givens := []string{"Zoë", "Zoe", "Ana", "Anna", "Łukasz", "小龙", "Olga"}
	families := []string{"Nguyễn", "Nguyen", "Silva", "Wiśniewski", "李", "Petrova"}
	var ids []uint64
	dates := map[string]bool{}
	for step := range 400 {
		if step == 50 {
			s.ListPatients(0, 1) // from here on the list order is kept write by write
		}
		p := Patient{GivenName: givens[rng.IntN(len(givens))], FamilyName: families[rng.IntN(len(families))],
			DateOfBirth: fmt.Sprintf("19%02d-0%d-1%d", 50+rng.IntN(50), 1+rng.IntN(9), rng.IntN(10))}
		if rng.IntN(2) == 0 {
			p.Phones = []Phone{{Number: fmt.Sprintf("555-%03d-%04d", rng.IntN(5), rng.IntN(3))}}
		}
		if rng.IntN(3) == 0 {
			p.Email = fmt.Sprintf("p%d@example.com", rng.IntN(20))
		}
		dates[p.DateOfBirth] = true
		switch op := rng.IntN(10); {
		case op < 5 || len(ids) == 0:
			q := mustCreate(t, s, p)
			ids = append(ids, q.ID)
		case op < 8:
			j := rng.IntN(len(ids))
			old, err := s.Patient(ids[j])
			if err != nil {
				t.Fatal(err)
			}
			p.ID, p.Version = old.ID, old.Version
			if err := s.UpdatePatient(&p); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		default:
			j := rng.IntN(len(ids))
			if err := s.DeletePatient(ids[j]); err != nil {
				t.Fatal(err)
			}
			ids = slices.Delete(ids, j, j+1)
		}
	}
	queries := []string{"zoe", "zo", "nguyen", "ngu", "ana", "ann", "lukasz", "李", "小", "olga pet", "555", "555-00",
		"5550010000", "p1", "p1@", "p12@example.com", "1960-01-10", "a", "silva ana", "zo 1960-01-10", "nguyen ana 555"}
	for d := range dates { // every date of birth ever written, most no longer anyone's
		queries = append(queries, d, "an "+d)
	}
	slices.Sort(queries)
	type answer struct {
		ids        []uint64
		matched    []string
		candidates []int // what the index counts for each token, which orders them
	}
	ask := func(s *Store) map[string]answer {
		out := make(map[string]answer)
		for _, q := range queries {
			var a answer
			for _, r := range s.Search(q, 500) {
				a.ids = append(a.ids, r.Patient.ID)
				a.matched = append(a.matched, fmt.Sprint(r.Score, r.Matched))
			}
			s.mu.RLock()
			for _, tok := range parseQuery(q, s.region, s.dateOrder) {
				a.candidates = append(a.candidates, s.idx.candidates(&tok))
			}
			s.mu.RUnlock()
			out[q] = a
		}
		return out
	}
	dupsOf := func(s *Store) []string {
		var out []string
		for _, id := range ids {
			p, err := s.Patient(id)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range s.DuplicateCandidates(p) {
				out = append(out, fmt.Sprint(id, c.Patient.ID, c.Reasons))
			}
		}
		return out
	}
	live := ask(s)
	listIDs := func(s *Store) []uint64 {
		all, err := s.ListPatients(0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint64
		for _, p := range all {
			ids = append(ids, p.ID)
		}
		return ids
	}
	liveList := listIDs(s)
	liveDups := len(s.AllDuplicates())
	liveCands := dupsOf(s)
	liveCount := s.PatientCount()
	s.Close()
	s, err = Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fresh := ask(s)
	for _, q := range queries {
		if !slices.Equal(live[q].ids, fresh[q].ids) {
			t.Errorf("Search(%q): live index %v, rebuilt %v", q, live[q].ids, fresh[q].ids)
		} else if !slices.Equal(live[q].matched, fresh[q].matched) {
			t.Errorf("Search(%q) scores: live index %v, rebuilt %v", q, live[q].matched, fresh[q].matched)
		}
		if !slices.Equal(live[q].candidates, fresh[q].candidates) {
			t.Errorf("candidates(%q): live index %v, rebuilt %v", q, live[q].candidates, fresh[q].candidates)
		}
	}
	if fresh := dupsOf(s); !slices.Equal(liveCands, fresh) {
		t.Errorf("duplicate candidates: live %v, rebuilt %v", liveCands, fresh)
	}
	if fresh := listIDs(s); !slices.Equal(liveList, fresh) {
		t.Errorf("list order: live %v, rebuilt %v", liveList, fresh)
	}
	if liveCount != s.PatientCount() || liveCount != len(ids) {
		t.Errorf("count live %d, rebuilt %d, want %d", liveCount, s.PatientCount(), len(ids))
	}
	if d := len(s.AllDuplicates()); d != liveDups || d == 0 {
		t.Errorf("duplicates live %d, rebuilt %d", liveDups, d)
	}
}
