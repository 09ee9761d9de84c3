package forms

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzValidate feeds answers decoded from arbitrary JSON (as a stored intake
// or an import might hold them) to Validate, ScreenRedFlags and
// ScoreStartBack: none may panic, and their results must agree with each
// other. Seed corpus: f.Add below and testdata/fuzz/FuzzValidate.
//
//	go test -run '^$' -fuzz FuzzValidate -fuzztime 30s ./forms/
func FuzzValidate(f *testing.F) {
	good, err := json.Marshal(completeAnswers())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(good),
		`{}`,
		`null`,
		`{"rf-fever":{"bool":true},"rf-cancer":{"bool":null}}`,
		`{"interference-sitting":{"int":-9223372036854775808}}`,
		`{"interference-sitting":{"int":11,"text":"x","bool":false,"codes":["a"]}}`,
		`{"pain-location":{"codes":["low-back","low-back",""]},"pain-onset":{"codes":["sudden","gradual"]}}`,
		`{"pain-onset-date":{"text":"2023-02-29"},"visit-reason":{"text":"   "}}`,
		`{"pain":{"text":"group"},"redflags-intro":{"bool":true},"":{"int":0}}`,
		`{"startback-9":{"codes":["extremely"]},"startback-1":{"codes":["agree","agree"]}}`,
		"{\"visit-goals\":{\"text\":\"\xff\xfe\"}}",
	} {
		f.Add([]byte(seed))
	}
	tmpl := mustEvaluation()
	redFlags := len(tmpl.RedFlagItems())

	f.Fuzz(func(t *testing.T, raw []byte) {
		var a Answers
		if json.Unmarshal(raw, &a) != nil {
			return
		}
		draft := Validate(tmpl, a, Draft)
		complete := Validate(tmpl, a, Complete)
		if again := Validate(tmpl, a, Complete); !reflect.DeepEqual(again, complete) {
			t.Fatalf("Validate is not deterministic:\n%q\n%q", complete, again)
		}
		inComplete := make(map[Problem]bool, len(complete))
		seen := make(map[string]bool, len(complete))
		for _, p := range complete {
			if p.Msg == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
			if seen[p.LinkID] {
				t.Fatalf("two problems for %q: %q", p.LinkID, complete)
			}
			seen[p.LinkID] = true
			inComplete[p] = true
		}
		for _, p := range draft {
			if !inComplete[p] {
				t.Fatalf("draft problem %q missing from complete mode %q", p, complete)
			}
		}

		s := ScreenRedFlags(tmpl, a)
		if len(s.Positive)+len(s.Unanswered) > redFlags {
			t.Fatalf("screen counts %d+%d exceed %d items", len(s.Positive), len(s.Unanswered), redFlags)
		}
		switch {
		case len(s.Positive) > 0 && s.Status != ScreenUrgent,
			len(s.Positive) == 0 && len(s.Unanswered) > 0 && s.Status != ScreenIncomplete,
			s.Status == ScreenClear && len(s.Unanswered) > 0:
			t.Fatalf("screen status %s with %d positive, %d unanswered", s.Status, len(s.Positive), len(s.Unanswered))
		}
		// Complete mode reports exactly the unanswered red flags (plus red
		// flags answered with the wrong kind, which the screen also counts
		// as unanswered).
		for _, it := range s.Unanswered {
			if !seen[it.LinkID] {
				t.Fatalf("red flag %s unanswered but Validate(Complete) is silent", it.LinkID)
			}
		}
		_ = s.Describe()

		r, ok := ScoreStartBack(tmpl, a)
		if !ok || r.Answered > 9 || r.Total > r.Answered || r.Psychosocial > 5 || r.Psychosocial > r.Total ||
			r.Complete != (r.Answered == 9) || (r.Risk != "") != r.Complete {
			t.Fatalf("inconsistent STarT Back result %+v (ok %v)", r, ok)
		}
		_ = r.Describe()
	})
}
