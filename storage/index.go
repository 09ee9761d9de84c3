package storage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

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

// indexFields are the parts of a patient its search keys are made from.
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

// makeEntry folds a patient's fields into its search keys.
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

// postings maps a name token to the entries holding it, with the keys kept
// sorted for prefix look-ups. Name tokens repeat across many patients (few
// keys, long lists); nearly unique keys use pairPostings instead.
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
	names    postings     // name token -> entries
	emails   pairPostings // folded email -> entries
	phones   pairPostings // full international digits -> entries
	national pairPostings // national number digits -> entries
	byDOB    map[string][]int32

	intakesOf   map[uint64][]uint64 // patient ID -> intake IDs
	urgentCount map[uint64]int      // patient ID -> number of urgent intakes

	order      []int32 // entries in list order, valid unless orderDirty
	orderDirty bool
}

func newIndex() *index {
	return &index{
		pos:         make(map[uint64]int32),
		names:       newPostings(),
		byDOB:       make(map[string][]int32),
		intakesOf:   make(map[uint64][]uint64),
		urgentCount: make(map[uint64]int),
		orderDirty:  true,
	}
}

// putEntry adds a patient's entry, or replaces its old one (removing the old
// keys before adding the new ones). Call finish after a batch of puts.
func (x *index) putEntry(e *entry) {
	i, ok := x.pos[e.id]
	if ok {
		old := x.entries[i]
		moved := old.family != e.family || old.given != e.given
		if moved {
			x.orderRemove(i)
		}
		x.unlink(i)
		x.entries[i] = e
		if moved {
			x.orderInsert(i)
		}
	} else {
		i = int32(len(x.entries))
		x.entries = append(x.entries, e)
		x.pos[e.id] = i
		x.live++
		x.orderInsert(i)
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
}

// beginBatch stops keeping the list order up to date entry by entry before
// many puts; the next ListPatients sorts once.
func (x *index) beginBatch() {
	x.orderDirty, x.order = true, nil
}

// orderSearch finds where entry i sorts in the list order.
func (x *index) orderSearch(i int32) (int, bool) {
	return slices.BinarySearchFunc(x.order, x.entries[i], func(o int32, e *entry) int { return lessEntry(x.entries[o], e) })
}

// orderInsert puts entry i at its place in the list order, if the order is kept.
func (x *index) orderInsert(i int32) {
	if !x.orderDirty {
		j, _ := x.orderSearch(i)
		x.order = slices.Insert(x.order, j, i)
	}
}

// orderRemove takes entry i out of the list order, if the order is kept.
func (x *index) orderRemove(i int32) {
	if x.orderDirty {
		return
	}
	if j, found := x.orderSearch(i); found && x.order[j] == i {
		x.order = slices.Delete(x.order, j, j+1)
	} else {
		x.beginBatch() // not where it should be: sort afresh when next asked
	}
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
	x.orderRemove(i)
	x.unlink(i)
	x.entries[i] = nil
	delete(x.pos, id)
	x.live--
}

// finish makes the keys added since the last call findable by prefix,
// cheaply after a single write.
func (x *index) finish() {
	x.names.finish()
	x.emails.finish(false)
	x.phones.finish(false)
	x.national.finish(false)
}

// finishBatch sorts everything added by a batch (open, seed, import), the
// independent key lists in parallel.
func (x *index) finishBatch() {
	var wg sync.WaitGroup
	for _, f := range []func(){
		x.names.finish,
		func() { x.emails.finish(true) },
		func() { x.phones.finish(true) },
		func() { x.national.finish(true) },
	} {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// addIntake records a new intake of a patient.
func (x *index) addIntake(intakeID uint64, l intakeLink) {
	x.intakesOf[l.patientID] = append(x.intakesOf[l.patientID], intakeID)
	if l.urgent {
		x.urgentCount[l.patientID]++
	}
}

// changeIntake records that an intake's urgency changed from old to l (an
// intake never changes patient).
func (x *index) changeIntake(old, l intakeLink) {
	if old.urgent == l.urgent {
		return
	}
	if l.urgent {
		x.urgentCount[l.patientID]++
		return
	}
	if x.urgentCount[old.patientID]--; x.urgentCount[old.patientID] <= 0 {
		delete(x.urgentCount, old.patientID)
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

// buildIndex reads every patient's search keys and every intake link into a
// new index. Neither patient records nor intakes are decoded. The file is
// read in one short transaction; the maps and sorted lists are then built
// on all cores, each by its own goroutine.
func (s *Store) buildIndex() error {
	x := newIndex()
	type link struct {
		intakeID uint64
		l        intakeLink
	}
	var links []link
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return &Error{Msg: fmt.Sprintf("the clinic database is damaged: the %s bucket is missing", name), Kind: ErrUnreadable}
			}
		}
		keys := tx.Bucket(bucketPatientKeys)
		x.presize(int(tx.Bucket(bucketPatients).Sequence())) // a hint: IDs are never reused
		var err error
		x.entries, err = unsealAll(keys, x.entries, s.sealer, func(k, plain []byte) (*entry, error) {
			e, ok := decodeEntry(btoi(k), plain)
			if !ok {
				return nil, &Error{Msg: fmt.Sprintf("the search keys of patient %d are damaged", btoi(k)), Kind: ErrUnreadable}
			}
			return e, nil
		}, "the search keys of patient")
		if err != nil {
			return err
		}
		links = make([]link, 0, tx.Bucket(bucketIntakes).Sequence())
		links, err = unsealAll(tx.Bucket(bucketIntakePatients), links, s.sealer, func(k, plain []byte) (link, error) {
			l, ok := decodeIntakeLink(plain)
			if !ok {
				return link{}, &Error{Msg: "an intake link is damaged", Kind: ErrUnreadable}
			}
			return link{btoi(k), l}, nil
		}, "the link of intake")
		return err
	})
	if err != nil {
		return err
	}
	x.live = len(x.entries)
	var wg sync.WaitGroup
	parallel := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	parallel(func() {
		for i, e := range x.entries {
			x.pos[e.id] = int32(i)
			if e.dob != "" {
				x.byDOB[e.dob] = append(x.byDOB[e.dob], int32(i))
			}
		}
	})
	parallel(func() {
		for i, e := range x.entries {
			for _, t := range e.tokens {
				x.names.add(t, int32(i))
			}
		}
		x.names.finish()
	})
	parallel(func() {
		for i, e := range x.entries {
			x.emails.add(e.email, int32(i))
		}
		x.emails.finish(true)
	})
	parallel(func() {
		for i, e := range x.entries {
			for _, ph := range e.phones {
				x.phones.add(ph, int32(i))
			}
		}
		x.phones.finish(true)
	})
	parallel(func() {
		for i, e := range x.entries {
			for _, n := range e.national {
				x.national.add(n, int32(i))
			}
		}
		x.national.finish(true)
	})
	parallel(func() {
		for _, l := range links {
			x.addIntake(l.intakeID, l.l)
		}
	})
	wg.Wait()
	s.mu.Lock()
	s.idx = x
	s.mu.Unlock()
	return s.buildRequestIndex()
}

// unsealAll unseals and decodes every value of b, appending the results to
// out in key order, in the caller's transaction. With the data key, the
// values are decrypted and decoded on every core (decryption is most of the
// added work of an encrypted store's unlock) into one reused buffer per
// core; decode must copy what it keeps of plain.
func unsealAll[T any](b *bolt.Bucket, out []T, sealer Sealer, decode func(k, plain []byte) (T, error), what string) ([]T, error) {
	into, _ := sealer.(interface {
		unsealInto(dst, sealed []byte) ([]byte, error)
	})
	if into == nil { // nothing to decrypt: decode as bbolt reads
		err := b.ForEach(func(k, v []byte) error {
			plain, err := sealer.Unseal(v)
			if err != nil {
				return &Error{Msg: fmt.Sprintf("cannot unseal %s %d: %v", what, btoi(k), err), Kind: ErrUnreadable}
			}
			t, err := decode(k, plain)
			out = append(out, t)
			return err
		})
		return out, err
	}
	type kv struct{ k, v []byte }
	raw := make([]kv, 0, cap(out)-len(out))
	b.ForEach(func(k, v []byte) error {
		raw = append(raw, kv{k, v})
		return nil
	})
	start := len(out)
	out = slices.Grow(out, len(raw))[:start+len(raw)]
	workers := min(runtime.GOMAXPROCS(0), max(1, len(raw)/4096))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(raw)/workers, (w+1)*len(raw)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := lo; i < hi; i++ {
				plain, err := into.unsealInto(buf[:0], raw[i].v)
				buf = plain
				if err != nil {
					errs[w] = &Error{Msg: fmt.Sprintf("cannot unseal %s %d: %v", what, btoi(raw[i].k), err), Kind: ErrUnreadable}
					return
				}
				if out[start+i], err = decode(raw[i].k, plain); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// presize makes room for about n patients, so that open does not grow maps
// step by step.
func (x *index) presize(n int) {
	if n <= 0 {
		return
	}
	x.entries = make([]*entry, 0, n)
	x.pos = make(map[uint64]int32, n)
	x.emails.pending = make([]pair, 0, n)
	x.phones.pending = make([]pair, 0, n+n/4)
	x.national.pending = make([]pair, 0, n+n/4)
	x.names.lists = make(map[string][]int32, n/8)
	x.byDOB = make(map[string][]int32, min(n, 40000))
	x.intakesOf = make(map[uint64][]uint64, n)
}

// entryFormat is the first byte of an encoded entry.
const entryFormat = 1

// encode writes the entry's keys compactly: the format byte, then
// length-prefixed name ("given family"), the given name's length, dob and
// email, then counted lists of tokens, phones and national numbers. The ID
// is the record's key and is not repeated.
func (e *entry) encode() []byte {
	b := make([]byte, 0, 64+len(e.name)+len(e.email)+16*len(e.tokens)+24*len(e.phones))
	b = append(b, entryFormat)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	list := func(l []string) {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, s := range l {
			str(s)
		}
	}
	str(e.name)
	b = binary.AppendUvarint(b, uint64(len(e.given)))
	str(e.dob)
	str(e.email)
	list(e.tokens)
	list(e.phones)
	list(e.national)
	return b
}

// decodeEntry reads what encode wrote. Every string of the entry shares one
// copy of the bytes, so plain may belong to the database.
func decodeEntry(id uint64, plain []byte) (*entry, bool) {
	if len(plain) == 0 || plain[0] != entryFormat {
		return nil, false
	}
	all := string(plain[1:])
	pos := 0
	bad := false
	num := func() int {
		v, n := binary.Uvarint(plain[1+pos:])
		if n <= 0 || v > uint64(len(all)) {
			bad = true
			return 0
		}
		pos += n
		return int(v)
	}
	str := func() string {
		n := num()
		if bad || pos+n > len(all) {
			bad = true
			return ""
		}
		s := all[pos : pos+n]
		pos += n
		return s
	}
	e := &entry{id: id}
	e.name = str()
	given := num()
	e.dob = str()
	e.email = str()
	if bad || given > len(e.name) {
		return nil, false
	}
	e.given = e.name[:given]
	if given < len(e.name) {
		e.family = e.name[min(given+1, len(e.name)):]
		if given == 0 {
			e.family = e.name
		}
	}
	counts := [3]int{}
	var lists [3][]string
	strs := make([]string, 0, 8)
	for i := range counts {
		counts[i] = num()
		if bad {
			return nil, false
		}
		start := len(strs)
		for range counts[i] {
			strs = append(strs, str())
		}
		lists[i] = strs[start:len(strs):len(strs)]
	}
	if bad {
		return nil, false
	}
	e.tokens, e.phones, e.national = lists[0], lists[1], lists[2]
	return e, true
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
