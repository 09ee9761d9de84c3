package storage

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// entry is what the in-memory index knows of one patient: folded search
// keys only, never the whole record.
type entry struct {
	id       uint64
	tokens   []string // folded name tokens of given, family and preferred names
	given    string   // folded given name, tokens joined by spaces
	family   string   // folded family name
	name     string   // folded "given family"
	dob      string   // YYYY-MM-DD
	phones   []string // full international digits of each phone ("15551234567")
	national []string // national significant numbers ("5551234567")
	email    string   // folded
}

// indexFields are the parts of a stored patient the index reads at open.
type indexFields struct {
	ID            uint64  `json:"id"`
	GivenName     string  `json:"given_name"`
	FamilyName    string  `json:"family_name"`
	PreferredName string  `json:"preferred_name"`
	DateOfBirth   string  `json:"date_of_birth"`
	Phones        []Phone `json:"phones"`
	Email         string  `json:"email"`
}

func fieldsOf(p *Patient) indexFields {
	return indexFields{ID: p.ID, GivenName: p.GivenName, FamilyName: p.FamilyName, PreferredName: p.PreferredName,
		DateOfBirth: p.DateOfBirth, Phones: p.Phones, Email: p.Email}
}

func makeEntry(f *indexFields) *entry {
	e := &entry{id: f.ID, dob: f.DateOfBirth, email: foldEmail(f.Email)}
	given := nameTokens(f.GivenName, false)
	family := nameTokens(f.FamilyName, false)
	e.given = strings.Join(given, " ")
	e.family = strings.Join(family, " ")
	switch {
	case e.given == "":
		e.name = e.family
	case e.family == "":
		e.name = e.given
	default:
		e.name = e.given + " " + e.family
	}
	e.tokens = appendUnique(e.tokens, nameTokens(f.GivenName, true)...)
	e.tokens = appendUnique(e.tokens, nameTokens(f.FamilyName, true)...)
	e.tokens = appendUnique(e.tokens, nameTokens(f.PreferredName, true)...)
	for _, ph := range f.Phones {
		keys := phoneKeys(ph.E164)
		if len(keys) > 0 {
			e.phones = appendUnique(e.phones, keys[0])
		}
		if len(keys) > 1 {
			e.national = appendUnique(e.national, keys[1])
		}
	}
	return e
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if it != "" && !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// postings maps a key to the entries holding it, with the keys kept sorted
// for prefix look-ups.
type postings struct {
	lists   map[string][]int32
	keys    []string // sorted; a key whose list is empty stays here
	pending []string // keys added since the last finish
}

func newPostings() postings { return postings{lists: make(map[string][]int32)} }

func (p *postings) add(key string, i int32) {
	if key == "" {
		return
	}
	l, ok := p.lists[key]
	if !ok {
		p.pending = append(p.pending, key)
	}
	p.lists[key] = append(l, i)
}

func (p *postings) remove(key string, i int32) {
	l := p.lists[key]
	if j := slices.Index(l, i); j >= 0 {
		l[j] = l[len(l)-1]
		p.lists[key] = l[:len(l)-1]
	}
}

// finish merges the keys added since the last call into the sorted keys.
func (p *postings) finish() {
	if len(p.pending) == 0 {
		return
	}
	slices.Sort(p.pending)
	p.pending = slices.Compact(p.pending)
	if len(p.keys) == 0 {
		p.keys, p.pending = p.pending, nil
		return
	}
	merged := make([]string, 0, len(p.keys)+len(p.pending))
	i, j := 0, 0
	for i < len(p.keys) || j < len(p.pending) {
		switch {
		case j == len(p.pending) || (i < len(p.keys) && p.keys[i] < p.pending[j]):
			merged = append(merged, p.keys[i])
			i++
		case i == len(p.keys) || p.pending[j] < p.keys[i]:
			merged = append(merged, p.pending[j])
			j++
		default:
			merged = append(merged, p.keys[i])
			i, j = i+1, j+1
		}
	}
	p.keys, p.pending = merged, nil
}

// prefixRange returns the keys starting with prefix.
func (p *postings) prefixRange(prefix string) []string {
	lo := sort.SearchStrings(p.keys, prefix)
	rest := p.keys[lo:]
	hi := sort.Search(len(rest), func(j int) bool { return !strings.HasPrefix(rest[j], prefix) })
	return rest[:hi]
}

// count is how many postings the keys starting with prefix hold.
func (p *postings) count(prefix string) int {
	n := 0
	for _, k := range p.prefixRange(prefix) {
		n += len(p.lists[k])
	}
	return n
}

// index is the in-memory search index over every patient, plus what the
// store needs to know of intakes without reading them. It is guarded by
// Store.mu.
type index struct {
	entries  []*entry // dense; nil where a patient was deleted
	pos      map[uint64]int32
	live     int
	names    postings // name token -> entries
	emails   postings // folded email -> entries
	phones   postings // full international digits -> entries
	national postings // national number digits -> entries
	byDOB    map[string][]int32

	intakesOf   map[uint64][]uint64   // patient ID -> intake IDs
	intakeLinks map[uint64]intakeLink // intake ID -> its link
	urgentCount map[uint64]int        // patient ID -> number of urgent intakes

	order      []int32 // entries in list order, valid unless orderDirty
	orderDirty bool
}

func newIndex() *index {
	return &index{
		pos:         make(map[uint64]int32),
		names:       newPostings(),
		emails:      newPostings(),
		phones:      newPostings(),
		national:    newPostings(),
		byDOB:       make(map[string][]int32),
		intakesOf:   make(map[uint64][]uint64),
		intakeLinks: make(map[uint64]intakeLink),
		urgentCount: make(map[uint64]int),
		orderDirty:  true,
	}
}

// putPatient adds the patient, or replaces its old entry (removing the old
// keys before adding the new ones). Call finish after a batch of puts.
func (x *index) putPatient(p *Patient) {
	f := fieldsOf(p)
	x.putEntry(makeEntry(&f))
}

func (x *index) putEntry(e *entry) {
	i, ok := x.pos[e.id]
	if ok {
		x.unlink(i)
		x.entries[i] = e
	} else {
		i = int32(len(x.entries))
		x.entries = append(x.entries, e)
		x.pos[e.id] = i
		x.live++
	}
	for _, t := range e.tokens {
		x.names.add(t, i)
	}
	x.emails.add(e.email, i)
	for _, ph := range e.phones {
		x.phones.add(ph, i)
	}
	for _, n := range e.national {
		x.national.add(n, i)
	}
	if e.dob != "" {
		x.byDOB[e.dob] = append(x.byDOB[e.dob], i)
	}
	x.orderDirty = true
}

// unlink removes the keys of entry i from every posting list.
func (x *index) unlink(i int32) {
	e := x.entries[i]
	for _, t := range e.tokens {
		x.names.remove(t, i)
	}
	x.emails.remove(e.email, i)
	for _, ph := range e.phones {
		x.phones.remove(ph, i)
	}
	for _, n := range e.national {
		x.national.remove(n, i)
	}
	if l := x.byDOB[e.dob]; l != nil {
		if j := slices.Index(l, i); j >= 0 {
			l[j] = l[len(l)-1]
			x.byDOB[e.dob] = l[:len(l)-1]
		}
	}
}

func (x *index) removePatient(id uint64) {
	i, ok := x.pos[id]
	if !ok {
		return
	}
	x.unlink(i)
	x.entries[i] = nil
	delete(x.pos, id)
	x.live--
	x.orderDirty = true
}

// finish makes the keys added since the last call findable by prefix.
func (x *index) finish() {
	x.names.finish()
	x.emails.finish()
	x.phones.finish()
	x.national.finish()
}

// putIntake records an intake's patient and urgency, replacing what was
// known of it before.
func (x *index) putIntake(intakeID uint64, l intakeLink) {
	if old, ok := x.intakeLinks[intakeID]; ok {
		if old.urgent {
			x.urgentCount[old.patientID]--
			if x.urgentCount[old.patientID] <= 0 {
				delete(x.urgentCount, old.patientID)
			}
		}
		if old.patientID != l.patientID {
			ids := x.intakesOf[old.patientID]
			if j := slices.Index(ids, intakeID); j >= 0 {
				x.intakesOf[old.patientID] = slices.Delete(ids, j, j+1)
			}
			x.intakesOf[l.patientID] = append(x.intakesOf[l.patientID], intakeID)
		}
	} else {
		x.intakesOf[l.patientID] = append(x.intakesOf[l.patientID], intakeID)
	}
	x.intakeLinks[intakeID] = l
	if l.urgent {
		x.urgentCount[l.patientID]++
	}
}

// lessEntry orders entries for the patient list: family name, given name, ID.
func lessEntry(a, b *entry) int {
	if c := cmp.Compare(a.family, b.family); c != 0 {
		return c
	}
	if c := cmp.Compare(a.given, b.given); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// buildIndex reads every patient and intake link into a new index. Intakes
// themselves are not read.
func (s *Store) buildIndex() error {
	x := newIndex()
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPatients)
		if n := b.Stats().KeyN; n > 0 {
			x.entries = make([]*entry, 0, n)
		}
		err := b.ForEach(func(k, v []byte) error {
			var f indexFields
			if err := s.unseal(v, &f, "patient", btoi(k)); err != nil {
				return err
			}
			f.ID = btoi(k)
			x.putEntry(makeEntry(&f))
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketIntakePatients).ForEach(func(k, v []byte) error {
			plain, err := s.sealer.Unseal(v)
			if err != nil {
				return &Error{Msg: "cannot unseal an intake link: " + err.Error(), Kind: ErrUnreadable}
			}
			l, ok := decodeIntakeLink(plain)
			if !ok {
				return &Error{Msg: "an intake link is damaged", Kind: ErrUnreadable}
			}
			x.putIntake(btoi(k), l)
			return nil
		})
	})
	if err != nil {
		return err
	}
	x.finish()
	s.mu.Lock()
	s.idx = x
	s.mu.Unlock()
	return nil
}

// page returns the IDs of the patients at [offset, offset+limit) in list
// order, sorting the list first if a write changed it.
func (s *Store) pageIDs(offset, limit int) []uint64 {
	s.mu.RLock()
	if s.idx.orderDirty {
		s.mu.RUnlock()
		s.mu.Lock()
		x := s.idx
		if x.orderDirty {
			order := make([]int32, 0, x.live)
			for i, e := range x.entries {
				if e != nil {
					order = append(order, int32(i))
				}
			}
			slices.SortFunc(order, func(a, b int32) int { return lessEntry(x.entries[a], x.entries[b]) })
			x.order, x.orderDirty = order, false
		}
		s.mu.Unlock()
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	x := s.idx
	if offset < 0 {
		offset = 0
	}
	if offset >= len(x.order) || limit <= 0 {
		return nil
	}
	end := min(offset+limit, len(x.order))
	ids := make([]uint64, 0, end-offset)
	for _, i := range x.order[offset:end] {
		if e := x.entries[i]; e != nil {
			ids = append(ids, e.id)
		}
	}
	return ids
}
