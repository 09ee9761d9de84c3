package mailbox

import (
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Person is what matching needs to know about one patient.
type Person struct {
	ID                    uint64
	GivenName, FamilyName string
	DateOfBirth           string // YYYY-MM-DD or empty
	Email                 string
	Phones                []string
}

// CandidateSource finds patients for a free-text query: a name or part of
// one, an email address, or phone digits. The store's search backs it.
type CandidateSource interface {
	Search(query string, limit int) []Person
}

// Match is one patient a request may be about, with why and how sure.
// It is a suggestion for the receptionist: nothing is linked automatically.
type Match struct {
	PatientID  uint64
	Name       string
	Reasons    []string // plain words: "same email", "same phone", …
	Confidence float64  // 0..1
}

const (
	searchLimit     = 20
	maxMatches      = 10
	minConfidence   = 0.15
	scoreEmail      = 0.6
	scorePhone      = 0.5
	scoreNameDOB    = 0.6
	scoreName       = 0.3
	scoreCloseName  = 0.15
	penaltyOtherDOB = 0.3
)

// MatchPatients ranks the patients a request may be about: same email, same
// phone (normalised to E.164 with region as the default country), same name
// (folded for case and accents) and date of birth, or a close name. The
// best come first; weak or contradicted candidates are left out.
func MatchPatients(r Request, people CandidateSource, region string) []Match {
	if people == nil {
		return nil
	}
	if region == "" {
		region = "US"
	}
	found := map[uint64]Person{}
	search := func(q string) {
		q = strings.TrimSpace(q)
		if q == "" {
			return
		}
		for _, p := range people.Search(q, searchLimit) {
			found[p.ID] = p
		}
	}
	search(r.Email)
	phone, national := "", ""
	if r.Phone != "" {
		phone, national = phoneForms(r.Phone, region)
		search(phone)
		search(strings.TrimPrefix(phone, "+"))
		if national != "" {
			search(national)
		}
	}
	given, family := r.GivenName, r.FamilyName
	if given == "" && family == "" {
		given, family = splitName(r.Name)
	}
	search(strings.TrimSpace(given + " " + family))
	if given == "" && family == "" {
		search(r.Name)
	}
	search(family)

	reqName := nameKey(r.Name, given, family)
	// The request's name folded once, not once per candidate.
	rg, rf := FoldName(given), FoldName(family)
	if rg == "" && rf == "" {
		rg, rf = splitName(FoldName(r.Name))
	}
	var matches []Match
	for _, p := range found {
		m := Match{PatientID: p.ID, Name: strings.TrimSpace(p.GivenName + " " + p.FamilyName)}
		score := 0.0
		if r.Email != "" && strings.EqualFold(strings.TrimSpace(p.Email), strings.TrimSpace(r.Email)) {
			score += scoreEmail
			m.Reasons = append(m.Reasons, "same email")
		}
		if phone != "" {
			for _, ph := range p.Phones {
				if samePhone(ph, phone, national, region) {
					score += scorePhone
					m.Reasons = append(m.Reasons, "same phone")
					break
				}
			}
		}
		pg, pf := FoldName(p.GivenName), FoldName(p.FamilyName)
		pName := sortedWords(pg + " " + pf)
		sameDOB := r.DateOfBirth != "" && r.DateOfBirth == p.DateOfBirth
		otherDOB := r.DateOfBirth != "" && p.DateOfBirth != "" && r.DateOfBirth != p.DateOfBirth
		switch {
		case reqName != "" && reqName == pName && sameDOB:
			score += scoreNameDOB
			m.Reasons = append(m.Reasons, "same name and date of birth")
		case reqName != "" && reqName == pName:
			score += scoreName
			m.Reasons = append(m.Reasons, "same name")
		case reqName != "" && closeNames(rg, rf, pg, pf):
			score += scoreCloseName
			m.Reasons = append(m.Reasons, "similar name")
			if sameDOB {
				score += scoreCloseName
				m.Reasons = append(m.Reasons, "same date of birth")
			}
		}
		if otherDOB {
			score -= penaltyOtherDOB
			m.Reasons = append(m.Reasons, "different date of birth")
		}
		if score < minConfidence {
			continue
		}
		if score > 1 {
			score = 1
		}
		m.Confidence = float64(int(score*100+0.5)) / 100
		matches = append(matches, m)
	}
	sort.Slice(matches, func(i, j int) bool {
		if matches[i].Confidence != matches[j].Confidence {
			return matches[i].Confidence > matches[j].Confidence
		}
		return matches[i].PatientID < matches[j].PatientID
	})
	if len(matches) > maxMatches {
		matches = matches[:maxMatches]
	}
	return matches
}

// samePhone reports whether a patient's stored number is the request's
// (phone in E.164, national its national significant digits). A stored
// number ending in the national digits is the same line written with or
// without a country code; otherwise both are normalised and compared.
func samePhone(stored, phone, national, region string) bool {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, stored)
	if digits == "" {
		return false
	}
	if len(national) >= 7 {
		if !strings.HasSuffix(digits, national) {
			return false
		}
		if len(digits) == len(national) || digits == strings.TrimPrefix(phone, "+") {
			return true
		}
	}
	return NormalizePhone(stored, region) == phone
}

// phoneForms returns a number in E.164 and its national significant
// digits ("+15035550142", "5035550142"), reading it once; a number that is
// not valid gives its digits and no national form.
func phoneForms(s, region string) (e164, national string) {
	n, err := parsePhone(s, strings.ToUpper(region))
	if err != nil || !isValidPhone(n) {
		return NormalizePhone(s, region), ""
	}
	return phonenumbers.Format(n, phonenumbers.E164), phonenumbers.GetNationalSignificantNumber(n)
}

// stripMarks holds transformers that remove accents (decompose, drop
// combining marks, recompose). A chain keeps buffers and state, so one is
// used by one goroutine at a time; making one costs more than folding a
// name with it.
var stripMarks = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// FoldName folds a name for comparison: lower case, no accents, single
// spaces ("José  Núñez" → "jose nunez").
func FoldName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		b := make([]byte, len(s))
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c == '-' || c == '\'' || c == '.' || c == ',' || c == '\t':
				c = ' '
			}
			b[i] = c
		}
		return strings.Join(strings.Fields(string(b)), " ")
	}
	t := stripMarks.Get().(transform.Transformer)
	out, _, err := transform.String(t, s)
	stripMarks.Put(t)
	if err != nil {
		out = s
	}
	out = cases.Fold().String(out)
	out = strings.Map(func(r rune) rune {
		if r == '-' || r == '\'' || r == '’' || r == '.' || r == ',' {
			return ' '
		}
		return r
	}, out)
	return strings.Join(strings.Fields(out), " ")
}

// nameKey is a folded name whose words are sorted, so "Kim Sarah" and
// "Sarah Kim" (and family-name-first scripts) compare equal.
func nameKey(full, given, family string) string {
	s := strings.TrimSpace(given + " " + family)
	if s == "" {
		s = full
	}
	return sortedWords(FoldName(s))
}

// sortedWords returns the words of s sorted, one space between them.
func sortedWords(s string) string {
	words := strings.Fields(s)
	sort.Strings(words)
	return strings.Join(words, " ")
}

// closeNames reports a likely typo or nickname-free variant: the same
// family name with a given name one or two edits away, or the other way
// round. All four names are folded (FoldName): rg, rf the request's
// given and family names, pg, pf the patient's.
func closeNames(rg, rf, pg, pf string) bool {
	if rf == "" || pf == "" {
		return false
	}
	near := func(a, b string) bool { return a != "" && b != "" && editDistance(a, b) <= 2 && len([]rune(a)) > 2 }
	switch {
	case rf == pf:
		return rg == "" || pg == "" || near(rg, pg) || strings.HasPrefix(pg, rg) || strings.HasPrefix(rg, pg)
	case rg == pg:
		return near(rf, pf)
	case rf == pg && rg == pf:
		return true
	}
	return false
}

// editDistance is the Levenshtein distance between a and b in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return 64
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
