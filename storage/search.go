package storage

import (
	"container/heap"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"unicode"

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
		case strings.Contains(word, "@") || innerDot(word):
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

// innerDot reports whether a dot sits between two letters, as in the start
// of an email address ("zoe.ng"), which names do not have.
func innerDot(word string) bool {
	r := []rune(word)
	for i := 1; i+1 < len(r); i++ {
		if r[i] == '.' && unicode.IsLetter(r[i-1]) && unicode.IsLetter(r[i+1]) {
			return true
		}
	}
	return false
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

// field bits record which fields a patient matched.
const (
	fieldName uint8 = 1 << iota
	fieldEmail
	fieldPhone
	fieldDOB
)

var fieldNames = []struct {
	bit  uint8
	name string
}{{fieldName, MatchedName}, {fieldPhone, MatchedPhone}, {fieldEmail, MatchedEmail}, {fieldDOB, MatchedDOB}}

// scoreboard holds per-entry scores for one query token, dense by entry
// index, with the indexes touched so it can be cleared cheaply.
type scoreboard struct {
	score   []float32
	field   []uint8
	touched []int32
}

var scoreboards = sync.Pool{New: func() any { return new(scoreboard) }}

func getScoreboard(n int) *scoreboard {
	b := scoreboards.Get().(*scoreboard)
	if len(b.score) < n {
		b.score = make([]float32, n+n/8)
		b.field = make([]uint8, n+n/8)
	}
	return b
}

// putScoreboard clears what was touched and returns the board to the pool.
func putScoreboard(b *scoreboard) {
	for _, i := range b.touched {
		b.score[i], b.field[i] = 0, 0
	}
	b.touched = b.touched[:0]
	scoreboards.Put(b)
}

// raise keeps the better of the entry's score so far and s.
func (b *scoreboard) raise(i int32, s float32, field uint8) {
	switch old := b.score[i]; {
	case old == 0:
		b.touched = append(b.touched, i)
		fallthrough
	case s > old:
		b.score[i], b.field[i] = s, field
	}
}

// scoreToken gives every entry matching t its best score for t. Scores are
// worked out once per index key, not per patient.
func (x *index) scoreToken(t *queryToken, b *scoreboard) {
	names := func(prefix string) {
		x.names.visit(prefix, func(key string, ids []int32) {
			s := float32(prefixScore(key, prefix))
			for _, i := range ids {
				if i >= 0 {
					b.raise(i, s, fieldName)
				}
			}
		})
	}
	prefixes := func(p *pairPostings, prefix string, weight float32, field uint8) {
		p.visit(prefix, func(key string, i int32) {
			b.raise(i, weight*float32(prefixScore(key, prefix)), field)
		})
	}
	switch t.kind {
	case queryName:
		names(t.text)
	case queryEmail:
		prefixes(&x.emails, t.text, 1, fieldEmail)
	case queryPhone:
		for _, d := range t.digits {
			prefixes(&x.phones, d, 1, fieldPhone)
			if !t.fullOnly {
				prefixes(&x.national, d, 1, fieldPhone)
			}
		}
	case queryDate:
		x.dobs.visit(t.text, func(i int32) { b.raise(i, 1, fieldDOB) })
	}
}

// candidates counts the postings that may match t, to pick the most
// selective token first.
func (x *index) candidates(t *queryToken) int {
	n := 0
	switch t.kind {
	case queryName:
		n = x.names.count(t.text)
	case queryEmail:
		n = x.emails.count(t.text)
	case queryPhone:
		for _, d := range t.digits {
			n += x.phones.count(d)
			if !t.fullOnly {
				n += x.national.count(d)
			}
		}
	case queryDate:
		n = x.dobs.count(t.text)
	}
	return n
}

// hit is a scored search match, with what the list order needs of it.
type hit struct {
	id            uint64
	given, family string
	score         float64
	matched       []string
}

// listOrder compares hits in list order: family name, given name, ID.
func (a *hit) listOrder(b *hit) int {
	return compareNames(a.family, a.given, a.id, b.family, b.given, b.id)
}

// better orders hits best first: higher score, then list order.
func better(a, b *hit) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.listOrder(b) < 0
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
// order, case and accents ignored, each may be unfinished; ideographs one by
// one), phone digits in any format (at least 3; with or without the country
// code or the trunk 0), an email address or its beginning (a word with "@",
// or with a dot between letters such as "zoe.ng"), or a date of birth
// (1986-03-14, 03/14/1986, 14.03.1986; ambiguous dates follow the clinic's
// date order). Every part typed must match. The result is never nil. Results are ranked best first:
// whole words above beginnings, longer matched parts above shorter, more
// fields above fewer, then in list order. At most limit are returned (20
// when limit <= 0, never more than MaxSearchResults).
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
		return []SearchResult{}
	}
	ids := make([]uint64, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	byID, err := s.patientMap(ids)
	if err != nil {
		return []SearchResult{} // a record that cannot be read is reported where it is opened
	}
	out := make([]SearchResult, 0, len(hits))
	for _, h := range hits {
		if p, ok := byID[h.id]; ok {
			out = append(out, SearchResult{Patient: p, Score: h.score, Matched: h.matched})
		}
	}
	return out
}

// search returns the best hits for the tokens, best first. Tokens are
// scored from the most selective on; each further token only narrows.
func (x *index) search(tokens []queryToken, limit int) []*hit {
	if len(tokens) == 0 {
		return nil
	}
	counts := make([]int, len(tokens))
	for k := range tokens {
		if counts[k] = x.candidates(&tokens[k]); counts[k] == 0 {
			return nil
		}
	}
	order := make([]int, len(tokens))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int { return counts[a] - counts[b] })

	acc := getScoreboard(len(x.entries))
	defer putScoreboard(acc)
	x.scoreToken(&tokens[order[0]], acc)
	for _, k := range order[1:] {
		next := getScoreboard(len(x.entries))
		x.scoreToken(&tokens[k], next)
		kept := acc.touched[:0]
		for _, i := range acc.touched {
			if s := next.score[i]; s > 0 {
				acc.score[i] += s
				acc.field[i] |= next.field[i]
				kept = append(kept, i)
			} else {
				acc.score[i], acc.field[i] = 0, 0
			}
		}
		acc.touched = kept
		putScoreboard(next)
		if len(kept) == 0 {
			return nil
		}
	}

	h := make(worstFirst, 0, limit+1)
	for _, i := range acc.touched {
		score := float64(acc.score[i]) + 0.25*float64(bits.OnesCount8(acc.field[i])-1)
		if len(h) == limit && score < h[0].score {
			continue // cannot make the list: decided without touching the entry
		}
		p := x.entries[i]
		if p.keys == "" {
			continue
		}
		given, family := namesOf(p.keys)
		if len(h) == limit && score == h[0].score && compareNames(family, given, p.id, h[0].family, h[0].given, h[0].id) > 0 {
			continue
		}
		cand := &hit{id: p.id, given: given, family: family, score: score}
		for _, f := range fieldNames {
			if acc.field[i]&f.bit != 0 {
				cand.matched = append(cand.matched, f.name)
			}
		}
		heap.Push(&h, cand)
		if len(h) > limit {
			heap.Pop(&h)
		}
	}
	out := make([]*hit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(*hit)
	}
	return out
}
