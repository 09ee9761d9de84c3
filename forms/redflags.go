package forms

import (
	"strconv"
	"strings"
)

// ScreenStatus is the outcome of the red-flag screen.
type ScreenStatus string

// The outcomes of the red-flag screen. Unanswered is never clear.
const (
	ScreenUrgent     ScreenStatus = "urgent"     // at least one "yes"
	ScreenIncomplete ScreenStatus = "incomplete" // no "yes", but some items unanswered
	ScreenClear      ScreenStatus = "clear"      // every item answered "no"
)

// Screen is the result of evaluating the red-flag screen of an intake.
type Screen struct {
	Status     ScreenStatus
	Positive   []*Item // answered "yes", in template order
	Unanswered []*Item // not answered, in template order
	SameDay    bool    // a positive item needs same-day medical assessment (cauda equina)
}

// ScreenRedFlags evaluates the red-flag items of t against the answers.
// Positive items make the screen urgent even when others are unanswered.
func ScreenRedFlags(t *Template, a Answers) Screen {
	var s Screen
	for _, it := range t.RedFlagItems() {
		ans, ok := a[it.LinkID]
		switch {
		case !ok || ans.Bool == nil:
			s.Unanswered = append(s.Unanswered, it)
		case *ans.Bool:
			s.Positive = append(s.Positive, it)
			if cat, _ := it.RedFlag(); cat == CategoryCaudaEquina {
				s.SameDay = true
			}
		}
	}
	switch {
	case len(s.Positive) > 0:
		s.Status = ScreenUrgent
	case len(s.Unanswered) > 0:
		s.Status = ScreenIncomplete
	default:
		s.Status = ScreenClear
	}
	return s
}

// Describe says the result of the screen in one plain line for a banner, a
// list or the packet, naming every positive question, for example
// `URGENT: yes to "Have you ever had cancer?"; "Fever, chills or night sweats"`,
// `URGENT, same-day medical assessment: yes to "…"` when a cauda equina item
// is positive (with "(also 2 questions unanswered)" when some are),
// "Screening incomplete: 3 questions unanswered" or "No red flags reported".
func (s Screen) Describe() string {
	switch s.Status {
	case ScreenUrgent:
		head := "URGENT: "
		if s.SameDay {
			head = "URGENT, same-day medical assessment: "
		}
		texts := make([]string, len(s.Positive))
		for i, it := range s.Positive {
			texts[i] = `"` + it.Text + `"`
		}
		out := head + "yes to " + strings.Join(texts, "; ")
		if n := len(s.Unanswered); n > 0 {
			out += " (also " + countQuestions(n) + " unanswered)"
		}
		return out
	case ScreenIncomplete:
		return "Screening incomplete: " + countQuestions(len(s.Unanswered)) + " unanswered"
	case ScreenClear:
		return "No red flags reported"
	}
	return "Red-flag screen not done"
}

// countQuestions is "1 question" or "n questions".
func countQuestions(n int) string {
	if n == 1 {
		return "1 question"
	}
	return strconv.Itoa(n) + " questions"
}
