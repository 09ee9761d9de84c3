package forms

import "fmt"

// STarT Back Screening Tool (Keele University): nine items, scored as in the
// tool's published scoring. Items 1–8 score 1 for "agree"; item 9 ("how
// bothersome") scores 1 for "very much" or "extremely". A total of 0–3 is low
// risk; from 4, a psychosocial subscale (items 5–9) of 4 or more is high risk,
// otherwise medium.
//
// A template includes the tool when it has the items startback-1 …
// startback-9.

// The STarT Back risk groups.
const (
	StartBackLow    = "low"
	StartBackMedium = "medium"
	StartBackHigh   = "high"
)

// startBackItems is the number of items in the tool.
const startBackItems = 9

// StartBackResult is the STarT Back score of one intake.
//
// Total (0–9) and Psychosocial (0–5, items 5–9) add up the items answered so
// far; they are the tool's score only when Complete. Risk is set only when
// Complete: an incomplete questionnaire never gets a risk group.
type StartBackResult struct {
	Total        int
	Psychosocial int
	Risk         string // "low", "medium" or "high"; "" unless Complete
	Answered     int    // items with one valid answer, 0–9
	Complete     bool   // all nine items answered
}

// ScoreStartBack scores the STarT Back items of the answers. It returns false
// if the template does not include STarT Back. An item counts as answered
// only with exactly one code that is an answer option of the item; anything
// else is treated as unanswered, never guessed.
func ScoreStartBack(t *Template, a Answers) (StartBackResult, bool) {
	if t == nil {
		return StartBackResult{}, false
	}
	var items [startBackItems]*Item
	for i := range items {
		items[i] = t.Find(startBackLinkID(i + 1))
		if items[i] == nil || items[i].Type != TypeChoice {
			return StartBackResult{}, false
		}
	}

	var r StartBackResult
	for i, it := range items {
		n := i + 1
		ans, ok := a[it.LinkID]
		if !ok || len(ans.Codes) != 1 {
			continue
		}
		code := ans.Codes[0]
		if _, valid := it.Option(code); !valid {
			continue
		}
		r.Answered++
		if !startBackPoint(n, code) {
			continue
		}
		r.Total++
		if n >= 5 {
			r.Psychosocial++
		}
	}

	r.Complete = r.Answered == startBackItems
	if r.Complete {
		switch {
		case r.Total <= 3:
			r.Risk = StartBackLow
		case r.Psychosocial >= 4:
			r.Risk = StartBackHigh
		default:
			r.Risk = StartBackMedium
		}
	}
	return r, true
}

// startBackLinkID is the linkId of STarT Back item n (1–9).
func startBackLinkID(n int) string { return fmt.Sprintf("startback-%d", n) }

// startBackPoint reports whether the answer code to item n scores a point.
func startBackPoint(n int, code string) bool {
	if n == startBackItems {
		return code == "very-much" || code == "extremely"
	}
	return code == "agree"
}

// Describe says the result in one plain line for the screen or the packet,
// for example "STarT Back: high risk (total 7 of 9, psychosocial 4 of 5)" or
// "STarT Back incomplete: 6 of 9 questions answered, no risk group".
func (r StartBackResult) Describe() string {
	switch {
	case r.Complete:
		return fmt.Sprintf("STarT Back: %s risk (total %d of 9, psychosocial %d of 5)", r.Risk, r.Total, r.Psychosocial)
	case r.Answered == 0:
		return "STarT Back: not answered"
	default:
		return fmt.Sprintf("STarT Back incomplete: %d of 9 questions answered, no risk group", r.Answered)
	}
}
