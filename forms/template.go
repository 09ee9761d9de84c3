// Package forms holds the clinic's intake form templates (versioned and
// immutable), the answers a patient gives, their validation and scoring, the
// red-flag screen, and the printed intake packet.
//
// A template is a documented subset of the HL7 FHIR R4 Questionnaire JSON
// shape: resourceType, url, id, version, title, status, copyright, and items
// with linkId, text, type, required, repeats, answerOption (valueCoding) and
// nested items. Two extensions are understood:
//
//   - http://hl7.org/fhir/StructureDefinition/minValue and .../maxValue
//     (valueInteger) bound integer items, as in FHIR;
//   - urn:frontdesk:red-flag (valueCode: the red-flag category, for example
//     "cauda-equina", "malignancy", "infection", "fracture") marks a boolean
//     item of the red-flag screen. A "yes" to any of them makes the intake
//     urgent; "cauda-equina" items need same-day medical assessment.
//
// Templates never change once shipped: a change is a new version, and every
// stored intake names the template id and version it answered.
package forms

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
)

// Extension URLs understood in templates.
const (
	ExtMinValue = "http://hl7.org/fhir/StructureDefinition/minValue"
	ExtMaxValue = "http://hl7.org/fhir/StructureDefinition/maxValue"
	ExtRedFlag  = "urn:frontdesk:red-flag"
)

// CategoryCaudaEquina is the red-flag category whose positive answers need
// same-day medical assessment.
const CategoryCaudaEquina = "cauda-equina"

// EvaluationID is the id of the clinic's evaluation intake template.
const EvaluationID = "evaluation"

// ItemType is the FHIR Questionnaire item type.
type ItemType string

// The item types a template may use.
const (
	TypeGroup   ItemType = "group"   // holds nested items
	TypeDisplay ItemType = "display" // text only, no answer
	TypeBoolean ItemType = "boolean" // yes / no
	TypeChoice  ItemType = "choice"  // one code from answerOption, or several when repeats
	TypeInteger ItemType = "integer" // whole number, bounded by minValue/maxValue
	TypeString  ItemType = "string"  // one line of text
	TypeText    ItemType = "text"    // free text, several lines
	TypeDate    ItemType = "date"    // YYYY-MM-DD
)

// Template is one version of an intake questionnaire.
type Template struct {
	ResourceType string `json:"resourceType"`
	URL          string `json:"url,omitempty"`
	ID           string `json:"id"`
	Version      string `json:"version"`
	Name         string `json:"name,omitempty"`
	Title        string `json:"title"`
	Status       string `json:"status,omitempty"`
	Copyright    string `json:"copyright,omitempty"`
	Item         []Item `json:"item"`
}

// Item is one question, display text or group of a template.
type Item struct {
	LinkID       string         `json:"linkId"`
	Text         string         `json:"text"`
	Type         ItemType       `json:"type"`
	Required     bool           `json:"required,omitempty"`
	Repeats      bool           `json:"repeats,omitempty"`
	AnswerOption []AnswerOption `json:"answerOption,omitempty"`
	Item         []Item         `json:"item,omitempty"`
	Extension    []Extension    `json:"extension,omitempty"`
}

// AnswerOption is one permitted answer of a choice item.
type AnswerOption struct {
	ValueCoding Coding `json:"valueCoding"`
}

// Coding is a code with the words shown for it.
type Coding struct {
	Code    string `json:"code"`
	Display string `json:"display"`
}

// Extension is a FHIR extension; only the value kinds we use are present.
type Extension struct {
	URL          string `json:"url"`
	ValueInteger *int   `json:"valueInteger,omitempty"`
	ValueCode    string `json:"valueCode,omitempty"`
	ValueString  string `json:"valueString,omitempty"`
}

// RedFlag reports the red-flag category of the item, if it is part of the
// red-flag screen.
func (it *Item) RedFlag() (category string, ok bool) {
	for _, e := range it.Extension {
		if e.URL == ExtRedFlag {
			return e.ValueCode, true
		}
	}
	return "", false
}

// Range reports the bounds of an integer item, if it has them.
func (it *Item) Range() (lo, hi int, ok bool) {
	var haveLo, haveHi bool
	for _, e := range it.Extension {
		switch {
		case e.URL == ExtMinValue && e.ValueInteger != nil:
			lo, haveLo = *e.ValueInteger, true
		case e.URL == ExtMaxValue && e.ValueInteger != nil:
			hi, haveHi = *e.ValueInteger, true
		}
	}
	return lo, hi, haveLo && haveHi
}

// Option returns the answer option with the code, if there is one.
func (it *Item) Option(code string) (Coding, bool) {
	for _, o := range it.AnswerOption {
		if o.ValueCoding.Code == code {
			return o.ValueCoding, true
		}
	}
	return Coding{}, false
}

// Answerable reports whether the item takes an answer (not a group or display).
func (it *Item) Answerable() bool {
	return it.Type != TypeGroup && it.Type != TypeDisplay
}

// Walk calls fn for every item of the template, depth first, in order.
func (t *Template) Walk(fn func(it *Item)) {
	var walk func(items []Item)
	walk = func(items []Item) {
		for i := range items {
			fn(&items[i])
			walk(items[i].Item)
		}
	}
	walk(t.Item)
}

// Find returns the item with the linkId, or nil.
func (t *Template) Find(linkID string) *Item {
	var found *Item
	t.Walk(func(it *Item) {
		if found == nil && it.LinkID == linkID {
			found = it
		}
	})
	return found
}

// RedFlagItems returns the items of the red-flag screen in template order.
func (t *Template) RedFlagItems() []*Item {
	var out []*Item
	t.Walk(func(it *Item) {
		if _, ok := it.RedFlag(); ok {
			out = append(out, it)
		}
	})
	return out
}

// Key is "id/version", the name a stored intake uses for its template.
func (t *Template) Key() string { return t.ID + "/" + t.Version }

//go:embed templates/*.json
var templateFiles embed.FS

// catalog holds every shipped template version, parsed once.
var catalog = mustLoadCatalog(templateFiles)

func mustLoadCatalog(fsys fs.FS) map[string]*Template {
	c, err := loadCatalog(fsys)
	if err != nil {
		panic(err) // the embedded templates are part of the binary; tests catch this
	}
	return c
}

func loadCatalog(fsys fs.FS) (map[string]*Template, error) {
	names, err := fs.Glob(fsys, "templates/*.json")
	if err != nil {
		return nil, err
	}
	c := make(map[string]*Template, len(names))
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var t Template
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("forms: template %s: %w", name, err)
		}
		if t.ResourceType != "Questionnaire" || t.ID == "" || t.Version == "" {
			return nil, fmt.Errorf("forms: template %s: not a Questionnaire with id and version", name)
		}
		if _, dup := c[t.Key()]; dup {
			return nil, fmt.Errorf("forms: template %s: %s shipped twice", name, t.Key())
		}
		c[t.Key()] = &t
	}
	return c, nil
}

// Lookup returns the shipped template with the id and version.
func Lookup(id, version string) (*Template, error) {
	t, ok := catalog[id+"/"+version]
	if ok {
		return t, nil
	}
	cur, err := Current(id)
	if err != nil {
		return nil, err
	}
	return nil, &Error{Msg: fmt.Sprintf("this Front Desk does not have version %q of the form %q (it has up to version %s); the intake was probably saved by a newer Front Desk: update Front Desk on this computer to open it", version, cur.Title, cur.Version)}
}

// Current returns the newest shipped version of the template with the id.
func Current(id string) (*Template, error) {
	var best *Template
	bestV := -1
	for _, t := range catalog {
		if t.ID != id {
			continue
		}
		v, err := strconv.Atoi(t.Version)
		if err != nil {
			continue
		}
		if v > bestV {
			best, bestV = t, v
		}
	}
	if best == nil {
		return nil, &Error{Msg: fmt.Sprintf("this Front Desk has no form named %q", id)}
	}
	return best, nil
}

// Templates lists every shipped template, by id then version.
func Templates() []*Template {
	out := make([]*Template, 0, len(catalog))
	for _, t := range catalog {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Error is a forms error whose message can be shown to a receptionist.
type Error struct {
	Msg string
}

var _ error = (*Error)(nil)

func (e *Error) Error() string { return "forms: " + e.Msg }
