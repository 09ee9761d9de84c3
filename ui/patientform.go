package ui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/forms"
	"frontdesk/storage"
)

// sexChoices are the options of the Sex field as shown and as stored; an
// empty value is "not recorded".
var sexChoices = []struct{ label, code string }{
	{"Female", "female"}, {"Male", "male"}, {"Other", "other"}, {"Unknown or prefer not to say", "unknown"},
}

func sexLabels() []string {
	out := make([]string, len(sexChoices))
	for i, c := range sexChoices {
		out[i] = c.label
	}
	return out
}

func sexLabel(code string) string {
	for _, c := range sexChoices {
		if c.code == code {
			return c.label
		}
	}
	return ""
}

func sexCode(label string) string {
	for _, c := range sexChoices {
		if c.label == label {
			return c.code
		}
	}
	return ""
}

// patientForm shows and edits one patient (or a new one) and lists their intakes.
type patientForm struct {
	screen  *patientsScreen
	content fyne.CanvasObject

	patient *storage.Patient // nil for a new patient; the version read
	intakes []storage.Intake

	given, family, preferred, dob   *widget.Entry
	sex                             *widget.Select
	phone, phone2, email, language  *widget.Entry
	address, notes                  *widget.Entry
	emergName, emergRel, emergPhone *widget.Entry
	problems                        *widget.Label
	saveButton, printButton         *widget.Button
	intakeButton                    *widget.Button
	intakeList                      *fyne.Container
	dirty                           bool

	dupDialog, conflictDialog dialog.Dialog         // the open question, if any (tests answer it)
	onSaved                   func(storage.Patient) // e.g. link the booking request it came from
}

func newPatientForm(s *patientsScreen, p *storage.Patient, intakes []storage.Intake) *patientForm {
	f := &patientForm{screen: s, patient: p, intakes: intakes}
	entry := func(placeholder string) *widget.Entry {
		e := widget.NewEntry()
		e.SetPlaceHolder(placeholder)
		e.OnChanged = func(string) { f.dirty = true; s.ui.touch() }
		return e
	}
	multi := func(placeholder string) *widget.Entry {
		e := widget.NewMultiLineEntry()
		e.SetPlaceHolder(placeholder)
		e.Wrapping = fyne.TextWrapWord
		e.SetMinRowsVisible(2)
		e.OnChanged = func(string) { f.dirty = true; s.ui.touch() }
		return e
	}
	f.given, f.family, f.preferred = entry("Given (first) name"), entry("Family (last) name"), entry("What they like to be called")
	f.dob = entry("YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY")
	f.sex = widget.NewSelect(sexLabels(), func(string) { f.dirty = true })
	f.sex.PlaceHolder = "Not recorded"
	f.phone, f.phone2 = entry("Mobile"), entry("Home or work")
	f.email, f.language = entry("name@example.com"), entry("e.g. English, Español, Tiếng Việt")
	f.address, f.notes = multi("Street, city, postal code"), multi("Anything the front desk should know")
	f.emergName, f.emergRel, f.emergPhone = entry("Name"), entry("Relationship"), entry("Phone")
	f.problems = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	f.problems.Hide()

	f.saveButton = &widget.Button{Text: "Save", Icon: theme.DocumentSaveIcon(), Importance: widget.HighImportance, OnTapped: f.onSave}
	f.printButton = &widget.Button{Text: "Print blank packet", Icon: theme.DocumentPrintIcon(), OnTapped: f.onPrintBlank}
	f.intakeButton = &widget.Button{Text: "Start evaluation intake", Icon: theme.FileTextIcon(), OnTapped: f.onStartIntake}
	f.intakeList = container.NewVBox()

	form := widget.NewForm(
		widget.NewFormItem("Given name", f.given),
		widget.NewFormItem("Family name", f.family),
		widget.NewFormItem("Preferred name", f.preferred),
		widget.NewFormItem("Date of birth", f.dob),
		widget.NewFormItem("Sex", f.sex),
		widget.NewFormItem("Phone", f.phone),
		widget.NewFormItem("Other phone", f.phone2),
		widget.NewFormItem("Email", f.email),
		widget.NewFormItem("Address", f.address),
		widget.NewFormItem("Language", f.language),
		widget.NewFormItem("Emergency contact", container.NewGridWithColumns(3, f.emergName, f.emergRel, f.emergPhone)),
		widget.NewFormItem("Notes", f.notes),
	)
	title := widget.NewLabelWithStyle("New patient", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	if p != nil {
		f.fill(*p)
		title.SetText(fmt.Sprintf("%s  ·  #%d", p.DisplayName(), p.ID))
	} else {
		f.printButton.Disable()
		f.intakeButton.Disable()
	}
	f.dirty = false
	f.refreshIntakes()
	// Actions and the patient's intakes (with their red-flag state) come
	// first, where they are seen without scrolling; the details follow.
	buttons := container.NewHBox(f.saveButton, f.printButton, f.intakeButton)
	body := container.NewVBox(title, buttons, f.problems,
		widget.NewLabelWithStyle("Evaluation intakes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), f.intakeList,
		widget.NewSeparator(), form)
	f.content = container.NewVScroll(container.NewPadded(body))
	return f
}

func (f *patientForm) focusFirst() {
	f.screen.ui.win.Canvas().Focus(f.given)
}

// fill puts a patient's fields into the form.
func (f *patientForm) fill(p storage.Patient) {
	f.given.SetText(p.GivenName)
	f.family.SetText(p.FamilyName)
	f.preferred.SetText(p.PreferredName)
	f.dob.SetText(p.DateOfBirth)
	f.sex.ClearSelected()
	if l := sexLabel(p.Sex); l != "" {
		f.sex.SetSelected(l)
	}
	f.phone.SetText("")
	f.phone2.SetText("")
	if len(p.Phones) > 0 {
		f.phone.SetText(p.Phones[0].Number)
	}
	if len(p.Phones) > 1 {
		f.phone2.SetText(p.Phones[1].Number)
	}
	f.email.SetText(p.Email)
	f.address.SetText(p.Address)
	f.language.SetText(p.Language)
	f.emergName.SetText(p.Emergency.Name)
	f.emergRel.SetText(p.Emergency.Relationship)
	f.emergPhone.SetText(p.Emergency.Phone)
	f.notes.SetText(p.Notes)
}

// read builds the patient record from the form, on top of the version read.
func (f *patientForm) read() storage.Patient {
	var p storage.Patient
	if f.patient != nil {
		p = *f.patient
	}
	trim := strings.TrimSpace
	p.GivenName, p.FamilyName, p.PreferredName = trim(f.given.Text), trim(f.family.Text), trim(f.preferred.Text)
	p.DateOfBirth = trim(f.dob.Text)
	if iso, ok := storage.ParseDate(p.DateOfBirth, f.screen.ui.dateOrder()); ok {
		p.DateOfBirth = iso
	}
	p.Sex = sexCode(f.sex.Selected)
	p.Phones = nil
	if n := trim(f.phone.Text); n != "" {
		p.Phones = append(p.Phones, storage.Phone{Label: "mobile", Number: n})
	}
	if n := trim(f.phone2.Text); n != "" {
		p.Phones = append(p.Phones, storage.Phone{Label: "other", Number: n})
	}
	p.Email, p.Address, p.Language = trim(f.email.Text), trim(f.address.Text), trim(f.language.Text)
	p.Emergency = storage.EmergencyContact{Name: trim(f.emergName.Text), Relationship: trim(f.emergRel.Text), Phone: trim(f.emergPhone.Text)}
	p.Notes = trim(f.notes.Text)
	return p
}

// fieldEntries maps storage's field names to the widgets that edit them.
func (f *patientForm) fieldEntries() map[string]*widget.Entry {
	return map[string]*widget.Entry{
		"given_name": f.given, "family_name": f.family, "preferred_name": f.preferred,
		"date_of_birth": f.dob, "phone": f.phone, "phones": f.phone, "phone2": f.phone2, "email": f.email,
		"address": f.address, "language": f.language, "emergency_phone": f.emergPhone, "notes": f.notes,
	}
}

// onSave validates, checks for duplicates, then saves off the UI goroutine.
func (f *patientForm) onSave() {
	p := f.read()
	entries := f.fieldEntries()
	for _, e := range entries {
		e.SetValidationError(nil)
	}
	if errs := storage.ValidatePatient(p, f.screen.ui.region()); len(errs) > 0 {
		msgs := make([]string, 0, len(errs))
		for _, fe := range errs {
			msgs = append(msgs, fe.Msg)
			if e, ok := entries[fe.Field]; ok {
				e.SetValidationError(errors.New(fe.Msg))
			}
		}
		f.problems.SetText("Please check: " + strings.Join(msgs, " "))
		f.problems.Show()
		return
	}
	f.problems.Hide()
	store := f.screen.ui.deps.Store
	f.screen.ui.background(func() {
		cands := store.DuplicateCandidates(p)
		fyne.Do(func() {
			if len(cands) > 0 {
				f.showDuplicates(p, cands)
				return
			}
			f.save(p)
		})
	})
}

// showDuplicates lists the likely duplicates with their reasons and lets the
// receptionist open one instead, or save anyway.
func (f *patientForm) showDuplicates(p storage.Patient, cands []storage.Candidate) {
	var d dialog.Dialog
	rows := container.NewVBox(widget.NewLabel("This may be a patient who is already registered:"))
	for _, c := range cands {
		c := c
		info := widget.NewLabel(fmt.Sprintf("%s · born %s · #%d\n%s", c.Patient.DisplayName(), c.Patient.DateOfBirth, c.Patient.ID, strings.Join(c.Reasons, "; ")))
		open := &widget.Button{Text: "Open this patient", OnTapped: func() {
			d.Hide()
			f.screen.openPatient(c.Patient.ID)
		}}
		rows.Add(container.NewBorder(nil, nil, nil, open, info))
	}
	d = dialog.NewCustomConfirm("Possible duplicate", "Save anyway", "Cancel", rows, func(ok bool) {
		if ok {
			f.save(p)
		}
	}, f.screen.ui.win)
	f.dupDialog = d
	d.Show()
}

// save writes the patient off the UI goroutine; a conflict shows both versions.
func (f *patientForm) save(p storage.Patient) {
	store := f.screen.ui.deps.Store
	f.saveButton.Disable()
	f.screen.ui.background(func() {
		var err error
		if p.ID == 0 {
			err = store.CreatePatient(&p)
		} else {
			err = store.UpdatePatient(&p)
		}
		fyne.Do(func() {
			f.saveButton.Enable()
			var conflict *storage.ConflictError
			switch {
			case errors.As(err, &conflict):
				f.showConflict(p, conflict.Current)
			case err != nil:
				f.screen.ui.showError("The patient was not saved.", err)
			default:
				f.saved(p)
			}
		})
	})
}

func (f *patientForm) saved(p storage.Patient) {
	f.patient = &p
	f.dirty = false
	f.printButton.Enable()
	f.intakeButton.Enable()
	f.problems.Hide()
	f.screen.status.SetText(fmt.Sprintf("Saved %s at %s", p.DisplayName(), f.screen.ui.deps.Now().Format("15:04")))
	f.screen.reload()
	if f.onSaved != nil {
		done := f.onSaved
		f.onSaved = nil
		done(p)
	}
}

// showConflict shows what someone else saved beside what is on screen; the
// receptionist keeps one of them knowingly, nothing is overwritten silently.
func (f *patientForm) showConflict(mine, theirs storage.Patient) {
	grid := container.NewGridWithColumns(3,
		widget.NewLabelWithStyle("Field", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewLabelWithStyle("Saved by someone else", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewLabelWithStyle("On your screen", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for _, row := range patientDiff(theirs, mine) {
		grid.Add(widget.NewLabel(row[0]))
		grid.Add(&widget.Label{Text: row[1], Wrapping: fyne.TextWrapWord})
		grid.Add(&widget.Label{Text: row[2], Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance})
	}
	content := container.NewVBox(widget.NewLabel("Someone else changed this patient while you were editing."), grid)
	d := dialog.NewCustomConfirm("Changed by someone else", "Save mine over theirs", "Keep theirs", content, func(mineWins bool) {
		if mineWins {
			mine.Version = theirs.Version
			f.save(mine)
			return
		}
		f.patient = &theirs
		f.fill(theirs)
		f.dirty = false
	}, f.screen.ui.win)
	f.conflictDialog = d
	d.Show()
}

// patientDiff lists the fields that differ: name, theirs, mine.
func patientDiff(a, b storage.Patient) [][3]string {
	phones := func(p storage.Patient) string {
		var s []string
		for _, ph := range p.Phones {
			s = append(s, ph.Number)
		}
		return strings.Join(s, ", ")
	}
	fields := []struct {
		name string
		get  func(storage.Patient) string
	}{
		{"Given name", func(p storage.Patient) string { return p.GivenName }},
		{"Family name", func(p storage.Patient) string { return p.FamilyName }},
		{"Preferred name", func(p storage.Patient) string { return p.PreferredName }},
		{"Date of birth", func(p storage.Patient) string { return p.DateOfBirth }},
		{"Sex", func(p storage.Patient) string { return p.Sex }},
		{"Phones", phones},
		{"Email", func(p storage.Patient) string { return p.Email }},
		{"Address", func(p storage.Patient) string { return p.Address }},
		{"Language", func(p storage.Patient) string { return p.Language }},
		{"Emergency contact", func(p storage.Patient) string {
			return strings.Join(nonEmpty(p.Emergency.Name, p.Emergency.Relationship, p.Emergency.Phone), ", ")
		}},
		{"Notes", func(p storage.Patient) string { return p.Notes }},
	}
	var out [][3]string
	for _, fd := range fields {
		if x, y := fd.get(a), fd.get(b); x != y {
			out = append(out, [3]string{fd.name, x, y})
		}
	}
	return out
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// refreshIntakes lists the patient's intakes, newest first, with their screen.
func (f *patientForm) refreshIntakes() {
	f.intakeList.RemoveAll()
	if len(f.intakes) == 0 {
		f.intakeList.Add(&widget.Label{Text: "No intakes yet.", TextStyle: fyne.TextStyle{Italic: true}})
		return
	}
	for _, in := range f.intakes { // newest first, as the store lists them
		label := fmt.Sprintf("%s · %s · %s", in.CreatedAt.Format("2006-01-02 15:04"), in.Status, screenWords(in.RedFlags))
		l := widget.NewLabel(label)
		if in.RedFlags == forms.ScreenUrgent {
			l.Importance = widget.DangerImportance
			l.TextStyle.Bold = true
		}
		open := &widget.Button{Text: "Open", OnTapped: func() { f.openIntake(in) }}
		f.intakeList.Add(container.NewBorder(nil, nil, nil, open, l))
	}
}

func screenWords(s forms.ScreenStatus) string {
	switch s {
	case forms.ScreenUrgent:
		return "RED FLAG — urgent"
	case forms.ScreenClear:
		return "no red flags"
	default:
		return "screening incomplete"
	}
}

func (f *patientForm) onStartIntake() {
	if f.patient == nil {
		return
	}
	t, err := forms.Current(forms.EvaluationID)
	if err != nil {
		f.screen.ui.showError("The intake form is missing.", err)
		return
	}
	in := storage.Intake{PatientID: f.patient.ID, TemplateID: t.ID, TemplateVersion: t.Version, Answers: forms.Answers{}, Status: storage.IntakeDraft}
	store := f.screen.ui.deps.Store
	f.screen.ui.background(func() {
		err := store.CreateIntake(&in)
		fyne.Do(func() {
			if err != nil {
				f.screen.ui.showError("The intake could not be started.", err)
				return
			}
			f.openIntake(in)
		})
	})
}

func (f *patientForm) openIntake(in storage.Intake) {
	is, err := newIntakeScreen(f.screen, *f.patient, in)
	if err != nil {
		f.screen.ui.showError("The intake could not be opened.", err)
		return
	}
	f.screen.showIntake(is)
	f.screen.ui.audit(storage.ActionViewIntake, storage.RecordIntake, in.ID, "")
}

func (f *patientForm) onPrintBlank() {
	if f.patient == nil {
		return
	}
	f.screen.ui.printPacket(*f.patient, nil)
}
