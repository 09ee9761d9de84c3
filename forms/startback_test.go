package forms

import (
	"fmt"
	"testing"
)

// startBackAnswers answers STarT Back items 1–8 "agree" for the listed items
// and "disagree" otherwise, and item 9 with bother ("" leaves it unanswered).
func startBackAnswers(agree []int, bother string) Answers {
	a := Answers{}
	for n := 1; n <= 8; n++ {
		a[startBackLinkID(n)] = Codes("disagree")
	}
	for _, n := range agree {
		a[startBackLinkID(n)] = Codes("agree")
	}
	if bother != "" {
		a[startBackLinkID(9)] = Codes(bother)
	}
	return a
}

func TestScoreStartBack(t *testing.T) {
	tests := []struct {
		name   string
		agree  []int
		bother string
		want   StartBackResult
	}{
		{"nothing agreed", nil, "not-at-all",
			StartBackResult{Total: 0, Psychosocial: 0, Risk: "low", Answered: 9, Complete: true}},
		{"total 3 is low", []int{1, 2, 3}, "moderately",
			StartBackResult{Total: 3, Psychosocial: 0, Risk: "low", Answered: 9, Complete: true}},
		{"total 3 with psychosocial 3 is still low", []int{5, 6}, "very-much",
			StartBackResult{Total: 3, Psychosocial: 3, Risk: "low", Answered: 9, Complete: true}},
		{"total 4, physical items only: medium", []int{1, 2, 3, 4}, "slightly",
			StartBackResult{Total: 4, Psychosocial: 0, Risk: "medium", Answered: 9, Complete: true}},
		{"total 4, psychosocial 3: medium", []int{1, 5, 6, 7}, "moderately",
			StartBackResult{Total: 4, Psychosocial: 3, Risk: "medium", Answered: 9, Complete: true}},
		{"total 7, psychosocial 3: medium", []int{1, 2, 3, 4, 5, 6, 7}, "not-at-all",
			StartBackResult{Total: 7, Psychosocial: 3, Risk: "medium", Answered: 9, Complete: true}},
		{"total 4, psychosocial 4: high", []int{5, 6, 7, 8}, "slightly",
			StartBackResult{Total: 4, Psychosocial: 4, Risk: "high", Answered: 9, Complete: true}},
		{"very much bothered counts toward psychosocial", []int{5, 6, 7}, "very-much",
			StartBackResult{Total: 4, Psychosocial: 4, Risk: "high", Answered: 9, Complete: true}},
		{"extremely bothered counts", []int{1, 6, 8}, "extremely",
			StartBackResult{Total: 4, Psychosocial: 3, Risk: "medium", Answered: 9, Complete: true}},
		{"moderately bothered does not count", []int{5, 6, 7}, "moderately",
			StartBackResult{Total: 3, Psychosocial: 3, Risk: "low", Answered: 9, Complete: true}},
		{"everything", []int{1, 2, 3, 4, 5, 6, 7, 8}, "extremely",
			StartBackResult{Total: 9, Psychosocial: 5, Risk: "high", Answered: 9, Complete: true}},
		{"item 9 missing: no risk even though high looks certain", []int{1, 2, 5, 6, 7, 8}, "",
			StartBackResult{Total: 6, Psychosocial: 4, Risk: "", Answered: 8, Complete: false}},
	}
	tmpl := currentEvaluation(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ScoreStartBack(tmpl, startBackAnswers(tc.agree, tc.bother))
			if !ok || got != tc.want {
				t.Errorf("ScoreStartBack = %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
}

func TestScoreStartBackNeverGuesses(t *testing.T) {
	tmpl := currentEvaluation(t)
	full := startBackAnswers([]int{1, 2, 3, 4, 5, 6, 7, 8}, "extremely")
	tests := []struct {
		name         string
		change       Answers
		wantAnswered int
	}{
		{"one item missing", Answers{"startback-3": {}}, 8},
		{"one item empty", Answers{"startback-4": Codes()}, 8},
		{"unknown code", Answers{"startback-5": Codes("strongly-agree")}, 8},
		{"two codes", Answers{"startback-6": Codes("agree", "disagree")}, 8},
		{"yes instead of a code", Answers{"startback-7": Yes()}, 8},
		{"display text instead of code", Answers{"startback-9": Codes("Extremely")}, 8},
		{"item 1 of 9 code on item 9", Answers{"startback-9": Codes("agree")}, 8},
		{"several broken", Answers{"startback-1": Text("agree"), "startback-2": Int(1), "startback-8": Codes()}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Answers{}
			for k, v := range full {
				a[k] = v
			}
			for k, v := range tc.change {
				a[k] = v
			}
			if _, ok := tc.change["startback-3"]; ok {
				delete(a, "startback-3") // unanswered: no key at all
			}
			got, ok := ScoreStartBack(tmpl, a)
			if !ok {
				t.Fatal("STarT Back not found")
			}
			if got.Complete || got.Risk != "" || got.Answered != tc.wantAnswered {
				t.Errorf("got %+v; want incomplete, no risk, %d answered", got, tc.wantAnswered)
			}
		})
	}

	none, ok := ScoreStartBack(tmpl, nil)
	if !ok || none != (StartBackResult{}) {
		t.Errorf("no answers: %+v, %v", none, ok)
	}
}

func TestScoreStartBackNeedsTheTool(t *testing.T) {
	if _, ok := ScoreStartBack(nil, nil); ok {
		t.Error("nil template has STarT Back")
	}
	var items []Item
	for n := 1; n <= 8; n++ {
		items = append(items, Item{LinkID: startBackLinkID(n), Text: "q", Type: TypeChoice})
	}
	eight := &Template{ID: "t", Version: "1", Item: items}
	if _, ok := ScoreStartBack(eight, startBackAnswers([]int{1}, "")); ok {
		t.Error("a template with 8 of the 9 items has STarT Back")
	}
	nineAsText := &Template{ID: "t", Version: "1", Item: append(items, Item{LinkID: "startback-9", Text: "q", Type: TypeText})}
	if _, ok := ScoreStartBack(nineAsText, nil); ok {
		t.Error("item 9 as free text is not STarT Back")
	}
}

func TestStartBackDescribe(t *testing.T) {
	tests := []struct {
		r    StartBackResult
		want string
	}{
		{StartBackResult{Total: 6, Psychosocial: 4, Risk: "high", Answered: 9, Complete: true},
			"STarT Back: high risk (total 6 of 9, psychosocial 4 of 5)"},
		{StartBackResult{Total: 2, Risk: "low", Answered: 9, Complete: true},
			"STarT Back: low risk (total 2 of 9, psychosocial 0 of 5)"},
		{StartBackResult{Total: 6, Psychosocial: 4, Answered: 8},
			"STarT Back incomplete: 8 of 9 questions answered, no risk group"},
		{StartBackResult{}, "STarT Back: not answered"},
	}
	for _, tc := range tests {
		if got := tc.r.Describe(); got != tc.want {
			t.Errorf("%+v.Describe() = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func ExampleScoreStartBack() {
	tmpl, _ := Current(EvaluationID)
	a := Answers{
		"startback-1": Codes("agree"), "startback-2": Codes("disagree"),
		"startback-3": Codes("agree"), "startback-4": Codes("disagree"),
		"startback-5": Codes("agree"), "startback-6": Codes("agree"),
		"startback-7": Codes("agree"), "startback-8": Codes("disagree"),
		"startback-9": Codes("very-much"),
	}
	r, _ := ScoreStartBack(tmpl, a)
	fmt.Println(r.Describe())
	// Output: STarT Back: high risk (total 6 of 9, psychosocial 4 of 5)
}
