package ui

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/storage"
)

const (
	searchLimit = 50  // results shown for a query: enough to pick from, cheap to load at every keystroke
	pageSize    = 100 // patients fetched at a time when browsing with no query
)

// patientsScreen is the search field and list on the left and, on the right,
// the open patient (form, intakes) or an intake.
type patientsScreen struct {
	ui      *App
	content fyne.CanvasObject

	search    *searchEntry
	newButton *widget.Button
	list      *widget.List
	status    *widget.Label
	detail    *fyne.Container // holds the open patient or intake

	mu      sync.Mutex        // guards the rows below; written by workers, read on the UI goroutine
	query   string            // the query the rows answer ("" = browsing)
	results []storage.Patient // rows for a query
	pages   map[int][]storage.Patient
	total   int // rows when browsing
	urgent  map[uint64]bool
	seq     atomic.Uint64 // the newest search; older answers are dropped

	selected int           // highlighted row, -1 for none
	form     *patientForm  // the open patient, if any
	intake   *intakeScreen // the open intake, if any
}

func newPatientsScreen(ui *App) *patientsScreen {
	s := &patientsScreen{ui: ui, pages: map[int][]storage.Patient{}, selected: -1}
	s.search = newSearchEntry()
	s.search.SetPlaceHolder("Search name, phone, email or date of birth  (Ctrl+F)")
	s.search.OnChanged = s.onSearch
	s.search.onDown = func() { s.moveSelection(+1) }
	s.search.onUp = func() { s.moveSelection(-1) }
	s.search.OnSubmitted = func(string) { s.onOpenSelected() }
	s.newButton = &widget.Button{Text: "New patient", Icon: theme.ContentAddIcon(), Importance: widget.HighImportance, OnTapped: s.onNewPatient}
	s.status = widget.NewLabel("")
	s.list = widget.NewList(s.rowCount, newPatientRow, s.updateRow)
	s.list.OnSelected = s.onSelected
	s.detail = container.NewStack(placeholder("Search for a patient, or press New patient (Ctrl+N)."))

	left := container.NewBorder(
		container.NewVBox(s.search, container.NewBorder(nil, nil, nil, s.newButton, s.status)),
		nil, nil, nil, s.list)
	split := container.NewHSplit(left, s.detail)
	split.SetOffset(0.3)
	s.content = split
	s.reload()
	return s
}

func placeholder(text string) fyne.CanvasObject {
	l := &widget.Label{Text: text, Alignment: fyne.TextAlignCenter, TextStyle: fyne.TextStyle{Italic: true}}
	return container.NewCenter(l)
}

func (s *patientsScreen) focusSearch() {
	s.ui.win.Canvas().Focus(s.search)
}

// reload refreshes the list after the store changed (or at start).
func (s *patientsScreen) reload() {
	s.runSearch(s.search.Text, "list-reload")
}

// onSearch is the search field's: each keystroke searches.
func (s *patientsScreen) onSearch(text string) {
	s.runSearch(text, "keystroke-to-list")
}

// runSearch runs the store's search off the UI goroutine; only the newest
// answer is shown, so fast typing never shows stale rows. event names the
// timing traced once the list shows the answer.
func (s *patientsScreen) runSearch(text, event string) {
	seq := s.seq.Add(1)
	typed := time.Now()
	query := strings.TrimSpace(text)
	store := s.ui.deps.Store
	s.ui.background(func() {
		var results []storage.Patient
		total := 0
		if query == "" {
			total = store.PatientCount()
		} else {
			for _, r := range store.Search(query, searchLimit) {
				results = append(results, r.Patient)
			}
		}
		urgent := store.UrgentPatients()
		if s.seq.Load() != seq {
			return
		}
		fyne.Do(func() {
			if s.seq.Load() != seq {
				return
			}
			s.mu.Lock()
			s.query, s.results, s.total, s.urgent = query, results, total, urgent
			s.pages = map[int][]storage.Patient{}
			s.mu.Unlock()
			s.selected = -1
			s.list.UnselectAll()
			s.list.ScrollToTop()
			s.list.Refresh()
			s.status.SetText(s.statusText())
			s.ui.deps.Trace(event, time.Since(typed))
		})
	})
}

func (s *patientsScreen) statusText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.query == "" && s.total == 0:
		return "No patients yet."
	case s.query == "":
		return fmt.Sprintf("%d patients", s.total)
	case len(s.results) == 0:
		return "No patient matches."
	case len(s.results) >= searchLimit:
		return fmt.Sprintf("Best %d matches — type more to narrow", searchLimit)
	case len(s.results) == 1:
		return "1 match"
	default:
		return fmt.Sprintf("%d matches", len(s.results))
	}
}

func (s *patientsScreen) rowCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.query == "" {
		return s.total
	}
	return len(s.results)
}

// row returns the patient shown in list row id; browsing fetches a page of
// patients from the store the first time one of its rows is drawn.
func (s *patientsScreen) row(id int) (storage.Patient, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.query != "" {
		if id < 0 || id >= len(s.results) {
			return storage.Patient{}, false
		}
		return s.results[id], true
	}
	page := id / pageSize
	rows, ok := s.pages[page]
	if !ok {
		var err error
		rows, err = s.ui.deps.Store.ListPatients(page*pageSize, pageSize)
		if err != nil {
			return storage.Patient{}, false
		}
		s.pages[page] = rows
	}
	if i := id % pageSize; i < len(rows) {
		return rows[i], true
	}
	return storage.Patient{}, false
}

func (s *patientsScreen) isUrgent(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urgent[id]
}

// patientRow is one line of the list: name, details, and the urgent marker.
type patientRow struct {
	name, details *widget.Label
	urgent        *widget.Label
}

func newPatientRow() fyne.CanvasObject {
	name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	details := &widget.Label{Truncation: fyne.TextTruncateEllipsis, SizeName: theme.SizeNameCaptionText}
	urgent := &widget.Label{Text: "⚠ RED FLAG", Importance: widget.DangerImportance, TextStyle: fyne.TextStyle{Bold: true}}
	urgent.Hide()
	// The two lines sit close together: each label brings its own padding.
	lines := container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.Padding()), name, details)
	return container.NewBorder(nil, nil, nil, urgent, lines)
}

func (s *patientsScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	row := o.(*fyne.Container)
	texts := row.Objects[0].(*fyne.Container)
	urgent := row.Objects[1].(*widget.Label)
	name, details := texts.Objects[0].(*widget.Label), texts.Objects[1].(*widget.Label)
	p, ok := s.row(id)
	if !ok {
		name.SetText("")
		details.SetText("")
		urgent.Hide()
		return
	}
	name.SetText(p.DisplayName())
	details.SetText(rowDetails(p))
	if s.isUrgent(p.ID) {
		urgent.Show()
	} else {
		urgent.Hide()
	}
}

func rowDetails(p storage.Patient) string {
	parts := []string{}
	if p.DateOfBirth != "" {
		parts = append(parts, "born "+p.DateOfBirth)
	}
	if len(p.Phones) > 0 {
		parts = append(parts, p.Phones[0].Number)
	}
	if p.Email != "" {
		parts = append(parts, p.Email)
	}
	parts = append(parts, fmt.Sprintf("#%d", p.ID))
	return strings.Join(parts, " · ")
}

func (s *patientsScreen) moveSelection(delta int) {
	n := s.rowCount()
	if n == 0 {
		return
	}
	next := s.selected + delta
	if s.selected < 0 {
		next = 0
	}
	if next < 0 || next >= n {
		return
	}
	s.list.Select(next)
	s.list.ScrollTo(next)
}

func (s *patientsScreen) onSelected(id widget.ListItemID) {
	s.selected = id
	p, ok := s.row(id)
	if !ok {
		return
	}
	s.openPatient(p.ID)
}

// onOpenSelected (Enter in the search field) opens the highlighted patient,
// or the only match, and moves the keyboard into the form.
func (s *patientsScreen) onOpenSelected() {
	if s.selected < 0 && s.rowCount() > 0 {
		s.list.Select(0)
	}
	if s.form != nil {
		s.form.focusFirst()
	}
}

// openPatient loads the patient off the UI goroutine and shows the form.
func (s *patientsScreen) openPatient(id uint64) {
	store := s.ui.deps.Store
	s.ui.background(func() {
		p, err := store.Patient(id)
		var intakes []storage.Intake
		if err == nil {
			intakes, err = store.IntakesFor(id)
		}
		fyne.Do(func() {
			if err != nil {
				s.ui.showError("The patient could not be opened.", err)
				return
			}
			s.showForm(newPatientForm(s, &p, intakes))
			s.ui.audit(storage.ActionViewPatient, storage.RecordPatient, p.ID, "")
		})
	})
}

func (s *patientsScreen) onNewPatient() {
	s.list.UnselectAll()
	s.selected = -1
	s.showForm(newPatientForm(s, nil, nil))
	s.form.focusFirst()
}

// newPatientFrom opens the new-patient form pre-filled (from a booking
// request); onSaved runs once the receptionist saves it.
func (s *patientsScreen) newPatientFrom(p storage.Patient, onSaved func(storage.Patient)) {
	s.list.UnselectAll()
	s.selected = -1
	f := newPatientForm(s, nil, nil)
	f.fill(p)
	f.onSaved = onSaved
	s.showForm(f)
}

func (s *patientsScreen) showForm(f *patientForm) {
	s.form, s.intake = f, nil
	s.detail.Objects = []fyne.CanvasObject{f.content}
	s.detail.Refresh()
}

func (s *patientsScreen) showIntake(is *intakeScreen) {
	s.intake = is
	s.detail.Objects = []fyne.CanvasObject{is.content}
	s.detail.Refresh()
}

// onSave (Ctrl+S) saves whatever is open.
func (s *patientsScreen) onSave() {
	switch {
	case s.intake != nil:
		s.intake.saveNow()
	case s.form != nil:
		s.form.onSave()
	}
}

// onPrint (Ctrl+P) prints the open intake, or the open patient's blank packet.
func (s *patientsScreen) onPrint() {
	switch {
	case s.intake != nil:
		s.intake.onPrint()
	case s.form != nil && s.form.patient != nil:
		s.form.onPrintBlank()
	}
}

// searchEntry is the search field: arrow keys move through the list while
// the typing stays in the field.
type searchEntry struct {
	widget.Entry
	onDown, onUp func()
}

func newSearchEntry() *searchEntry {
	e := &searchEntry{}
	e.ExtendBaseWidget(e)
	return e
}

func (e *searchEntry) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyDown:
		if e.onDown != nil {
			e.onDown()
		}
	case fyne.KeyUp:
		if e.onUp != nil {
			e.onUp()
		}
	default:
		e.Entry.TypedKey(k)
	}
}
