package forms

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// shippedTemplateHashes pins the SHA-256 of every template file shipped in
// the binary. Stored intakes render with the exact version they answered, so
// a shipped file must never change: a change to a form is a new file with a
// new version, whose hash is added here.
var shippedTemplateHashes = map[string]string{
	"templates/evaluation-v1.json": "25b90bc0bcded00e15455415372ec79adedb5ab25b4b1167d95114d88cdf73fa",
}

func TestShippedTemplatesNeverChange(t *testing.T) {
	names, err := fs.Glob(templateFiles, "templates/*.json")
	if err != nil {
		t.Fatal(err)
	}
	embedded := make(map[string]bool, len(names))
	for _, name := range names {
		embedded[name] = true
		raw, err := fs.ReadFile(templateFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		got := hex.EncodeToString(sum[:])
		want, pinned := shippedTemplateHashes[name]
		switch {
		case !pinned:
			t.Errorf("%s is a new template file: once it ships it must never change; pin it in shippedTemplateHashes with %q", name, got)
		case got != want:
			t.Errorf("%s has changed (sha256 %s, shipped as %s). Shipped templates are immutable because stored intakes render with the version they answered: put this file back as it was and make a new version instead (a new file with the next version number)", name, got, want)
		}
	}
	for name := range shippedTemplateHashes {
		if !embedded[name] {
			t.Errorf("%s was shipped but is gone: stored intakes still need it to render; put it back", name)
		}
	}
}

func TestCatalogLoads(t *testing.T) {
	c, err := loadCatalog(templateFiles)
	if err != nil {
		t.Fatalf("embedded templates do not load: %v", err)
	}
	if len(c) != len(shippedTemplateHashes) {
		t.Errorf("catalog has %d templates, %d files are pinned", len(c), len(shippedTemplateHashes))
	}
	if got := len(Templates()); got != len(c) {
		t.Errorf("Templates() lists %d, catalog has %d", got, len(c))
	}
}

func TestTemplateFileNamesMatchIDAndVersion(t *testing.T) {
	names, _ := fs.Glob(templateFiles, "templates/*.json")
	for _, name := range names {
		c, err := loadCatalog(fstest.MapFS{name: mustReadTemplateFile(t, name)})
		if err != nil {
			t.Fatal(err)
		}
		for _, tmpl := range c {
			want := fmt.Sprintf("%s-v%s.json", tmpl.ID, tmpl.Version)
			if path.Base(name) != want {
				t.Errorf("%s holds %s; name the file %s", name, tmpl.Key(), want)
			}
			if v, err := strconv.Atoi(tmpl.Version); err != nil || v < 1 {
				t.Errorf("%s: version %q is not a whole number from 1 (Current could not order it)", name, tmpl.Version)
			}
		}
	}
}

func mustReadTemplateFile(t *testing.T, name string) *fstest.MapFile {
	t.Helper()
	raw, err := fs.ReadFile(templateFiles, name)
	if err != nil {
		t.Fatal(err)
	}
	return &fstest.MapFile{Data: raw}
}

// TestTemplateStructure checks, for every shipped template, what Validate,
// ScreenRedFlags and the packet rely on.
func TestTemplateStructure(t *testing.T) {
	for _, tmpl := range Templates() {
		t.Run(tmpl.Key(), func(t *testing.T) {
			if tmpl.Title == "" {
				t.Error("template has no title")
			}
			seen := map[string]bool{}
			tmpl.Walk(func(it *Item) {
				if it.LinkID == "" {
					t.Errorf("item %q has no linkId", it.Text)
				}
				if seen[it.LinkID] {
					t.Errorf("linkId %q is used twice", it.LinkID)
				}
				seen[it.LinkID] = true
				if strings.TrimSpace(it.Text) == "" {
					t.Errorf("%s has no text", it.LinkID)
				}
				switch it.Type {
				case TypeGroup:
					if len(it.Item) == 0 {
						t.Errorf("group %s is empty", it.LinkID)
					}
				case TypeDisplay, TypeBoolean, TypeString, TypeText, TypeDate:
				case TypeChoice:
					if len(it.AnswerOption) < 2 {
						t.Errorf("choice %s has %d options", it.LinkID, len(it.AnswerOption))
					}
					codes := map[string]bool{}
					for _, o := range it.AnswerOption {
						c := o.ValueCoding
						if c.Code == "" || c.Display == "" {
							t.Errorf("choice %s has an option without code or display: %+v", it.LinkID, c)
						}
						if codes[c.Code] {
							t.Errorf("choice %s has code %q twice", it.LinkID, c.Code)
						}
						codes[c.Code] = true
					}
				case TypeInteger:
					lo, hi, ok := it.Range()
					if !ok || lo > hi {
						t.Errorf("integer %s has no valid minValue/maxValue range", it.LinkID)
					}
				default:
					t.Errorf("%s has type %q, which forms does not know", it.LinkID, it.Type)
				}
				if it.Type != TypeGroup && len(it.Item) > 0 {
					t.Errorf("%s is a %s but has nested items; only groups nest", it.LinkID, it.Type)
				}
				if it.Type != TypeChoice && len(it.AnswerOption) > 0 {
					t.Errorf("%s is a %s but has answer options", it.LinkID, it.Type)
				}
				if it.Repeats && it.Type != TypeChoice {
					t.Errorf("%s repeats but is a %s; only choice items repeat", it.LinkID, it.Type)
				}
				if cat, red := it.RedFlag(); red {
					if it.Type != TypeBoolean || !it.Required {
						t.Errorf("red-flag item %s must be a required boolean, is %s required=%v", it.LinkID, it.Type, it.Required)
					}
					if cat == "" {
						t.Errorf("red-flag item %s has no category", it.LinkID)
					}
				}
			})
		})
	}
}

func currentEvaluation(t testing.TB) *Template {
	t.Helper()
	tmpl, err := Current(EvaluationID)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestCurrentEvaluationIsVersion1(t *testing.T) {
	tmpl := currentEvaluation(t)
	if tmpl.ID != EvaluationID || tmpl.Version != "1" || tmpl.Key() != "evaluation/1" {
		t.Errorf("Current(%q) = %s, want evaluation/1", EvaluationID, tmpl.Key())
	}
	same, err := Lookup(EvaluationID, "1")
	if err != nil || same != tmpl {
		t.Errorf("Lookup(evaluation, 1) = %v, %v; want the same template as Current", same, err)
	}
}

func TestLookupUnknown(t *testing.T) {
	tests := []struct {
		id, version string
		wantInMsg   []string
	}{
		{EvaluationID, "99", []string{`version "99"`, "Evaluation intake", "up to version 1", "newer Front Desk"}},
		{EvaluationID, "", []string{`version ""`}},
		{"physio-followup", "1", []string{`no form named "physio-followup"`}},
	}
	for _, tc := range tests {
		tmpl, err := Lookup(tc.id, tc.version)
		if err == nil || tmpl != nil {
			t.Errorf("Lookup(%q, %q) = %v, %v; want an error", tc.id, tc.version, tmpl, err)
			continue
		}
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Lookup(%q, %q) error %T is not a *forms.Error", tc.id, tc.version, err)
		}
		if !strings.HasPrefix(err.Error(), "forms: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
		for _, w := range tc.wantInMsg {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Lookup(%q, %q) error %q does not say %q", tc.id, tc.version, err, w)
			}
		}
	}
	if _, err := Current("physio-followup"); err == nil || !strings.Contains(err.Error(), `no form named "physio-followup"`) {
		t.Errorf("Current of an unknown form: %v", err)
	}
}

func TestLoadCatalogRefusesBadTemplates(t *testing.T) {
	good := `{"resourceType":"Questionnaire","id":"x","version":"1","title":"X","item":[]}`
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"not JSON", fstest.MapFS{"templates/x-v1.json": {Data: []byte("{")}}, "templates/x-v1.json"},
		{"not a Questionnaire", fstest.MapFS{"templates/x-v1.json": {Data: []byte(`{"resourceType":"Patient","id":"x","version":"1"}`)}}, "not a Questionnaire"},
		{"no version", fstest.MapFS{"templates/x-v1.json": {Data: []byte(`{"resourceType":"Questionnaire","id":"x"}`)}}, "not a Questionnaire with id and version"},
		{"shipped twice", fstest.MapFS{
			"templates/x-v1.json": {Data: []byte(good)},
			"templates/y-v1.json": {Data: []byte(good)},
		}, "x/1 shipped twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadCatalog(tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("loadCatalog error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if c, err := loadCatalog(fstest.MapFS{"templates/x-v1.json": {Data: []byte(good)}}); err != nil || c["x/1"] == nil {
		t.Errorf("a good template does not load: %v", err)
	}
}

// TestEvaluationSections checks that v1 asks what the clinic's article and
// issue call for, section by section.
func TestEvaluationSections(t *testing.T) {
	tmpl := currentEvaluation(t)
	outcomeCodes := []string{"helped", "temporary", "no-change", "worse", "stalled"}
	want := []struct {
		section string
		items   map[string]ItemType
	}{
		{"visit", map[string]ItemType{"visit-reason": TypeText, "visit-goals": TypeText}},
		{"pain", map[string]ItemType{"pain-location": TypeChoice, "pain-onset": TypeChoice, "pain-onset-date": TypeDate, "pain-duration": TypeChoice}},
		{"tried", map[string]ItemType{
			"tried-pt-done": TypeBoolean, "tried-pt-outcome": TypeChoice,
			"tried-injections-done": TypeBoolean, "tried-injections-outcome": TypeChoice,
			"tried-medication-done": TypeBoolean, "tried-medication-outcome": TypeChoice,
			"tried-imaging-done": TypeBoolean, "tried-imaging-outcome": TypeChoice,
		}},
		{"interference", map[string]ItemType{
			"interference-sitting": TypeInteger, "interference-standing": TypeInteger,
			"interference-exercise": TypeInteger, "interference-sleep": TypeInteger,
			"interference-work": TypeInteger,
		}},
		{"intensity", map[string]ItemType{"nrs-now": TypeInteger, "nrs-best": TypeInteger, "nrs-worst": TypeInteger}},
		{"redflags", nil},
		{"startback", nil},
	}
	for _, w := range want {
		sec := tmpl.Find(w.section)
		if sec == nil || sec.Type != TypeGroup {
			t.Errorf("section %q missing", w.section)
			continue
		}
		for id, typ := range w.items {
			it := findWithin(sec, id)
			if it == nil {
				t.Errorf("section %q has no %q", w.section, id)
				continue
			}
			if it.Type != typ {
				t.Errorf("%s is %s, want %s", id, it.Type, typ)
			}
			if typ == TypeInteger {
				if lo, hi, ok := it.Range(); !ok || lo != 0 || hi != 10 {
					t.Errorf("%s range %d–%d (%v), want 0–10", id, lo, hi, ok)
				}
			}
			if strings.HasSuffix(id, "-outcome") {
				for _, c := range outcomeCodes {
					if _, ok := it.Option(c); !ok {
						t.Errorf("%s has no outcome %q", id, c)
					}
				}
			}
		}
	}
	if it := tmpl.Find("pain-location"); it == nil || !it.Repeats {
		t.Error("pain location should allow several places")
	}
}

// findWithin returns the item with the linkId inside the group, or nil.
func findWithin(group *Item, linkID string) *Item {
	for i := range group.Item {
		it := &group.Item[i]
		if it.LinkID == linkID {
			return it
		}
		if found := findWithin(it, linkID); found != nil {
			return found
		}
	}
	return nil
}

// designRedFlags is DESIGN.md's minimum red-flag screen: for each item, the
// linkId that asks it, its category, and words its text must contain.
var designRedFlags = []struct {
	what     string
	linkID   string
	category string
	words    []string
}{
	{"progressive weakness", "rf-weakness", CategoryCaudaEquina, []string{"weakness", "worse"}},
	{"saddle numbness", "rf-saddle-numbness", CategoryCaudaEquina, []string{"numbness", "saddle"}},
	{"bladder changes", "rf-bladder", CategoryCaudaEquina, []string{"urine"}},
	{"bowel changes", "rf-bowel", CategoryCaudaEquina, []string{"bowel"}},
	{"significant numbness", "rf-numbness", "neurological", []string{"significant numbness"}},
	{"acute trauma", "rf-trauma", "fracture", []string{"fall", "injury"}},
	{"history of cancer", "rf-cancer", "malignancy", []string{"cancer"}},
	{"unexplained weight loss", "rf-weight-loss", "malignancy", []string{"weight loss", "cannot explain"}},
	{"fever", "rf-fever", "infection", []string{"fever"}},
	{"IV drug use or immunosuppression", "rf-immune", "infection", []string{"injected drug", "immune"}},
	{"minor trauma with osteoporosis or steroids", "rf-minor-trauma", "fracture", []string{"osteoporosis", "steroid", "minor"}},
	{"night pain", "rf-night-pain", "malignancy", []string{"night"}},
}

func TestRedFlagScreenHasDesignItems(t *testing.T) {
	tmpl := currentEvaluation(t)
	screen := tmpl.Find("redflags")
	if screen == nil {
		t.Fatal("no red-flag section")
	}
	for _, w := range designRedFlags {
		it := findWithin(screen, w.linkID)
		if it == nil {
			t.Errorf("%s: no %s in the red-flag section", w.what, w.linkID)
			continue
		}
		cat, red := it.RedFlag()
		if !red || cat != w.category {
			t.Errorf("%s: %s category %q (red flag %v), want %q", w.what, w.linkID, cat, red, w.category)
		}
		for _, word := range w.words {
			if !strings.Contains(strings.ToLower(it.Text), word) {
				t.Errorf("%s: %s text %q does not mention %q", w.what, w.linkID, it.Text, word)
			}
		}
	}
	if got, want := len(tmpl.RedFlagItems()), len(designRedFlags); got < want {
		t.Errorf("%d red-flag items, DESIGN.md asks for at least %d", got, want)
	}
	// Every red-flag item belongs to the red-flag section, so the screen
	// shows and prints as one block.
	for _, it := range tmpl.RedFlagItems() {
		if findWithin(screen, it.LinkID) == nil {
			t.Errorf("red-flag item %s is outside the red-flag section", it.LinkID)
		}
	}
}

func TestStartBackItems(t *testing.T) {
	tmpl := currentEvaluation(t)
	sec := tmpl.Find("startback")
	if sec == nil {
		t.Fatal("no STarT Back section")
	}
	var questions []*Item
	for i := range sec.Item {
		if sec.Item[i].Answerable() {
			questions = append(questions, &sec.Item[i])
		}
	}
	if len(questions) != 9 {
		t.Fatalf("STarT Back has %d questions, want exactly 9", len(questions))
	}
	for i, it := range questions {
		if want := startBackLinkID(i + 1); it.LinkID != want {
			t.Errorf("STarT Back question %d is %s, want %s", i+1, it.LinkID, want)
		}
		codes := []string{"disagree", "agree"}
		if i == 8 {
			codes = []string{"not-at-all", "slightly", "moderately", "very-much", "extremely"}
		}
		if len(it.AnswerOption) != len(codes) {
			t.Errorf("%s has %d options, want %d", it.LinkID, len(it.AnswerOption), len(codes))
		}
		for _, c := range codes {
			if _, ok := it.Option(c); !ok {
				t.Errorf("%s has no option %q", it.LinkID, c)
			}
		}
		if it.Repeats {
			t.Errorf("%s takes one answer only", it.LinkID)
		}
	}
	if _, ok := ScoreStartBack(tmpl, nil); !ok {
		t.Error("ScoreStartBack does not recognise the template's STarT Back")
	}

	// Keele University's copyright statement is printed with the tool.
	const keele = "© Keele University"
	var printed bool
	for i := range sec.Item {
		it := &sec.Item[i]
		if it.Type == TypeDisplay && strings.Contains(it.Text, keele) && strings.Contains(it.Text, "STarT Back") {
			printed = true
		}
	}
	if !printed {
		t.Errorf("the STarT Back section has no display item with %q", keele)
	}
	if !strings.Contains(tmpl.Copyright, keele) {
		t.Errorf("template copyright %q lacks %q", tmpl.Copyright, keele)
	}
}

func TestItemHelpers(t *testing.T) {
	tmpl := currentEvaluation(t)
	if tmpl.Find("no-such-item") != nil {
		t.Error("Find of an unknown linkId is not nil")
	}
	sitting := tmpl.Find("interference-sitting")
	if lo, hi, ok := sitting.Range(); !ok || lo != 0 || hi != 10 {
		t.Errorf("sitting range = %d, %d, %v", lo, hi, ok)
	}
	if _, _, ok := tmpl.Find("visit-reason").Range(); ok {
		t.Error("a text item has a range")
	}
	onset := tmpl.Find("pain-onset")
	if c, ok := onset.Option("gradual"); !ok || c.Display != "Gradually" {
		t.Errorf("Option(gradual) = %+v, %v", c, ok)
	}
	if _, ok := onset.Option("often"); ok {
		t.Error("Option of an unknown code found something")
	}
	if tmpl.Find("pain").Answerable() || tmpl.Find("redflags-intro").Answerable() || !onset.Answerable() {
		t.Error("Answerable is wrong for group, display or choice")
	}
	if _, red := onset.RedFlag(); red {
		t.Error("pain onset is not a red flag")
	}
}
