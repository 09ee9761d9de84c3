package forms

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Mode says how strictly Validate checks answers.
type Mode int

const (
	// Draft checks only what was entered: unknown questions, answers of the
	// wrong kind, numbers out of range, codes not on the form, bad dates and
	// over-long text. Unanswered questions are fine in a draft.
	Draft Mode = iota
	// Complete checks everything Draft does and also that every required
	// question, including every red-flag question, has an answer.
	Complete
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case Draft:
		return "draft"
	case Complete:
		return "complete"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// MaxTextLength is the longest text answer accepted, in characters.
const MaxTextLength = 10000

// dateLayout is the only date format answers use (ISO 8601, YYYY-MM-DD).
const dateLayout = "2006-01-02"

// Problem is one thing wrong with the answers, in words a receptionist
// understands. LinkID names the question (or the unknown key) it concerns.
type Problem struct {
	LinkID string
	Msg    string
}

// String returns the message.
func (p Problem) String() string { return p.Msg }

// Validate checks the answers against the template and returns what is
// wrong, at most one problem per linkId: first the template's questions in
// template order, then answers to questions the template does not have,
// sorted by linkId. No problems means the answers are acceptable in the mode.
//
// In Complete mode an item is required when the template marks it required or
// it is a red-flag question; a required group needs at least one answered
// question inside it. Templates have no conditional questions (no FHIR
// enableWhen), so a required question is always required: follow-up
// questions such as "How did it go?" are therefore not marked required.
// Whether staff may save with unanswered red flags is the caller's decision.
func Validate(t *Template, a Answers, mode Mode) []Problem {
	if t == nil {
		return []Problem{{Msg: "there is no form to check these answers against"}}
	}
	var problems []Problem
	t.Walk(func(it *Item) {
		if p, ok := checkItem(it, a, mode); ok {
			problems = append(problems, p)
		}
	})

	var unknown []string
	for id := range a {
		if t.Find(id) == nil {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		problems = append(problems, Problem{
			LinkID: id,
			Msg:    fmt.Sprintf("%s is not a question on this form (version %s)", quoteKey(id), t.Version),
		})
	}
	return problems
}

// checkItem returns the problem with the item's answer, if there is one.
func checkItem(it *Item, a Answers, mode Mode) (Problem, bool) {
	ans, present := a[it.LinkID]
	if present && !ans.Empty() {
		if msg := checkAnswer(it, ans); msg != "" {
			return Problem{LinkID: it.LinkID, Msg: msg}, true
		}
	}
	if mode != Complete || !required(it) {
		return Problem{}, false
	}
	switch {
	case it.Type == TypeGroup:
		if !anyAnswered(it.Item, a) {
			return Problem{LinkID: it.LinkID, Msg: fmt.Sprintf("%s: answer at least one question in this section", quote(it.Text))}, true
		}
	case it.Answerable() && !answered(it, ans):
		msg := quote(it.Text) + " needs an answer"
		if _, red := it.RedFlag(); red {
			msg = quote(it.Text) + " needs a Yes or No answer (safety question)"
		}
		return Problem{LinkID: it.LinkID, Msg: msg}, true
	}
	return Problem{}, false
}

// required reports whether Complete mode needs an answer to the item.
// Red-flag questions are always required.
func required(it *Item) bool {
	if _, red := it.RedFlag(); red {
		return true
	}
	return it.Required
}

// answered reports whether ans is a real answer to the item: the field for
// its type is set, and text is not only spaces.
func answered(it *Item, ans Answer) bool {
	switch it.Type {
	case TypeBoolean:
		return ans.Bool != nil
	case TypeInteger:
		return ans.Int != nil
	case TypeChoice:
		return len(ans.Codes) > 0
	case TypeString, TypeText, TypeDate:
		return strings.TrimSpace(ans.Text) != ""
	}
	return false
}

// anyAnswered reports whether any answerable item among items or their
// descendants is answered.
func anyAnswered(items []Item, a Answers) bool {
	for i := range items {
		it := &items[i]
		if it.Answerable() && answered(it, a[it.LinkID]) {
			return true
		}
		if anyAnswered(it.Item, a) {
			return true
		}
	}
	return false
}

// checkAnswer returns what is wrong with a non-empty answer to the item, or "".
func checkAnswer(it *Item, ans Answer) string {
	q := quote(it.Text)
	switch it.Type {
	case TypeGroup, TypeDisplay:
		return q + " is a heading or an instruction, not a question, so it takes no answer"

	case TypeBoolean:
		if ans.Bool == nil || ans.Int != nil || ans.Text != "" || len(ans.Codes) > 0 {
			return q + ": answer Yes or No"
		}

	case TypeInteger:
		lo, hi, bounded := it.Range()
		want := q + ": enter a whole number"
		if bounded {
			want = fmt.Sprintf("%s: enter a number from %d to %d", q, lo, hi)
		}
		if ans.Int == nil || ans.Bool != nil || ans.Text != "" || len(ans.Codes) > 0 {
			return want
		}
		if bounded && (*ans.Int < lo || *ans.Int > hi) {
			return want
		}

	case TypeChoice:
		if len(ans.Codes) == 0 || ans.Bool != nil || ans.Int != nil || ans.Text != "" {
			return q + ": choose from the answers on the form"
		}
		if len(ans.Codes) > 1 && !it.Repeats {
			return q + ": choose only one answer"
		}
		seen := make(map[string]bool, len(ans.Codes))
		for _, code := range ans.Codes {
			opt, ok := it.Option(code)
			if !ok {
				return fmt.Sprintf("%s: %s is not one of the answers on the form", q, quoteKey(code))
			}
			if seen[code] {
				return fmt.Sprintf("%s: %s is chosen twice", q, quote(opt.Display))
			}
			seen[code] = true
		}

	case TypeString, TypeText, TypeDate:
		if ans.Bool != nil || ans.Int != nil || len(ans.Codes) > 0 {
			if it.Type == TypeDate {
				return q + ": enter a date as year-month-day, for example 2024-03-14"
			}
			return q + ": enter text"
		}
		if it.Type == TypeDate {
			if _, err := time.Parse(dateLayout, ans.Text); err != nil {
				return fmt.Sprintf("%s: %s is not a date; enter year-month-day, for example 2024-03-14", q, quoteKey(ans.Text))
			}
			return ""
		}
		if n := utf8.RuneCountInString(ans.Text); n > MaxTextLength {
			return fmt.Sprintf("%s: the answer is too long (%d characters); keep it to %d", q, n, MaxTextLength)
		}

	default:
		return fmt.Sprintf("%s: this form version cannot record answers of type %q", q, string(it.Type))
	}
	return ""
}

// quote puts a question's text in quotes for a message.
func quote(text string) string { return `"` + text + `"` }

// quoteKey quotes something a user or another program typed (a linkId, a
// code, a date), shortened so a message stays readable.
func quoteKey(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
