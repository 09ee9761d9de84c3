package forms

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// completeAnswers is a fully answered v1 evaluation: every required item,
// every red flag "no", and a few optional ones.
func completeAnswers() Answers {
	a := Answers{
		"visit-reason":          Text("Low back pain for two years, physio stalled"),
		"visit-goals":           Text("Sit through a work day"),
		"pain-location":         Codes("low-back", "leg-left"),
		"pain-onset":            Codes("gradual"),
		"pain-onset-date":       Text("2024-02-29"),
		"pain-duration":         Codes("gt1y"),
		"tried-pt-done":         Yes(),
		"tried-pt-outcome":      Codes("stalled"),
		"tried-imaging-done":    No(),
		"interference-sitting":  Int(7),
		"interference-standing": Int(0),
		"interference-exercise": Int(10),
		"interference-sleep":    Int(4),
		"interference-work":     Int(6),
		"nrs-now":               Int(5),
		"nrs-worst":             Int(8),
	}
	for _, it := range mustEvaluation().RedFlagItems() {
		a[it.LinkID] = No()
	}
	return a
}

func mustEvaluation() *Template {
	t, err := Lookup(EvaluationID, "1")
	if err != nil {
		panic(err)
	}
	return t
}

func TestValidateAcceptsGoodAnswers(t *testing.T) {
	tmpl := currentEvaluation(t)
	for _, mode := range []Mode{Draft, Complete} {
		if p := Validate(tmpl, completeAnswers(), mode); len(p) != 0 {
			t.Errorf("%v: complete answers have problems: %v", mode, p)
		}
	}
	if p := Validate(tmpl, nil, Draft); len(p) != 0 {
		t.Errorf("an empty draft has problems: %v", p)
	}
	if p := Validate(tmpl, Answers{}, Draft); len(p) != 0 {
		t.Errorf("an empty draft has problems: %v", p)
	}
}

func TestValidateProblems(t *testing.T) {
	long := strings.Repeat("é", MaxTextLength+1)
	tests := []struct {
		name   string
		change Answers // applied over completeAnswers
		want   Problem // the one problem, in both modes
	}{
		{"unknown linkId", Answers{"xyz": Text("hello")},
			Problem{"xyz", `"xyz" is not a question on this form (version 1)`}},
		{"unknown linkId with an empty answer", Answers{"xyz": {}},
			Problem{"xyz", `"xyz" is not a question on this form (version 1)`}},
		{"answer to a group", Answers{"pain": Text("bad")},
			Problem{"pain", `"Your pain" is a heading or an instruction, not a question, so it takes no answer`}},
		{"answer to a display item", Answers{"redflags-intro": Yes()},
			Problem{"redflags-intro", `"Do you have any of the following now? Please answer every question Yes or No." is a heading or an instruction, not a question, so it takes no answer`}},

		{"integer above range", Answers{"interference-sitting": Int(11)},
			Problem{"interference-sitting", `"Sitting": enter a number from 0 to 10`}},
		{"integer below range", Answers{"nrs-best": Int(-1)},
			Problem{"nrs-best", `"Your least pain in the last week": enter a number from 0 to 10`}},
		{"text for an integer", Answers{"interference-sleep": Text("7")},
			Problem{"interference-sleep", `"Sleep": enter a number from 0 to 10`}},
		{"integer and text together", Answers{"interference-work": {Int: Int(3).Int, Text: "3"}},
			Problem{"interference-work", `"Work (paid, unpaid or at home)": enter a number from 0 to 10`}},

		{"int for a boolean", Answers{"tried-pt-done": Int(1)},
			Problem{"tried-pt-done", `"Have you had physical therapy for this pain?": answer Yes or No`}},
		{"text for a red flag", Answers{"rf-fever": Text("yes")},
			Problem{"rf-fever", `"Fever, chills or night sweats": answer Yes or No`}},

		{"bool for a choice", Answers{"pain-duration": Yes()},
			Problem{"pain-duration", `"How long have you had this pain?": choose from the answers on the form`}},
		{"code not an option", Answers{"pain-onset": Codes("yesterday")},
			Problem{"pain-onset", `"How did it start?": "yesterday" is not one of the answers on the form`}},
		{"empty code", Answers{"pain-location": Codes("low-back", "")},
			Problem{"pain-location", `"Where is your pain? (tick all that apply)": "" is not one of the answers on the form`}},
		{"display text instead of code", Answers{"startback-9": Codes("Very much")},
			Problem{"startback-9", `"Overall, how bothersome has your back pain been in the last 2 weeks?": "Very much" is not one of the answers on the form`}},
		{"several codes, not repeating", Answers{"pain-onset": Codes("sudden", "injury")},
			Problem{"pain-onset", `"How did it start?": choose only one answer`}},
		{"same code twice", Answers{"pain-location": Codes("hip", "hip")},
			Problem{"pain-location", `"Where is your pain? (tick all that apply)": "Hip" is chosen twice`}},

		{"impossible date", Answers{"pain-onset-date": Text("2023-02-29")},
			Problem{"pain-onset-date", `"About when did it start? (date)": "2023-02-29" is not a date; enter year-month-day, for example 2024-03-14`}},
		{"month 13", Answers{"pain-onset-date": Text("2023-13-01")},
			Problem{"pain-onset-date", `"About when did it start? (date)": "2023-13-01" is not a date; enter year-month-day, for example 2024-03-14`}},
		{"US date order", Answers{"pain-onset-date": Text("03/14/2024")},
			Problem{"pain-onset-date", `"About when did it start? (date)": "03/14/2024" is not a date; enter year-month-day, for example 2024-03-14`}},
		{"date with time", Answers{"pain-onset-date": Text("2024-03-14T10:00")},
			Problem{"pain-onset-date", `"About when did it start? (date)": "2024-03-14T10:00" is not a date; enter year-month-day, for example 2024-03-14`}},
		{"int for a date", Answers{"pain-onset-date": Int(2024)},
			Problem{"pain-onset-date", `"About when did it start? (date)": enter a date as year-month-day, for example 2024-03-14`}},

		{"codes for text", Answers{"visit-goals": Codes("walk")},
			Problem{"visit-goals", `"What would you like to be able to do again? (your goals)": enter text`}},
		{"text too long", Answers{"visit-goals": Text(long)},
			Problem{"visit-goals", `"What would you like to be able to do again? (your goals)": the answer is too long (10001 characters); keep it to 10000`}},
	}
	tmpl := currentEvaluation(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := completeAnswers()
			for k, v := range tc.change {
				a[k] = v
			}
			for _, mode := range []Mode{Draft, Complete} {
				got := Validate(tmpl, a, mode)
				if len(got) != 1 || got[0] != tc.want {
					t.Errorf("%v:\n got %q\nwant %q", mode, got, []Problem{tc.want})
				}
			}
		})
	}
}

func TestValidateAcceptsEdgeValues(t *testing.T) {
	tmpl := currentEvaluation(t)
	a := completeAnswers()
	a["interference-sitting"] = Int(0)
	a["interference-standing"] = Int(10)
	a["pain-location"] = Codes("low-back", "buttock-left", "buttock-right", "leg-left", "leg-right", "hip", "upper-back", "neck", "other")
	a["pain-location-other"] = Text("Right foot")
	a["visit-goals"] = Text(strings.Repeat("李", MaxTextLength)) // characters, not bytes
	a["pain-onset-date"] = Text("2000-02-29")
	a["startback-9"] = Codes("extremely")
	if p := Validate(tmpl, a, Complete); len(p) != 0 {
		t.Errorf("edge values rejected: %v", p)
	}
}

func TestValidateRequired(t *testing.T) {
	tmpl := currentEvaluation(t)
	tests := []struct {
		name   string
		remove []string
		change Answers
		want   []Problem // in Complete mode; Draft must report nothing
	}{
		{"reason missing", []string{"visit-reason"}, nil,
			[]Problem{{"visit-reason", `"What brings you in today?" needs an answer`}}},
		{"reason only spaces", nil, Answers{"visit-reason": Text("  \n\t")},
			[]Problem{{"visit-reason", `"What brings you in today?" needs an answer`}}},
		{"empty answer is unanswered", nil, Answers{"nrs-now": {}, "pain-location": Codes()},
			[]Problem{
				{"pain-location", `"Where is your pain? (tick all that apply)" needs an answer`},
				{"nrs-now", `"Your pain right now" needs an answer`},
			}},
		{"red flags missing, in template order", []string{"rf-night-pain", "rf-weakness"}, nil,
			[]Problem{
				{"rf-weakness", `"Weakness in your legs that is getting worse, or new difficulty walking" needs a Yes or No answer (safety question)`},
				{"rf-night-pain", `"Pain at night or at rest that does not ease when you lie down or change position" needs a Yes or No answer (safety question)`},
			}},
		{"red flag with Bool nil", nil, Answers{"rf-cancer": {}},
			[]Problem{{"rf-cancer", `"Have you ever had cancer?" needs a Yes or No answer (safety question)`}}},
		{"optional questions may stay empty", []string{"visit-goals", "pain-onset", "pain-onset-date", "tried-pt-done", "tried-pt-outcome", "tried-imaging-done", "nrs-worst"}, nil,
			nil},
		{"follow-up unanswered after no", nil, Answers{"tried-injections-done": No()},
			nil},
		{"STarT Back is optional", nil, Answers{"startback-1": Codes("agree")},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := completeAnswers()
			for _, id := range tc.remove {
				delete(a, id)
			}
			for k, v := range tc.change {
				a[k] = v
			}
			got := Validate(tmpl, a, Complete)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Complete:\n got %q\nwant %q", got, tc.want)
			}
			if d := Validate(tmpl, a, Draft); len(d) != 0 {
				t.Errorf("Draft reports %q; drafts may leave questions unanswered", d)
			}
		})
	}
}

func TestValidateEmptyCompleteListsEveryRequiredItem(t *testing.T) {
	tmpl := currentEvaluation(t)
	var want []string
	tmpl.Walk(func(it *Item) {
		if _, red := it.RedFlag(); it.Required || red {
			want = append(want, it.LinkID)
		}
	})
	var got []string
	for _, p := range Validate(tmpl, Answers{}, Complete) {
		got = append(got, p.LinkID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty form, Complete:\n got %v\nwant %v", got, want)
	}
	if len(want) < 9+len(designRedFlags) { // reason, location, duration, 5 interference, NRS now
		t.Errorf("only %d required items", len(want))
	}
}

func TestValidateOrderAndOnePerItem(t *testing.T) {
	tmpl := currentEvaluation(t)
	a := Answers{
		"zzz":                  Yes(),
		"aaa":                  Yes(),
		"pain-location":        Codes("nowhere", "nowhere", "also-not"),
		"interference-sitting": Int(99),
		"visit-reason":         Int(1),
	}
	got := Validate(tmpl, a, Draft)
	var ids []string
	for _, p := range got {
		ids = append(ids, p.LinkID)
	}
	want := []string{"visit-reason", "pain-location", "interference-sitting", "aaa", "zzz"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("problem order %v, want %v (template order, then unknown sorted)", ids, want)
	}
}

func TestValidateGroupRequired(t *testing.T) {
	tmpl := &Template{ID: "t", Version: "3", Item: []Item{{
		LinkID: "meds", Text: "Your medicines", Type: TypeGroup, Required: true,
		Item: []Item{
			{LinkID: "meds-name", Text: "Name", Type: TypeString},
			{LinkID: "meds-sub", Text: "More", Type: TypeGroup, Item: []Item{
				{LinkID: "meds-dose", Text: "Dose", Type: TypeInteger},
			}},
		},
	}}}
	want := []Problem{{"meds", `"Your medicines": answer at least one question in this section`}}
	if got := Validate(tmpl, Answers{"meds-name": Text(" ")}, Complete); !reflect.DeepEqual(got, want) {
		t.Errorf("nothing answered: %q", got)
	}
	if got := Validate(tmpl, Answers{"meds-dose": Int(-5)}, Complete); len(got) != 0 {
		t.Errorf("nested answer (unbounded integer) should satisfy the group: %q", got)
	}
	if got := Validate(tmpl, Answers{"meds-dose": Text("five")}, Draft); len(got) != 1 || got[0].Msg != `"Dose": enter a whole number` {
		t.Errorf("unbounded integer message: %q", got)
	}
	if got := Validate(tmpl, Answers{"x": Yes()}, Draft); len(got) != 1 || got[0].Msg != `"x" is not a question on this form (version 3)` {
		t.Errorf("unknown in version 3: %q", got)
	}
}

func TestValidateOddInputs(t *testing.T) {
	if got := Validate(nil, Answers{"a": Yes()}, Complete); len(got) != 1 || got[0].Msg == "" {
		t.Errorf("nil template: %q", got)
	}
	tmpl := &Template{ID: "t", Version: "1", Item: []Item{{LinkID: "q", Text: "Q", Type: "attachment"}}}
	if got := Validate(tmpl, Answers{"q": Text("x")}, Draft); len(got) != 1 || !strings.Contains(got[0].Msg, `"attachment"`) {
		t.Errorf("unknown item type: %q", got)
	}
	long := strings.Repeat("k", 500)
	got := Validate(currentEvaluation(t), Answers{long: Yes()}, Draft)
	if len(got) != 1 || got[0].LinkID != long || len(got[0].Msg) > 120 {
		t.Errorf("a very long unknown linkId should be named briefly: %q", got)
	}
	if Draft.String() != "draft" || Complete.String() != "complete" || Mode(7).String() != "Mode(7)" {
		t.Error("Mode.String")
	}
	if (Problem{Msg: "m"}).String() != "m" {
		t.Error("Problem.String")
	}
}

// TestValidateJSONRoundTrip checks answers as they are stored: JSON.
func TestValidateJSONRoundTrip(t *testing.T) {
	raw, err := json.Marshal(completeAnswers())
	if err != nil {
		t.Fatal(err)
	}
	var back Answers
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if p := Validate(currentEvaluation(t), back, Complete); len(p) != 0 {
		t.Errorf("answers after a JSON round trip: %q", p)
	}
	// "no" must survive the trip: a false Bool is not dropped as empty.
	if back["rf-fever"].Bool == nil || *back["rf-fever"].Bool {
		t.Errorf("rf-fever after JSON = %+v, want No", back["rf-fever"])
	}
	if back["interference-standing"].Int == nil || *back["interference-standing"].Int != 0 {
		t.Errorf("a 0 answer after JSON = %+v", back["interference-standing"])
	}
}

// TestConcurrentUse checks that the shared catalog templates can be read by
// several goroutines at once (the window and a packet being printed); run
// with -race.
func TestConcurrentUse(t *testing.T) {
	tmpl := currentEvaluation(t)
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			a := completeAnswers()
			a["rf-fever"] = Yes()
			a["interference-sleep"] = Int(12)
			for i := 0; i < 50; i++ {
				Validate(tmpl, a, Complete)
				ScreenRedFlags(tmpl, a).Describe()
				ScoreStartBack(tmpl, a)
			}
			done <- true
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

func BenchmarkValidateComplete(b *testing.B) {
	tmpl := mustEvaluation()
	a := completeAnswers()
	a["xyz"] = Yes()
	for b.Loop() {
		Validate(tmpl, a, Complete)
	}
}

func ExampleValidate() {
	tmpl, _ := Lookup(EvaluationID, "1")
	a := Answers{
		"interference-sitting": Int(12),
		"pain-onset-date":      Text("2023-02-30"),
		"xyz":                  Text("?"),
	}
	for _, p := range Validate(tmpl, a, Draft) {
		fmt.Println(p.Msg)
	}
	// Output:
	// "About when did it start? (date)": "2023-02-30" is not a date; enter year-month-day, for example 2024-03-14
	// "Sitting": enter a number from 0 to 10
	// "xyz" is not a question on this form (version 1)
}
