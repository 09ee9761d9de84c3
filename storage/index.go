package storage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// entry is the unpacked form of one patient's folded search keys, never the
// whole record. The index keeps each entry packed (see packed); entries are
// unpacked only to build, compare or remove keys.
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

// packed is one patient in the index: its ID and its search keys as encode
// wrote them (the plaintext of its record in the patient keys bucket).
// Every key the postings hold is a substring of keys, so a patient costs
// one string header and its bytes, not a struct of strings and lists. keys
// is "" where the patient was deleted.
type packed struct {
	id   uint64
	keys string
}

// index is the in-memory search index over every patient, plus what the
// store needs to know of intakes without reading them. It is guarded by
// Store.mu.
type index struct {
	entries  []packed         // dense; keys "" where a patient was deleted
	pos      map[uint64]int32 // nil while entries are in ID order, as they are unless a write broke it
	live     int
	names    postings     // name token -> entries
	emails   pairPostings // folded email -> entries
	phones   pairPostings // full international digits -> entries
	national pairPostings // national number digits -> entries
	dobs     dobPostings  // date of birth -> entries

	intakes     []intakeRef    // sorted by patient, then intake
	urgentCount map[uint64]int // patient ID -> number of urgent intakes

	order      []int32 // entries in list order, valid unless orderDirty
	orderDirty bool
}

func newIndex() *index {
	x := &index{
		urgentCount: make(map[uint64]int),
		orderDirty:  true,
	}
	x.emails.entries, x.phones.entries, x.national.entries = &x.entries, &x.entries, &x.entries
	return x
}

// entry unpacks entry i; nil where the patient was deleted.
func (x *index) entry(i int32) *entry {
	p := x.entries[i]
	if p.keys == "" {
		return nil
	}
	e, _ := unpack(p.id, p.keys)
	return e
}

// find returns where the patient with the ID is in entries. New patients
// get ever larger IDs, so entries stay in ID order and are searched by
// halves; should one ever come out of order, a map takes over.
func (x *index) find(id uint64) (int32, bool) {
	if x.pos != nil {
		i, ok := x.pos[id]
		return i, ok
	}
	j, ok := slices.BinarySearchFunc(x.entries, id, func(p packed, id uint64) int { return cmp.Compare(p.id, id) })
	if !ok || x.entries[j].keys == "" {
		return 0, false
	}
	return int32(j), true
}

// putEntry adds a patient's entry, or replaces its old one (removing the old
// keys before adding the new ones). Call finish after a batch of puts.
func (x *index) putEntry(e *entry) {
	p := packed{id: e.id, keys: string(e.encode())}
	i, ok := x.find(p.id)
	if ok {
		moved := comparePacked(x.entries[i], p) != 0
		if moved {
			x.orderRemove(i)
		}
		x.unlink(i)
		x.entries[i] = p
		if moved {
			x.orderInsert(i)
		}
	} else {
		i = int32(len(x.entries))
		if x.pos == nil && i > 0 && x.entries[i-1].id >= p.id {
			x.pos = make(map[uint64]int32, len(x.entries)+1)
			for j, q := range x.entries {
				if q.keys != "" {
					x.pos[q.id] = int32(j)
				}
			}
		}
		x.entries = append(x.entries, p)
		if x.pos != nil {
			x.pos[p.id] = i
		}
		x.live++
		x.orderInsert(i)
	}
	var v keyView
	v.read(p.keys) // encode's output always reads
	for _, t := range v.tokens {
		x.names.add(t, i)
	}
	x.link(i, &v)
	x.dobs.add(v.dob, i)
}

// link adds entry i's email and phone numbers to their pair postings.
func (x *index) link(i int32, v *keyView) {
	if v.email != "" {
		x.emails.add(i, v.emailAt)
	}
	for _, at := range v.phonesAt {
		x.phones.add(i, at)
	}
	for _, at := range v.nationalAt {
		x.national.add(i, at)
	}
}

// beginBatch stops keeping the list order up to date entry by entry before
// many puts; the next ListPatients sorts once.
func (x *index) beginBatch() {
	x.orderDirty, x.order = true, nil
}

// orderSearch finds where entry i sorts in the list order.
func (x *index) orderSearch(i int32) (int, bool) {
	return slices.BinarySearchFunc(x.order, x.entries[i], func(o int32, p packed) int { return comparePacked(x.entries[o], p) })
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
	var v keyView
	if !v.read(x.entries[i].keys) {
		return
	}
	for _, t := range v.tokens {
		x.names.remove(t, i)
	}
	x.emails.remove(v.email, i)
	for _, ph := range v.phones {
		x.phones.remove(ph, i)
	}
	for _, n := range v.national {
		x.national.remove(n, i)
	}
	x.dobs.remove(v.dob, i)
}

func (x *index) removePatient(id uint64) {
	i, ok := x.find(id)
	if !ok {
		return
	}
	x.orderRemove(i)
	x.unlink(i)
	x.entries[i] = packed{id: id} // keeps the ID order
	if x.pos != nil {
		delete(x.pos, id)
	}
	x.live--
}

// finish makes the keys added since the last call findable by prefix,
// cheaply after a single write.
func (x *index) finish() {
	x.names.finish(false)
	x.dobs.finish(false)
	x.emails.finish(false)
	x.phones.finish(false)
	x.national.finish(false)
}

// finishBatch sorts everything added by a batch (open, seed, import), the
// independent key lists in parallel.
func (x *index) finishBatch() {
	var wg sync.WaitGroup
	for _, f := range []func(){
		func() { x.names.finish(true) },
		func() { x.dobs.finish(true) },
		func() { x.emails.finish(true) },
		func() { x.phones.finish(true) },
		func() { x.national.finish(true) },
	} {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// intakeRef is one intake of a patient.
type intakeRef struct{ patient, intake uint64 }

func compareIntakeRefs(a, b intakeRef) int {
	if c := cmp.Compare(a.patient, b.patient); c != 0 {
		return c
	}
	return cmp.Compare(a.intake, b.intake)
}

// patientIntakes returns the patient's intakes, oldest first; the slice is
// the index's own.
func (x *index) patientIntakes(patientID uint64) []intakeRef {
	lo, _ := slices.BinarySearchFunc(x.intakes, intakeRef{patient: patientID}, compareIntakeRefs)
	hi := lo
	for hi < len(x.intakes) && x.intakes[hi].patient == patientID {
		hi++
	}
	return x.intakes[lo:hi]
}

// addIntake records a new intake of a patient. An intake of the newest
// patient (as when seeding) is appended; another is inserted in place.
func (x *index) addIntake(intakeID uint64, l intakeLink) {
	r := intakeRef{l.patientID, intakeID}
	if n := len(x.intakes); n == 0 || compareIntakeRefs(x.intakes[n-1], r) < 0 {
		x.intakes = append(x.intakes, r)
	} else if j, found := slices.BinarySearchFunc(x.intakes, r, compareIntakeRefs); !found {
		x.intakes = slices.Insert(x.intakes, j, r)
	}
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
	return compareNames(a.family, a.given, a.id, b.family, b.given, b.id)
}

// comparePacked is lessEntry for packed entries, read in place.
func comparePacked(a, b packed) int {
	ag, af := namesOf(a.keys)
	bg, bf := namesOf(b.keys)
	return compareNames(af, ag, a.id, bf, bg, b.id)
}

func compareNames(aFamily, aGiven string, aID uint64, bFamily, bGiven string, bID uint64) int {
	if c := cmp.Compare(aFamily, bFamily); c != 0 {
		return c
	}
	if c := cmp.Compare(aGiven, bGiven); c != 0 {
		return c
	}
	return cmp.Compare(aID, bID)
}

// buildIndex reads every patient's search keys and every intake link into a
// new index. Neither patient records nor intakes are decoded. The file is
// read in one short transaction; each patient's keys are copied once, into
// large shared blocks, and the maps and sorted lists are then built on all
// cores, each by its own goroutine, from substrings of those copies.
func (s *Store) buildIndex() error {
	x := newIndex()
	type link struct {
		intakeID uint64
		l        intakeLink
	}
	var links []link
	var counts struct{ emails, phones, national atomic.Int64 } // pairs to make room for
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return &Error{Msg: fmt.Sprintf("the clinic database is damaged: the %s bucket is missing", name), Kind: ErrUnreadable}
			}
		}
		keys := tx.Bucket(bucketPatientKeys)
		x.presize(int(tx.Bucket(bucketPatients).Sequence())) // a hint: IDs are never reused
		var err error
		x.entries, err = unsealAll(keys, x.entries, s.sealer, func() func(k, plain []byte) (packed, error) {
			var a arena
			var v keyView
			return func(k, plain []byte) (packed, error) {
				p := packed{id: btoi(k), keys: a.add(plain)}
				if !v.read(p.keys) {
					return packed{}, &Error{Msg: fmt.Sprintf("the search keys of patient %d are damaged", p.id), Kind: ErrUnreadable}
				}
				if v.email != "" {
					counts.emails.Add(1)
				}
				counts.phones.Add(int64(len(v.phones)))
				counts.national.Add(int64(len(v.national)))
				return p, nil
			}
		}, "the search keys of patient")
		if err != nil {
			return err
		}
		links = make([]link, 0, tx.Bucket(bucketIntakes).Sequence())
		links, err = unsealAll(tx.Bucket(bucketIntakePatients), links, s.sealer, func() func(k, plain []byte) (link, error) {
			return func(k, plain []byte) (link, error) {
				l, ok := decodeIntakeLink(plain)
				if !ok {
					return link{}, &Error{Msg: "an intake link is damaged", Kind: ErrUnreadable}
				}
				return link{btoi(k), l}, nil
			}
		}, "the link of intake")
		return err
	})
	if err != nil {
		return err
	}
	x.live = len(x.entries)
	var wg sync.WaitGroup
	// each runs f for every entry, read in place into the goroutine's own view.
	each := func(f func(i int32, v *keyView), then func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var v keyView
			for i, p := range x.entries {
				v.read(p.keys) // checked as it was copied
				f(int32(i), &v)
			}
			if then != nil {
				then()
			}
		}()
	}
	x.dobs.pending = make([]uint64, 0, len(x.entries))
	each(func(i int32, v *keyView) { x.dobs.add(v.dob, i) }, func() { x.dobs.finish(true) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		x.names.build(len(x.entries), func(add func(string, int32)) {
			var v keyView
			for i, p := range x.entries {
				v.read(p.keys) // checked as it was copied
				for _, t := range v.tokens {
					add(t, int32(i))
				}
			}
		})
	}()
	x.emails.pending = make([]pair, 0, counts.emails.Load())
	x.phones.pending = make([]pair, 0, counts.phones.Load())
	x.national.pending = make([]pair, 0, counts.national.Load())
	each(func(i int32, v *keyView) {
		if v.email != "" {
			x.emails.add(i, v.emailAt)
		}
	}, func() { x.emails.finish(true) })
	each(func(i int32, v *keyView) {
		for _, at := range v.phonesAt {
			x.phones.add(i, at)
		}
		for _, at := range v.nationalAt {
			x.national.add(i, at)
		}
	}, func() {
		x.phones.finish(true)
		x.national.finish(true)
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		x.intakes = make([]intakeRef, len(links))
		for j, l := range links {
			x.intakes[j] = intakeRef{l.l.patientID, l.intakeID}
			if l.l.urgent {
				x.urgentCount[l.l.patientID]++
			}
		}
		slices.SortFunc(x.intakes, compareIntakeRefs)
	}()
	wg.Wait()
	s.mu.Lock()
	s.idx = x
	s.mu.Unlock()
	return s.buildRequestIndex()
}

// arena copies many small byte strings into few large blocks, so that the
// index's keys are not 100,000 separate allocations. Each string returned
// shares its block; a block is freed once none of its strings is used.
type arena struct{ b strings.Builder }

// arenaBlock is the size of one block: large next to one patient's keys
// (about 100 bytes), small next to the index.
const arenaBlock = 64 << 10

func (a *arena) add(p []byte) string {
	if a.b.Cap()-a.b.Len() < len(p) {
		a.b = strings.Builder{}
		a.b.Grow(max(arenaBlock, len(p)))
	}
	n := a.b.Len()
	a.b.Write(p)
	// The builder only ever appends within its block, so the bytes of
	// earlier strings never change.
	return a.b.String()[n:]
}

// unsealAll unseals and decodes every value of b, appending the results to
// out in key order, in the caller's transaction. With the data key, the
// values are decrypted and decoded on every core (decryption is most of the
// added work of an encrypted store's unlock) into one reused buffer per
// core; decode must copy what it keeps of plain. newDecode is called once
// per goroutine, so that a decoder may keep state of its own.
func unsealAll[T any](b *bolt.Bucket, out []T, sealer Sealer, newDecode func() func(k, plain []byte) (T, error), what string) ([]T, error) {
	into, _ := sealer.(interface {
		unsealInto(dst, sealed []byte) ([]byte, error)
	})
	if into == nil { // nothing to decrypt: decode as bbolt reads
		decode := newDecode()
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
			decode := newDecode()
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
	x.entries = make([]packed, 0, n)
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

// keyReader reads what encode wrote, in place.
type keyReader struct {
	s   string
	pos int
	bad bool
}

// num reads a length or count; one past the end of the keys is damage.
func (r *keyReader) num() int {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if r.pos >= len(r.s) || shift > 63 {
			r.bad = true
			return 0
		}
		c := r.s[r.pos]
		r.pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if v > uint64(len(r.s)) {
		r.bad = true
		return 0
	}
	return int(v)
}

func (r *keyReader) str() string {
	n := r.num()
	if r.bad || r.pos+n > len(r.s) {
		r.bad = true
		return ""
	}
	s := r.s[r.pos : r.pos+n]
	r.pos += n
	return s
}

// keyView is a packed entry read in place: its strings are substrings of
// the keys, its lists are reused from one read to the next.
type keyView struct {
	name, dob, email         string
	given                    int // length of the given name in name
	tokens, phones, national []string

	// where the email and each phone and national number are in the keys
	// (the offset of their length), for pairPostings
	emailAt              uint32
	phonesAt, nationalAt []uint32
}

// read reads keys into v; false if they are damaged.
func (v *keyView) read(keys string) bool {
	if len(keys) == 0 || keys[0] != entryFormat {
		return false
	}
	r := keyReader{s: keys, pos: 1}
	v.name = r.str()
	v.given = r.num()
	v.dob = r.str()
	v.emailAt = uint32(r.pos)
	v.email = r.str()
	if r.bad || v.given > len(v.name) {
		return false
	}
	v.phonesAt, v.nationalAt = v.phonesAt[:0], v.nationalAt[:0]
	for _, l := range [3]struct {
		strs *[]string
		at   *[]uint32
	}{{&v.tokens, nil}, {&v.phones, &v.phonesAt}, {&v.national, &v.nationalAt}} {
		n := r.num()
		*l.strs = (*l.strs)[:0]
		for j := 0; j < n && !r.bad; j++ {
			if l.at != nil {
				*l.at = append(*l.at, uint32(r.pos))
			}
			*l.strs = append(*l.strs, r.str())
		}
		if r.bad {
			return false
		}
	}
	return true
}

// splitName cuts a folded "given family" name after the given name.
func splitName(name string, given int) (g, family string) {
	g = name[:given]
	if given < len(name) {
		family = name[min(given+1, len(name)):]
		if given == 0 {
			family = name
		}
	}
	return g, family
}

// namesOf reads just the folded given and family names of packed keys, for
// the list order.
func namesOf(keys string) (given, family string) {
	r := keyReader{s: keys, pos: 1}
	name := r.str()
	g := r.num()
	if r.bad || g > len(name) {
		return "", ""
	}
	return splitName(name, g)
}

// unpack reads packed keys into an entry whose strings share keys.
func unpack(id uint64, keys string) (*entry, bool) {
	var v keyView
	if !v.read(keys) {
		return nil, false
	}
	e := &entry{id: id, name: v.name, dob: v.dob, email: v.email, tokens: v.tokens, phones: v.phones, national: v.national}
	e.given, e.family = splitName(v.name, v.given)
	return e, true
}

// decodeEntry reads what encode wrote. The entry's strings share one copy
// of plain, which may belong to the database.
func decodeEntry(id uint64, plain []byte) (*entry, bool) {
	return unpack(id, string(plain))
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
			for i, p := range x.entries {
				if p.keys != "" {
					order = append(order, int32(i))
				}
			}
			slices.SortFunc(order, func(a, b int32) int { return comparePacked(x.entries[a], x.entries[b]) })
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
		if p := x.entries[i]; p.keys != "" {
			ids = append(ids, p.id)
		}
	}
	return ids
}
