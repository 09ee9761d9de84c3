package storage

import (
	"cmp"
	"slices"
)

// Reasons a patient may be a duplicate of another.
const (
	ReasonSameNameDOB  = "same name and date of birth"
	ReasonSamePhone    = "same phone"
	ReasonSameEmail    = "same email"
	ReasonCloseNameDOB = "close name, same date of birth"
)

// reasonOrder lists reasons strongest first.
var reasonOrder = []string{ReasonSameNameDOB, ReasonSameEmail, ReasonCloseNameDOB, ReasonSamePhone}

// Candidate is a stored patient who may be the same person as the one being
// registered or edited.
type Candidate struct {
	Patient Patient  `json:"patient"`
	Reasons []string `json:"reasons"`
}

// DuplicatePair is two stored patients who may be the same person.
type DuplicatePair struct {
	A       Patient  `json:"a"`
	B       Patient  `json:"b"`
	Reasons []string `json:"reasons"`
}

// closeName reports whether two folded names are one typo apart (an
// insertion, deletion, substitution or swap of neighbouring letters), or the
// given and family names are swapped.
func closeName(a, b *entry) bool {
	if a.name == "" || b.name == "" || a.name == b.name {
		return false
	}
	if a.given != "" && a.family != "" && a.given == b.family && a.family == b.given {
		return true
	}
	return withinOneEdit([]rune(a.name), []rune(b.name))
}

// withinOneEdit reports whether the optimal-string-alignment (Damerau–
// Levenshtein) distance between a and b is at most 1.
func withinOneEdit(a, b []rune) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	switch len(a) - len(b) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if i == len(a) {
			return true
		}
		if slices.Equal(a[i+1:], b[i+1:]) { // substitution
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && slices.Equal(a[i+2:], b[i+2:]) // swap
	case 1:
		i := 0
		for i < len(b) && a[i] == b[i] {
			i++
		}
		return slices.Equal(a[i+1:], b[i:])
	}
	return false
}

// reasonsBetween lists why a and b may be the same person, strongest first.
func reasonsBetween(a, b *entry) []string {
	var rs []string
	if a.dob != "" && a.dob == b.dob {
		if a.name != "" && a.name == b.name {
			rs = append(rs, ReasonSameNameDOB)
		} else if closeName(a, b) {
			rs = append(rs, ReasonCloseNameDOB)
		}
	}
	if a.email != "" && a.email == b.email {
		rs = append(rs, ReasonSameEmail)
	}
	for _, ph := range a.phones {
		if slices.Contains(b.phones, ph) {
			rs = append(rs, ReasonSamePhone)
			break
		}
	}
	slices.SortFunc(rs, func(x, y string) int {
		return cmp.Compare(slices.Index(reasonOrder, x), slices.Index(reasonOrder, y))
	})
	return rs
}

// candidateIndexes finds the entries that may be the same person as e.
func (x *index) candidateIndexes(e *entry) map[int32][]string {
	seen := make(map[int32]bool)
	out := make(map[int32][]string)
	consider := func(i int32) {
		if seen[i] {
			return
		}
		seen[i] = true
		o := x.entry(i)
		if o == nil || (e.id != 0 && o.id == e.id) {
			return
		}
		if rs := reasonsBetween(e, o); len(rs) > 0 {
			out[i] = rs
		}
	}
	x.dobs.visit(e.dob, consider)
	if e.email != "" {
		for _, i := range x.emails.exact(e.email) {
			consider(i)
		}
	}
	for _, ph := range e.phones {
		for _, i := range x.phones.exact(ph) {
			consider(i)
		}
	}
	return out
}

// DuplicateCandidates lists stored patients who may be the same person as p:
// same name and date of birth, same phone, same email, or a close name (one
// typo, or given and family swapped) with the same date of birth. p may be
// new (ID 0) or an edited patient, who is never their own candidate. The
// strongest candidates come first.
func (s *Store) DuplicateCandidates(p Patient) []Candidate {
	s.mu.RLock()
	region, order := s.region, s.dateOrder
	normalizePatient(&p, region, order)
	f := fieldsOf(&p)
	e := makeEntry(&f)
	found := s.idx.candidateIndexes(e)
	type cand struct {
		e       *entry
		reasons []string
	}
	list := make([]cand, 0, len(found))
	for i, rs := range found {
		list = append(list, cand{s.idx.entry(i), rs})
	}
	s.mu.RUnlock()
	slices.SortFunc(list, func(a, b cand) int {
		if c := cmp.Compare(slices.Index(reasonOrder, a.reasons[0]), slices.Index(reasonOrder, b.reasons[0])); c != 0 {
			return c
		}
		if c := cmp.Compare(len(b.reasons), len(a.reasons)); c != 0 {
			return c
		}
		return lessEntry(a.e, b.e)
	})
	ids := make([]uint64, len(list))
	for i, c := range list {
		ids[i] = c.e.id
	}
	byID, err := s.patientMap(ids)
	if err != nil {
		return []Candidate{}
	}
	out := make([]Candidate, 0, len(list))
	for _, c := range list {
		if q, ok := byID[c.e.id]; ok {
			out = append(out, Candidate{Patient: q, Reasons: c.reasons})
		}
	}
	return out
}

// AllDuplicates lists every pair of stored patients who may be the same
// person, with the reasons: the review queue. Pairs with the strongest
// reasons come first; within a pair, A has the lower ID.
func (s *Store) AllDuplicates() []DuplicatePair {
	type pair struct {
		a, b    *entry
		reasons []string
	}
	s.mu.RLock()
	x := s.idx
	seen := make(map[[2]int32]bool)
	var pairs []pair
	consider := func(i, j int32) {
		if i == j {
			return
		}
		if i > j {
			i, j = j, i
		}
		key := [2]int32{i, j}
		if seen[key] {
			return
		}
		seen[key] = true
		a, b := x.entry(i), x.entry(j)
		if a == nil || b == nil {
			return
		}
		if a.id > b.id {
			a, b = b, a
		}
		if rs := reasonsBetween(a, b); len(rs) > 0 {
			pairs = append(pairs, pair{a, b, rs})
		}
	}
	group := func(l []int32) {
		for m := 0; m < len(l); m++ {
			for n := m + 1; n < len(l); n++ {
				consider(l[m], l[n])
			}
		}
	}
	x.dobs.groups(group)
	x.emails.groups(group)
	x.phones.groups(group)
	s.mu.RUnlock()
	slices.SortFunc(pairs, func(p, q pair) int {
		if c := cmp.Compare(slices.Index(reasonOrder, p.reasons[0]), slices.Index(reasonOrder, q.reasons[0])); c != 0 {
			return c
		}
		if c := cmp.Compare(len(q.reasons), len(p.reasons)); c != 0 {
			return c
		}
		if c := cmp.Compare(p.a.id, q.a.id); c != 0 {
			return c
		}
		return cmp.Compare(p.b.id, q.b.id)
	})
	idSet := make(map[uint64]bool)
	var ids []uint64
	for _, p := range pairs {
		for _, id := range []uint64{p.a.id, p.b.id} {
			if !idSet[id] {
				idSet[id] = true
				ids = append(ids, id)
			}
		}
	}
	byID, err := s.patientMap(ids)
	if err != nil {
		return []DuplicatePair{}
	}
	out := make([]DuplicatePair, 0, len(pairs))
	for _, p := range pairs {
		a, okA := byID[p.a.id]
		b, okB := byID[p.b.id]
		if okA && okB {
			out = append(out, DuplicatePair{A: a, B: b, Reasons: p.reasons})
		}
	}
	return out
}
