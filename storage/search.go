package storage

import (
	"container/heap"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// SearchResult is one patient found by Search.
type SearchResult struct {
	Patient Patient  `json:"patient"`
	Score   float64  `json:"score"`   // higher is better
	Matched []string `json:"matched"` // which fields matched: "name", "phone", "email", "date of birth"
}

// Field names reported in SearchResult.Matched.
const (
	MatchedName  = "name"
	MatchedPhone = "phone"
	MatchedEmail = "email"
	MatchedDOB   = "date of birth"
)

// MaxSearchResults caps Search's limit.
const MaxSearchResults = 500

type queryKind int

const (
	queryName queryKind = iota
	queryEmail
	queryPhone
	queryDate
)

// queryToken is one part of a search query; a patient must match every one.
type queryToken struct {
	kind     queryKind
	text     string   // folded name token, folded email, or ISO date
	digits   []string // phone: the digit strings to look for
	fullOnly bool     // phone typed with +: match international digits only
}

// minPhoneDigits is the fewest digits that search phone numbers.
const minPhoneDigits = 3

// parseQuery splits what was typed into query tokens. A whole query that is a
// date or a phone number (spaces and punctuation allowed) is one token.
func parseQuery(q, region string, order DateOrder) []queryToken {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	if iso, ok := ParseDate(q, order); ok {
		return []queryToken{{kind: queryDate, text: iso}}
	}
	if looksLikePhone(q) {
		return []queryToken{phoneToken(q, region)}
	}
	var out []queryToken
	for _, word := range strings.Fields(q) {
		switch {
		case strings.Contains(word, "@"):
			out = append(out, queryToken{kind: queryEmail, text: foldEmail(word)})
		case looksLikePhone(word):
			if iso, ok := ParseDate(word, order); ok {
				out = append(out, queryToken{kind: queryDate, text: iso})
			} else {
				out = append(out, phoneToken(word, region))
			}
		default:
			for _, t := range nameTokens(word, false) {
				out = append(out, queryToken{kind: queryName, text: t})
			}
		}
	}
	return out
}

func phoneToken(s, region string) queryToken {
	d := digitsOf(s)
	t := queryToken{kind: queryPhone, text: d, fullOnly: strings.HasPrefix(strings.TrimSpace(s), "+")}
	if len(d) < minPhoneDigits {
		return t // matches nothing
	}
	t.digits = []string{d}
	if !t.fullOnly {
		if ndd := phonenumbers.GetNddPrefixForRegion(region, true); ndd != "" && strings.HasPrefix(d, ndd) && len(d)-len(ndd) >= minPhoneDigits {
			t.digits = append(t.digits, d[len(ndd):])
		}
	}
	return t
}

// prefixScore rates how well q matches key: 1 for the whole key, between 0.5
// and 0.9 for a prefix (more of the key typed is better), 0 for no match.
func prefixScore(key, q string) float64 {
	if key == q {
		return 1
	}
	if q != "" && strings.HasPrefix(key, q) {
		return 0.5 + 0.4*float64(len(q))/float64(len(key))
	}
	return 0
}

// match rates one query token against an entry, and says which field matched.
func (t *queryToken) match(e *entry) (float64, string) {
	switch t.kind {
	case queryName:
		best := 0.0
		for _, tok := range e.tokens {
			if s := prefixScore(tok, t.text); s > best {
				best = s
			}
		}
		if best > 0 {
			return best, MatchedName
		}
		if s := prefixScore(e.email, t.text); s > 0 {
			return s * 0.8, MatchedEmail
		}
	case queryEmail:
		if s := prefixScore(e.email, t.text); s > 0 {
			return s, MatchedEmail
		}
	case queryPhone:
		best := 0.0
		for _, d := range t.digits {
			for _, ph := range e.phones {
				best = max(best, prefixScore(ph, d))
			}
			if !t.fullOnly {
				for _, n := range e.national {
					best = max(best, prefixScore(n, d))
				}
			}
		}
		if best > 0 {
			return best, MatchedPhone
		}
	case queryDate:
		if e.dob == t.text {
			return 1, MatchedDOB
		}
	}
	return 0, ""
}

// candidates calls fn with every entry index that may match t (possibly
// more than once), and returns how many there are when fn is nil.
func (x *index) candidates(t *queryToken, fn func(i int32)) int {
	n := 0
	visit := func(p *postings, prefix string) {
		for _, k := range p.prefixRange(prefix) {
			l := p.lists[k]
			n += len(l)
			if fn != nil {
				for _, i := range l {
					fn(i)
				}
			}
		}
	}
	switch t.kind {
	case queryName:
		visit(&x.names, t.text)
		visit(&x.emails, t.text)
	case queryEmail:
		visit(&x.emails, t.text)
	case queryPhone:
		for _, d := range t.digits {
			visit(&x.phones, d)
			if !t.fullOnly {
				visit(&x.national, d)
			}
		}
	case queryDate:
		l := x.byDOB[t.text]
		n += len(l)
		if fn != nil {
			for _, i := range l {
				fn(i)
			}
		}
	}
	return n
}

// hit is a scored search match.
type hit struct {
	e       *entry
	score   float64
	matched []string
}

// better orders hits best first: higher score, then list order.
func better(a, b *hit) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return lessEntry(a.e, b.e) < 0
}

// worstFirst is a heap of the best hits so far with the worst on top.
type worstFirst []*hit

func (h worstFirst) Len() int           { return len(h) }
func (h worstFirst) Less(i, j int) bool { return better(h[j], h[i]) }
func (h worstFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstFirst) Push(v any)        { *h = append(*h, v.(*hit)) }
func (h *worstFirst) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// Search finds patients by what a receptionist types: name tokens (any
// order, case and accents ignored, the last one may be unfinished), phone
// digits in any format (at least 3), an email address or its beginning, or
// a date of birth (1986-03-14, 03/14/1986, 14.03.1986; ambiguous dates follow
// the clinic's date order). Every part typed must match. Results are ranked
// best first (whole words above beginnings, more fields above fewer) and at
// most limit are returned (20 when limit <= 0, never more than
// MaxSearchResults).
func (s *Store) Search(query string, limit int) []SearchResult {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, MaxSearchResults)
	s.mu.RLock()
	tokens := parseQuery(query, s.region, s.dateOrder)
	hits := s.idx.search(tokens, limit)
	s.mu.RUnlock()
	if len(hits) == 0 {
		return nil
	}
	ids := make([]uint64, len(hits))
	for i, h := range hits {
		ids[i] = h.e.id
	}
	patients, err := s.patientsByID(ids)
	if err != nil {
		return nil
	}
	byID := make(map[uint64]Patient, len(patients))
	for _, p := range patients {
		byID[p.ID] = p
	}
	out := make([]SearchResult, 0, len(hits))
	for _, h := range hits {
		if p, ok := byID[h.e.id]; ok {
			out = append(out, SearchResult{Patient: p, Score: h.score, Matched: h.matched})
		}
	}
	return out
}

// search returns the best hits for the tokens, best first.
func (x *index) search(tokens []queryToken, limit int) []*hit {
	if len(tokens) == 0 {
		return nil
	}
	// Walk the postings of the most selective token; check the rest on the entry.
	driver := 0
	best := -1
	for i := range tokens {
		n := x.candidates(&tokens[i], nil)
		if n == 0 {
			return nil
		}
		if best < 0 || n < best {
			driver, best = i, n
		}
	}
	seen := make([]uint64, (len(x.entries)+63)/64)
	h := make(worstFirst, 0, limit+1)
	var matched [4]string
	x.candidates(&tokens[driver], func(i int32) {
		if seen[i/64]&(1<<(i%64)) != 0 {
			return
		}
		seen[i/64] |= 1 << (i % 64)
		e := x.entries[i]
		if e == nil {
			return
		}
		total := 0.0
		fields := matched[:0]
		for k := range tokens {
			sc, field := tokens[k].match(e)
			if sc == 0 {
				return
			}
			total += sc
			if !containsStr(fields, field) {
				fields = append(fields, field)
			}
		}
		total += 0.25 * float64(len(fields)-1)
		cand := hit{e: e, score: total}
		if len(h) == limit && !better(&cand, h[0]) {
			return
		}
		cand.matched = append([]string(nil), fields...)
		heap.Push(&h, &cand)
		if len(h) > limit {
			heap.Pop(&h)
		}
	})
	out := make([]*hit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(*hit)
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
