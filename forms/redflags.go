package forms

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
