package storage

import (
	"cmp"
	"slices"
	"sort"
	"strings"
)

// pair is one key of one entry.
type pair struct {
	key string
	i   int32 // entry index; -1 once removed
}

// pairPostings indexes keys that are nearly unique per patient (emails,
// phone numbers): one sorted slice of pairs, so a prefix is one contiguous
// run found by binary search, with no per-key map look-up. Writes go to a
// short unsorted pending list and removals leave tombstones; both are folded
// into the sorted slice when they grow past pendingLimit.
type pairPostings struct {
	sorted  []pair
	pending []pair
	dead    int // tombstones in sorted
}

// pendingLimit bounds the unsorted pairs a query scans and the tombstones it skips.
var pendingLimit = 1024

func (p *pairPostings) add(key string, i int32) {
	if key != "" {
		p.pending = append(p.pending, pair{key, i})
	}
}

// remove drops the pair (key, i).
func (p *pairPostings) remove(key string, i int32) {
	if key == "" {
		return
	}
	for j := range p.pending {
		if p.pending[j] == (pair{key, i}) {
			p.pending[j] = p.pending[len(p.pending)-1]
			p.pending = p.pending[:len(p.pending)-1]
			return
		}
	}
	lo := sort.Search(len(p.sorted), func(j int) bool { return p.sorted[j].key >= key })
	for j := lo; j < len(p.sorted) && p.sorted[j].key == key; j++ {
		if p.sorted[j].i == i {
			p.sorted[j].i = -1
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
		p.dead = 0
	}
	slices.SortFunc(p.pending, comparePairs)
	if len(p.sorted) == 0 {
		p.sorted, p.pending = p.pending, nil
		return
	}
	merged := make([]pair, 0, len(p.sorted)+len(p.pending)+len(p.pending)/2)
	a, b := p.sorted, p.pending
	for len(a) > 0 && len(b) > 0 {
		if comparePairs(a[0], b[0]) <= 0 {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	merged = append(append(merged, a...), b...)
	p.sorted, p.pending = merged, p.pending[:0]
}

func comparePairs(a, b pair) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// prefixRange returns the sorted pairs whose key starts with prefix
// (tombstones included: check i >= 0).
func (p *pairPostings) prefixRange(prefix string) []pair {
	lo := sort.Search(len(p.sorted), func(j int) bool { return p.sorted[j].key >= prefix })
	rest := p.sorted[lo:]
	hi := sort.Search(len(rest), func(j int) bool { return !strings.HasPrefix(rest[j].key, prefix) })
	return rest[:hi]
}

// count is about how many entries have a key starting with prefix.
func (p *pairPostings) count(prefix string) int {
	n := len(p.prefixRange(prefix))
	for _, q := range p.pending {
		if strings.HasPrefix(q.key, prefix) {
			n++
		}
	}
	return n
}

// visit calls fn for every live pair whose key starts with prefix.
func (p *pairPostings) visit(prefix string, fn func(key string, i int32)) {
	for _, q := range p.prefixRange(prefix) {
		if q.i >= 0 {
			fn(q.key, q.i)
		}
	}
	for _, q := range p.pending {
		if strings.HasPrefix(q.key, prefix) {
			fn(q.key, q.i)
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
	slices.SortFunc(all, comparePairs)
	var ids []int32
	for j := 0; j < len(all); {
		k := j
		ids = ids[:0]
		for k < len(all) && all[k].key == all[j].key {
			ids = append(ids, all[k].i)
			k++
		}
		if len(ids) > 1 {
			fn(ids)
		}
		j = k
	}
}
