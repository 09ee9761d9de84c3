package forms

// Answer is the answer to one item. Exactly one field is set, by item type:
// Bool for boolean, Int for integer, Codes for choice (one code, or several
// when the item repeats), Text for string, text and date (YYYY-MM-DD).
type Answer struct {
	Bool  *bool    `json:"bool,omitempty"`
	Int   *int     `json:"int,omitempty"`
	Text  string   `json:"text,omitempty"`
	Codes []string `json:"codes,omitempty"`
}

// Answers maps an item's linkId to its answer. A missing key is unanswered.
type Answers map[string]Answer

// Yes and No are boolean answers.
func Yes() Answer { b := true; return Answer{Bool: &b} }

// No is a "no" answer to a boolean item.
func No() Answer { b := false; return Answer{Bool: &b} }

// Int is an integer answer.
func Int(n int) Answer { return Answer{Int: &n} }

// Text is a text answer.
func Text(s string) Answer { return Answer{Text: s} }

// Codes is a choice answer.
func Codes(codes ...string) Answer { return Answer{Codes: codes} }

// Empty reports whether the answer holds nothing.
func (a Answer) Empty() bool {
	return a.Bool == nil && a.Int == nil && a.Text == "" && len(a.Codes) == 0
}
