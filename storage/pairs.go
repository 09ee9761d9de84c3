package storage

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// pair is one key of one entry, by where it is: the key is read from the
// entry's packed keys, so a pair is 8 bytes rather than a string header
// and an index.
type pair struct {
	i  int32  // entry index; for a tombstone, -1 - its keys' index in retired
	at uint32 // offset in the keys of the key's length
}

// pairPostings indexes keys that are nearly unique per patient (emails,
// phone numbers): one sorted slice of pairs, so a prefix is one contiguous
// run found by binary search, with no per-key map look-up. Writes go to a
// short unsorted pending list and removals leave tombstones; both are folded
// into the sorted slice when they grow past pendingLimit. A tombstone still
// sorts by its key, read from the entry's old keys, kept in retired until
// the tombstones are dropped.
type pairPostings struct {
	entries *[]packed // the index's entries, whose keys the pairs point into
	sorted  []pair
	pending []pair
	dead    int      // tombstones in sorted
	retired []string // the keys tombstones point into
}

// pendingLimit bounds the unsorted pairs a query scans and the tombstones it skips.
var pendingLimit = 1024

// key reads the key q points to.
func (p *pairPostings) key(q pair) string {
	var keys string
	if q.i >= 0 {
		keys = (*p.entries)[q.i].keys
	} else {
		keys = p.retired[-1-q.i]
	}
	r := keyReader{s: keys, pos: int(q.at)}
	return r.str()
}

// add adds the key of entry i whose length is at offset at of its keys.
func (p *pairPostings) add(i int32, at uint32) {
	p.pending = append(p.pending, pair{i, at})
}

// remove drops the pair (key, i). Call it before entry i's keys change.
func (p *pairPostings) remove(key string, i int32) {
	if key == "" {
		return
	}
	for j, q := range p.pending {
		if q.i == i && p.key(q) == key {
			p.pending[j] = p.pending[len(p.pending)-1]
			p.pending = p.pending[:len(p.pending)-1]
			return
		}
	}
	lo := sort.Search(len(p.sorted), func(j int) bool { return p.key(p.sorted[j]) >= key })
	for j := lo; j < len(p.sorted) && p.key(p.sorted[j]) == key; j++ {
		if p.sorted[j].i == i {
			p.retired = append(p.retired, (*p.entries)[i].keys)
			p.sorted[j].i = int32(-len(p.retired))
			p.dead++
			return
		}
	}
}

// finish folds pending pairs and tombstones into the sorted slice when there
// are many of them, or always when force is set.
func (p *pairPostings) finish(force bool) {
	if !force && len(p.pending) < pendingLimit && p.dead < pendingLimit {
		return
	}
	if len(p.pending) == 0 && p.dead == 0 {
		return
	}
	if p.dead > 0 {
		p.sorted = slices.DeleteFunc(p.sorted, func(q pair) bool { return q.i < 0 })
		p.dead, p.retired = 0, nil
	}
	p.sortPending()
	if len(p.sorted) == 0 {
		p.sorted, p.pending = p.pending, nil
		return
	}
	merged := make([]pair, 0, len(p.sorted)+len(p.pending)+len(p.pending)/2)
	a, b := p.sorted, p.pending
	for len(a) > 0 && len(b) > 0 {
		if p.compare(a[0], b[0]) <= 0 {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	p.sorted, p.pending = merged, p.pending[:0]
}

// sortPending sorts the pending pairs by key, then entry. Each key is read
// once, not at every comparison: the keys are spread over the index, and
// sorting 100,000 pairs reading them as it goes took three times as long.
func (p *pairPostings) sortPending() {
	type keyed struct {
		key string
		q   pair
	}
	all := make([]keyed, len(p.pending))
	for j, q := range p.pending {
		all[j] = keyed{p.key(q), q}
	}
	slices.SortFunc(all, func(a, b keyed) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.q.i, b.q.i)
	})
	for j, k := range all {
		p.pending[j] = k.q
	}
}

// compare orders pairs by key, then entry.
func (p *pairPostings) compare(a, b pair) int {
	if c := strings.Compare(p.key(a), p.key(b)); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// prefixRange returns the sorted pairs whose key starts with prefix
// (tombstones included: check i >= 0).
func (p *pairPostings) prefixRange(prefix string) []pair {
	lo := sort.Search(len(p.sorted), func(j int) bool { return p.key(p.sorted[j]) >= prefix })
	rest := p.sorted[lo:]
	hi := sort.Search(len(rest), func(j int) bool { return !strings.HasPrefix(p.key(rest[j]), prefix) })
	return rest[:hi]
}

// count is about how many entries have a key starting with prefix.
func (p *pairPostings) count(prefix string) int {
	n := len(p.prefixRange(prefix))
	for _, q := range p.pending {
		if strings.HasPrefix(p.key(q), prefix) {
			n++
		}
	}
	return n
}

// visit calls fn for every live pair whose key starts with prefix.
func (p *pairPostings) visit(prefix string, fn func(key string, i int32)) {
	for _, q := range p.prefixRange(prefix) {
		if q.i >= 0 {
			fn(p.key(q), q.i)
		}
	}
	for _, q := range p.pending {
		if k := p.key(q); strings.HasPrefix(k, prefix) {
			fn(k, q.i)
		}
	}
}

// exact returns the entries whose key is exactly key.
func (p *pairPostings) exact(key string) []int32 {
	var out []int32
	if key == "" {
		return nil
	}
	p.visit(key, func(k string, i int32) {
		if k == key {
			out = append(out, i)
		}
	})
	return out
}

// groups calls fn with the entries of every key that more than one entry has.
func (p *pairPostings) groups(fn func(ids []int32)) {
	all := make([]pair, 0, len(p.sorted)+len(p.pending))
	for _, q := range p.sorted {
		if q.i >= 0 {
			all = append(all, q)
		}
	}
	all = append(all, p.pending...)
	slices.SortFunc(all, p.compare)
	var ids []int32
	for j := 0; j < len(all); {
		k := j
		key := p.key(all[j])
		ids = ids[:0]
		for k < len(all) && p.key(all[k]) == key {
			ids = append(ids, all[k].i)
			k++
		}
		if len(ids) > 1 {
			fn(ids)
		}
		j = k
	}
}
