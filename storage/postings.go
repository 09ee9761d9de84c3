package storage

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// postings maps a name token to the entries holding it. Name tokens repeat
// across many patients (few keys, long lists; nearly unique keys use
// pairPostings instead), so the lists are laid end to end in one slice, in
// the order of their sorted keys: a prefix is one run of keys found by
// binary search, and an entry costs 4 bytes, with no map buckets or slice
// headers. Writes go to a short unsorted pending list and removals leave
// tombstones (-1); both are folded in when they grow past pendingLimit.
type postings struct {
	keys    []string // sorted, each with at least one posting when folded; substrings of entries' keys
	start   []int32  // the postings of keys[k] are ids[start[k]:start[k+1]]
	ids     []int32  // entry indexes; -1 where removed
	dead    []int32  // the key index of each tombstone, sorted
	pending []keyedPosting
}

// keyedPosting is one name token of one entry.
type keyedPosting struct {
	key string
	i   int32
}

func compareKeyed(a, b keyedPosting) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

func (p *postings) add(key string, i int32) {
	if key != "" {
		p.pending = append(p.pending, keyedPosting{key, i})
	}
}

// remove drops the posting (key, i).
func (p *postings) remove(key string, i int32) {
	for j, q := range p.pending {
		if q.i == i && q.key == key {
			p.pending[j] = p.pending[len(p.pending)-1]
			p.pending = p.pending[:len(p.pending)-1]
			return
		}
	}
	k, ok := slices.BinarySearch(p.keys, key)
	if !ok {
		return
	}
	list := p.ids[p.start[k]:p.start[k+1]]
	if j := slices.Index(list, i); j >= 0 {
		list[j] = -1
		d, _ := slices.BinarySearch(p.dead, int32(k))
		p.dead = slices.Insert(p.dead, d, int32(k))
	}
}

// finish folds the pending postings and tombstones into the lists when there
// are many of them, or always when force is set.
func (p *postings) finish(force bool) {
	if !force && len(p.pending) < pendingLimit && len(p.dead) < pendingLimit {
		return
	}
	if len(p.pending) == 0 && len(p.dead) == 0 {
		return
	}
	slices.SortFunc(p.pending, compareKeyed)
	live := len(p.ids) - len(p.dead) + len(p.pending)
	keys := make([]string, 0, len(p.keys)+len(p.pending))
	start := make([]int32, 0, cap(keys)+1)
	ids := make([]int32, 0, live)
	a, b := 0, p.pending
	for a < len(p.keys) || len(b) > 0 {
		var key string
		switch {
		case len(b) == 0 || (a < len(p.keys) && p.keys[a] <= b[0].key):
			key = p.keys[a]
		default:
			key = b[0].key
		}
		n := len(ids)
		if a < len(p.keys) && p.keys[a] == key {
			for _, i := range p.ids[p.start[a]:p.start[a+1]] {
				if i >= 0 {
					ids = append(ids, i)
				}
			}
			a++
		}
		for len(b) > 0 && b[0].key == key {
			ids = append(ids, b[0].i)
			b = b[1:]
		}
		if len(ids) > n {
			keys = append(keys, key)
			start = append(start, int32(n))
		}
	}
	p.keys, p.start, p.ids = slices.Clip(keys), append(start, int32(len(ids))), ids
	p.dead, p.pending = nil, p.pending[:0]
	if cap(p.pending) > pendingLimit {
		p.pending = nil
	}
}

// build sets the lists from every entry's tokens at once, as open does:
// each distinct token is looked up in a map, not sorted among all the
// others. The postings must be empty.
func (p *postings) build(n int, each func(add func(key string, i int32))) {
	tid := make(map[string]int32, n/8)
	var keys []string
	var counts []int32
	var tids, is []int32 // the postings in entry order, by token number
	each(func(key string, i int32) {
		if key == "" {
			return
		}
		t, ok := tid[key]
		if !ok {
			t = int32(len(keys))
			tid[key] = t
			keys = append(keys, key)
			counts = append(counts, 0)
		}
		counts[t]++
		tids = append(tids, t)
		is = append(is, i)
	})
	byKey := make([]int32, len(keys)) // token numbers in key order
	for t := range byKey {
		byKey[t] = int32(t)
	}
	slices.SortFunc(byKey, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) })
	p.keys = make([]string, len(keys))
	p.start = make([]int32, len(keys)+1)
	next := make([]int32, len(keys)) // by token number: where its next posting goes
	at := int32(0)
	for k, t := range byKey {
		p.keys[k], p.start[k], next[t] = keys[t], at, at
		at += counts[t]
	}
	p.start[len(keys)] = at
	p.ids = make([]int32, at)
	for j, t := range tids {
		p.ids[next[t]] = is[j]
		next[t]++
	}
}

// prefixRange returns the keys starting with prefix, as indexes [lo, hi).
func (p *postings) prefixRange(prefix string) (lo, hi int) {
	lo = sort.SearchStrings(p.keys, prefix)
	hi = lo + sort.Search(len(p.keys)-lo, func(j int) bool { return !strings.HasPrefix(p.keys[lo+j], prefix) })
	return lo, hi
}

// count is how many entries have a key starting with prefix.
func (p *postings) count(prefix string) int {
	n := 0
	if lo, hi := p.prefixRange(prefix); hi > lo {
		n = int(p.start[hi] - p.start[lo])
		d0, _ := slices.BinarySearch(p.dead, int32(lo))
		d1, _ := slices.BinarySearch(p.dead, int32(hi))
		n -= d1 - d0 // tombstones
	}
	for _, q := range p.pending {
		if strings.HasPrefix(q.key, prefix) {
			n++
		}
	}
	return n
}

// visit calls fn for every key starting with prefix, with its entries; an
// entry of -1 was removed. A key may come more than once: once for its
// folded postings and once for each pending one.
func (p *postings) visit(prefix string, fn func(key string, ids []int32)) {
	lo, hi := p.prefixRange(prefix)
	for k := lo; k < hi; k++ {
		fn(p.keys[k], p.ids[p.start[k]:p.start[k+1]])
	}
	for _, q := range p.pending {
		if strings.HasPrefix(q.key, prefix) {
			fn(q.key, []int32{q.i})
		}
	}
}

// dobPostings maps a date of birth to the entries born that day: one sorted
// slice of date<<32|entry, 8 bytes a patient, a date's entries one run found
// by binary search. Writes go to a short unsorted pending list and removals
// leave tombstones, folded in as in pairPostings. A date not in YYYY-MM-DD
// form (no save writes one) is kept apart, by its text.
type dobPostings struct {
	sorted  []uint64 // date<<32 | entry, ascending; a tombstone's entry is tombstone
	pending []uint64
	dead    int
	odd     map[string][]int32
}

const tombstone = 1<<32 - 1

// dateKey is YYYY-MM-DD as the number YYYYMMDD; false for another form.
func dateKey(dob string) (uint64, bool) {
	if len(dob) != 10 || dob[4] != '-' || dob[7] != '-' {
		return 0, false
	}
	var n uint64
	for j := 0; j < 10; j++ {
		if j == 4 || j == 7 {
			continue
		}
		c := dob[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

func (d *dobPostings) add(dob string, i int32) {
	if dob == "" {
		return
	}
	if k, ok := dateKey(dob); ok {
		d.pending = append(d.pending, k<<32|uint64(uint32(i)))
		return
	}
	if d.odd == nil {
		d.odd = make(map[string][]int32)
	}
	d.odd[dob] = append(d.odd[dob], i)
}

// run returns the sorted postings of date k (tombstones included).
func (d *dobPostings) run(k uint64) []uint64 {
	lo, _ := slices.BinarySearch(d.sorted, k<<32)
	hi, _ := slices.BinarySearch(d.sorted, (k+1)<<32)
	return d.sorted[lo:hi]
}

func (d *dobPostings) remove(dob string, i int32) {
	k, ok := dateKey(dob)
	if !ok {
		l := d.odd[dob]
		if j := slices.Index(l, i); j >= 0 {
			l[j] = l[len(l)-1]
			if l = l[:len(l)-1]; len(l) == 0 {
				delete(d.odd, dob)
			} else {
				d.odd[dob] = l
			}
		}
		return
	}
	v := k<<32 | uint64(uint32(i))
	if j := slices.Index(d.pending, v); j >= 0 {
		d.pending[j] = d.pending[len(d.pending)-1]
		d.pending = d.pending[:len(d.pending)-1]
		return
	}
	run := d.run(k)
	if j := slices.Index(run, v); j >= 0 {
		run[j] = k<<32 | tombstone // still sorts within its date
		d.dead++
	}
}

// finish folds pending postings and tombstones into the sorted slice when
// there are many of them, or always when force is set.
func (d *dobPostings) finish(force bool) {
	if !force && len(d.pending) < pendingLimit && d.dead < pendingLimit {
		return
	}
	if len(d.pending) == 0 && d.dead == 0 {
		return
	}
	if d.dead > 0 {
		d.sorted = slices.DeleteFunc(d.sorted, func(v uint64) bool { return v&tombstone == tombstone })
		d.dead = 0
	}
	slices.Sort(d.pending)
	if len(d.sorted) == 0 {
		d.sorted, d.pending = slices.Clip(d.pending), nil
		return
	}
	merged := make([]uint64, 0, len(d.sorted)+len(d.pending))
	a, b := d.sorted, d.pending
	for len(a) > 0 && len(b) > 0 {
		if a[0] <= b[0] {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	d.sorted = append(append(merged, a...), b...)
	d.pending = d.pending[:0]
	if cap(d.pending) > pendingLimit {
		d.pending = nil
	}
}

// visit calls fn for every entry born on dob.
func (d *dobPostings) visit(dob string, fn func(i int32)) {
	k, ok := dateKey(dob)
	if !ok {
		for _, i := range d.odd[dob] {
			fn(i)
		}
		return
	}
	for _, v := range d.run(k) {
		if v&tombstone != tombstone {
			fn(int32(uint32(v)))
		}
	}
	for _, v := range d.pending {
		if v>>32 == k {
			fn(int32(uint32(v)))
		}
	}
}

// exact returns the entries born on dob.
func (d *dobPostings) exact(dob string) []int32 {
	var out []int32
	d.visit(dob, func(i int32) { out = append(out, i) })
	return out
}

// count is how many entries were born on dob.
func (d *dobPostings) count(dob string) int {
	n := 0
	d.visit(dob, func(int32) { n++ })
	return n
}

// groups calls fn with the entries of every date more than one entry has.
func (d *dobPostings) groups(fn func(ids []int32)) {
	all := make([]uint64, 0, len(d.sorted)+len(d.pending))
	for _, v := range d.sorted {
		if v&tombstone != tombstone {
			all = append(all, v)
		}
	}
	all = append(all, d.pending...)
	slices.Sort(all)
	var ids []int32
	for j := 0; j < len(all); {
		ids = ids[:0]
		k := j
		for ; k < len(all) && all[k]>>32 == all[j]>>32; k++ {
			ids = append(ids, int32(uint32(all[k])))
		}
		if len(ids) > 1 {
			fn(ids)
		}
		j = k
	}
	for _, l := range d.odd {
		if len(l) > 1 {
			fn(l)
		}
	}
}
