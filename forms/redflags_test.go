package forms

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// caudaEquina lists, independently of the template's markers, the items
// whose "yes" needs same-day medical assessment.
var caudaEquina = map[string]bool{
	"rf-weakness":        true,
	"rf-saddle-numbness": true,
	"rf-bladder":         true,
	"rf-bowel":           true,
}

// redFlagIDs lists the red-flag linkIds of the evaluation in template order.
func redFlagIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, it := range currentEvaluation(t).RedFlagItems() {
		ids = append(ids, it.LinkID)
	}
	return ids
}

// allNo answers every red flag "no".
func allNo(t *testing.T) Answers {
	a := Answers{}
	for _, id := range redFlagIDs(t) {
		a[id] = No()
	}
	return a
}

func linkIDs(items []*Item) []string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.LinkID)
	}
	return ids
}

func without(ids []string, drop ...string) []string {
	var out []string
	for _, id := range ids {
		keep := true
		for _, d := range drop {
			if id == d {
				keep = false
			}
		}
		if keep {
			out = append(out, id)
		}
	}
	return out
}

func TestScreenEachRedFlagAlone(t *testing.T) {
	tmpl := currentEvaluation(t)
	ids := redFlagIDs(t)
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			// The others answered "no".
			a := allNo(t)
			a[id] = Yes()
			s := ScreenRedFlags(tmpl, a)
			if s.Status != ScreenUrgent {
				t.Errorf("status %s, want urgent", s.Status)
			}
			if got := linkIDs(s.Positive); !reflect.DeepEqual(got, []string{id}) {
				t.Errorf("positive %v, want exactly [%s]", got, id)
			}
			if len(s.Unanswered) != 0 {
				t.Errorf("unanswered %v, want none", linkIDs(s.Unanswered))
			}
			if s.SameDay != caudaEquina[id] {
				t.Errorf("SameDay %v, want %v", s.SameDay, caudaEquina[id])
			}

			// The others unanswered: still urgent, and they are listed.
			s = ScreenRedFlags(tmpl, Answers{id: Yes()})
			if s.Status != ScreenUrgent || !reflect.DeepEqual(linkIDs(s.Positive), []string{id}) {
				t.Errorf("alone with the rest unanswered: %s %v", s.Status, linkIDs(s.Positive))
			}
			if got, want := linkIDs(s.Unanswered), without(ids, id); !reflect.DeepEqual(got, want) {
				t.Errorf("unanswered %v, want %v", got, want)
			}
			if s.SameDay != caudaEquina[id] {
				t.Errorf("SameDay %v with the rest unanswered, want %v", s.SameDay, caudaEquina[id])
			}
		})
	}
	for id := range caudaEquina {
		if cat, ok := tmpl.Find(id).RedFlag(); !ok || cat != CategoryCaudaEquina {
			t.Errorf("%s should be marked %s, is %q", id, CategoryCaudaEquina, cat)
		}
	}
}

func TestScreenRedFlags(t *testing.T) {
	ids := redFlagIDs(t)
	tests := []struct {
		name           string
		base           Answers // answers to set; an empty Answer removes the item
		overAllNo      bool    // start from every red flag answered "no"
		wantStatus     ScreenStatus
		wantPositive   []string
		wantUnanswered []string
		wantSameDay    bool
	}{
		{name: "all no is clear", overAllNo: true, wantStatus: ScreenClear},
		{name: "nothing answered is incomplete, never clear", wantStatus: ScreenIncomplete, wantUnanswered: ids},
		{name: "two flags without a same-day need",
			overAllNo: true, base: Answers{"rf-fever": Yes(), "rf-immune": Yes()},
			wantStatus: ScreenUrgent, wantPositive: []string{"rf-fever", "rf-immune"}},
		{name: "cauda equina with malignancy",
			overAllNo: true, base: Answers{"rf-weight-loss": Yes(), "rf-bladder": Yes()},
			wantStatus: ScreenUrgent, wantPositive: []string{"rf-bladder", "rf-weight-loss"}, wantSameDay: true},
		{name: "two cauda equina",
			overAllNo: true, base: Answers{"rf-bowel": Yes(), "rf-saddle-numbness": Yes()},
			wantStatus: ScreenUrgent, wantPositive: []string{"rf-saddle-numbness", "rf-bowel"}, wantSameDay: true},
		{name: "fracture items together",
			overAllNo: true, base: Answers{"rf-trauma": Yes(), "rf-minor-trauma": Yes()},
			wantStatus: ScreenUrgent, wantPositive: []string{"rf-trauma", "rf-minor-trauma"}},
		{name: "every flag yes",
			base: func() Answers {
				a := Answers{}
				for _, id := range ids {
					a[id] = Yes()
				}
				return a
			}(),
			wantStatus: ScreenUrgent, wantPositive: ids, wantSameDay: true},
		{name: "partial, only no: incomplete with exactly the rest",
			base:       Answers{"rf-weakness": No(), "rf-cancer": No(), "rf-fever": No()},
			wantStatus: ScreenIncomplete, wantUnanswered: without(ids, "rf-weakness", "rf-cancer", "rf-fever")},
		{name: "one left unanswered",
			overAllNo: true, base: Answers{"rf-night-pain": {}},
			wantStatus: ScreenIncomplete, wantUnanswered: []string{"rf-night-pain"}},
		{name: "partial with a yes: urgent, still listing the unanswered",
			base:       Answers{"rf-weakness": No(), "rf-immune": Yes()},
			wantStatus: ScreenUrgent, wantPositive: []string{"rf-immune"}, wantUnanswered: without(ids, "rf-weakness", "rf-immune")},
		{name: "answer without Bool is unanswered",
			overAllNo: true, base: Answers{"rf-cancer": Text("yes"), "rf-fever": Int(1), "rf-bowel": Codes("yes")},
			wantStatus: ScreenIncomplete, wantUnanswered: []string{"rf-bowel", "rf-cancer", "rf-fever"}},
		{name: "other questions answered yes do not count",
			overAllNo: true, base: Answers{"tried-pt-done": Yes(), "tried-imaging-done": Yes(), "no-such": Yes()},
			wantStatus: ScreenClear},
	}
	tmpl := currentEvaluation(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Answers{}
			if tc.overAllNo {
				a = allNo(t)
			}
			for k, v := range tc.base {
				if v.Empty() {
					delete(a, k)
					continue
				}
				a[k] = v
			}
			s := ScreenRedFlags(tmpl, a)
			if s.Status != tc.wantStatus {
				t.Errorf("status %s, want %s", s.Status, tc.wantStatus)
			}
			if got := linkIDs(s.Positive); !reflect.DeepEqual(got, tc.wantPositive) {
				t.Errorf("positive %v, want %v", got, tc.wantPositive)
			}
			if got := linkIDs(s.Unanswered); !reflect.DeepEqual(got, tc.wantUnanswered) {
				t.Errorf("unanswered %v, want %v", got, tc.wantUnanswered)
			}
			if s.SameDay != tc.wantSameDay {
				t.Errorf("SameDay %v, want %v", s.SameDay, tc.wantSameDay)
			}
		})
	}
}

// TestScreenUnansweredIsNeverClear tries every subset of answered items
// (all answered "no"): only the full set is clear.
func TestScreenUnansweredIsNeverClear(t *testing.T) {
	tmpl := currentEvaluation(t)
	ids := redFlagIDs(t)
	for mask := 0; mask < 1<<len(ids); mask++ {
		a := Answers{}
		for i, id := range ids {
			if mask&(1<<i) != 0 {
				a[id] = No()
			} else if i%2 == 0 {
				a[id] = Answer{} // present but empty: still unanswered
			}
		}
		s := ScreenRedFlags(tmpl, a)
		all := mask == 1<<len(ids)-1
		if (s.Status == ScreenClear) != all {
			t.Fatalf("answered mask %b: status %s", mask, s.Status)
		}
		if !all && s.Status != ScreenIncomplete {
			t.Fatalf("answered mask %b: status %s, want incomplete", mask, s.Status)
		}
	}
}

func TestScreenDescribe(t *testing.T) {
	tmpl := currentEvaluation(t)
	item := func(id string) *Item { return tmpl.Find(id) }
	tests := []struct {
		name string
		s    Screen
		want string
	}{
		{"clear", Screen{Status: ScreenClear}, "No red flags reported"},
		{"incomplete", Screen{Status: ScreenIncomplete, Unanswered: []*Item{item("rf-fever"), item("rf-cancer"), item("rf-bowel")}},
			"Screening incomplete: 3 questions unanswered"},
		{"incomplete one", Screen{Status: ScreenIncomplete, Unanswered: []*Item{item("rf-fever")}},
			"Screening incomplete: 1 question unanswered"},
		{"urgent", Screen{Status: ScreenUrgent, Positive: []*Item{item("rf-weight-loss"), item("rf-fever")}},
			`URGENT: yes to "Weight loss you cannot explain"; "Fever, chills or night sweats"`},
		{"urgent same day, with unanswered", Screen{Status: ScreenUrgent, SameDay: true,
			Positive:   []*Item{item("rf-bladder")},
			Unanswered: []*Item{item("rf-fever"), item("rf-cancer")}},
			`URGENT, same-day medical assessment: yes to "New trouble passing urine, or leaking urine without control" (also 2 questions unanswered)`},
		{"zero value", Screen{}, "Red-flag screen not done"},
	}
	for _, tc := range tests {
		if got := tc.s.Describe(); got != tc.want {
			t.Errorf("%s: Describe() = %q, want %q", tc.name, got, tc.want)
		}
	}

	// From the real screen: every positive question is named.
	a := allNo(t)
	a["rf-weakness"], a["rf-cancer"] = Yes(), Yes()
	d := ScreenRedFlags(tmpl, a).Describe()
	if !strings.HasPrefix(d, "URGENT, same-day") || !strings.Contains(d, item("rf-weakness").Text) || !strings.Contains(d, item("rf-cancer").Text) {
		t.Errorf("Describe of weakness + cancer = %q", d)
	}
}

func ExampleScreen_Describe() {
	tmpl, _ := Current(EvaluationID)
	a := Answers{}
	for _, it := range tmpl.RedFlagItems() {
		a[it.LinkID] = No()
	}
	fmt.Println(ScreenRedFlags(tmpl, a).Describe())

	delete(a, "rf-fever")
	delete(a, "rf-immune")
	fmt.Println(ScreenRedFlags(tmpl, a).Describe())

	a["rf-cancer"] = Yes()
	fmt.Println(ScreenRedFlags(tmpl, a).Describe())
	// Output:
	// No red flags reported
	// Screening incomplete: 2 questions unanswered
	// URGENT: yes to "Have you ever had cancer?" (also 2 questions unanswered)
}
