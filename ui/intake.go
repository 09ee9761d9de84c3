package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/forms"
	"frontdesk/storage"
)

// intakeScreen is one evaluation intake: every section of the template it
// answers, the red-flag screen with its banner, autosave, completion and print.
type intakeScreen struct {
	screen  *patientsScreen
	content fyne.CanvasObject

	patient  storage.Patient
	template *forms.Template

	mu     sync.Mutex     // guards intake while the saver writes it
	intake storage.Intake // the version last saved

	answers forms.Answers // edited on the UI goroutine

	banner      *fyne.Container // the urgent / incomplete banner at the top
	bannerText  *widget.Label
	bannerBack  *canvas.Rectangle
	status      *widget.Label // "Draft saved 10:32"
	completeBtn *widget.Button
	printBtn    *widget.Button
	redFlags    map[string]*widget.RadioGroup // red-flag linkId → Yes/No
	inputs      map[string]fyne.CanvasObject  // linkId → widget, for tests and focus

	pending  *storage.Intake // the newest snapshot not yet written
	draining bool            // a background writer is running

	ackDialog, reasonDialog dialog.Dialog // open questions, for tests
	ackName                 *widget.Entry
	ackCheck                *widget.Check
	reasonEntry             *widget.Entry
}

func newIntakeScreen(s *patientsScreen, p storage.Patient, in storage.Intake) (*intakeScreen, error) {
	t, err := forms.Lookup(in.TemplateID, in.TemplateVersion)
	if err != nil {
		return nil, err
	}
	is := &intakeScreen{
		screen: s, patient: p, template: t, intake: in,
		answers:  forms.Answers{},
		redFlags: map[string]*widget.RadioGroup{},
		inputs:   map[string]fyne.CanvasObject{},
	}
	for k, v := range in.Answers {
		is.answers[k] = v
	}
	is.bannerText = &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}}
	is.bannerBack = canvas.NewRectangle(theme.Color(theme.ColorNameError))
	is.bannerBack.CornerRadius = 6
	is.banner = container.NewStack(is.bannerBack, container.NewPadded(container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), nil, is.bannerText)))
	is.status = &widget.Label{TextStyle: fyne.TextStyle{Italic: true}}
	is.completeBtn = &widget.Button{Text: "Mark completed", Icon: theme.ConfirmIcon(), Importance: widget.HighImportance, OnTapped: is.onComplete}
	is.printBtn = &widget.Button{Text: "Print evaluation", Icon: theme.DocumentPrintIcon(), OnTapped: is.onPrint}
	back := &widget.Button{Text: "Back to patient", Icon: theme.NavigateBackIcon(), OnTapped: is.onBack}

	title := widget.NewLabelWithStyle(fmt.Sprintf("%s — %s", p.DisplayName(), t.Title), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Wrapping = fyne.TextWrapWord
	sub := widget.NewLabel(fmt.Sprintf("Form version %s · intake #%d · started %s", t.Version, in.ID, in.CreatedAt.Format("2006-01-02 15:04")))
	sub.TextStyle = fyne.TextStyle{Italic: true}

	body := container.NewVBox()
	for i := range t.Item {
		body.Add(is.build(&t.Item[i], 0))
	}
	header := container.NewVBox(container.NewBorder(nil, nil, back, container.NewHBox(is.printBtn, is.completeBtn), title), sub, is.banner, is.status)
	is.content = container.NewBorder(header, nil, nil, nil, container.NewScroll(container.NewPadded(body)))
	is.updateBanner()
	is.updateStatus("")
	return is, nil
}

// build makes the widget for one template item (and its children).
func (is *intakeScreen) build(it *forms.Item, depth int) fyne.CanvasObject {
	label := &widget.Label{Text: it.Text, Wrapping: fyne.TextWrapWord}
	if it.Required && it.Answerable() {
		label.Text += " *"
	}
	switch it.Type {
	case forms.TypeGroup:
		box := container.NewVBox()
		for i := range it.Item {
			box.Add(is.build(&it.Item[i], depth+1))
		}
		if depth == 0 {
			return widget.NewCard(it.Text, "", box)
		}
		head := &widget.Label{Text: it.Text, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
		return container.NewVBox(head, box)
	case forms.TypeDisplay:
		label.Importance = widget.MediumImportance
		if _, isStaff := staffNote(it); isStaff {
			label.TextStyle = fyne.TextStyle{Italic: true}
		}
		return label
	case forms.TypeBoolean:
		radio := &widget.RadioGroup{Options: []string{"Yes", "No"}, Horizontal: true}
		if a, ok := is.answers[it.LinkID]; ok && a.Bool != nil {
			radio.Selected = map[bool]string{true: "Yes", false: "No"}[*a.Bool]
		}
		id := it.LinkID
		radio.OnChanged = func(v string) {
			switch v {
			case "Yes":
				is.set(id, forms.Yes())
			case "No":
				is.set(id, forms.No())
			default:
				is.set(id, forms.Answer{})
			}
		}
		radio.ExtendBaseWidget(radio)
		is.inputs[id] = radio
		if _, ok := it.RedFlag(); ok {
			is.redFlags[id] = radio
			return container.NewBorder(nil, nil, nil, radio, label)
		}
		return container.NewVBox(label, radio)
	case forms.TypeChoice:
		return is.buildChoice(it, label)
	case forms.TypeInteger:
		return is.buildScale(it, label)
	case forms.TypeString, forms.TypeDate:
		e := widget.NewEntry()
		if it.Type == forms.TypeDate {
			e.SetPlaceHolder("YYYY-MM-DD")
		}
		e.SetText(is.answers[it.LinkID].Text)
		id := it.LinkID
		e.OnChanged = func(v string) { is.set(id, forms.Text(v)) }
		is.inputs[id] = e
		return container.NewVBox(label, e)
	default: // text
		e := widget.NewMultiLineEntry()
		e.Wrapping = fyne.TextWrapWord
		e.SetMinRowsVisible(3)
		e.SetText(is.answers[it.LinkID].Text)
		id := it.LinkID
		e.OnChanged = func(v string) { is.set(id, forms.Text(v)) }
		is.inputs[id] = e
		return container.NewVBox(label, e)
	}
}

func staffNote(it *forms.Item) (string, bool) {
	return it.Text, strings.HasPrefix(it.Text, "Staff:")
}

func (is *intakeScreen) buildChoice(it *forms.Item, label *widget.Label) fyne.CanvasObject {
	var codes, displays []string
	for _, o := range it.AnswerOption {
		codes = append(codes, o.ValueCoding.Code)
		displays = append(displays, o.ValueCoding.Display)
	}
	toCodes := func(selected []string) []string {
		var out []string
		for _, s := range selected {
			for i, d := range displays {
				if d == s {
					out = append(out, codes[i])
				}
			}
		}
		return out
	}
	var current []string
	for _, c := range is.answers[it.LinkID].Codes {
		if o, ok := it.Option(c); ok {
			current = append(current, o.Display)
		}
	}
	id := it.LinkID
	if it.Repeats {
		g := widget.NewCheckGroup(displays, nil)
		g.Horizontal = len(displays) <= 4
		g.SetSelected(current)
		g.OnChanged = func(sel []string) { is.set(id, forms.Answer{Codes: toCodes(sel)}) }
		is.inputs[id] = g
		return container.NewVBox(label, g)
	}
	r := widget.NewRadioGroup(displays, nil)
	r.Horizontal = len(displays) <= 3
	if len(current) > 0 {
		r.Selected = current[0]
	}
	r.OnChanged = func(v string) {
		if v == "" {
			is.set(id, forms.Answer{})
			return
		}
		is.set(id, forms.Answer{Codes: toCodes([]string{v})})
	}
	is.inputs[id] = r
	return container.NewVBox(label, r)
}

// buildScale shows a 0–10 item as a row of choices; other integers as an entry.
func (is *intakeScreen) buildScale(it *forms.Item, label *widget.Label) fyne.CanvasObject {
	id := it.LinkID
	lo, hi, ok := it.Range()
	if ok && hi-lo <= 10 {
		var opts []string
		for n := lo; n <= hi; n++ {
			opts = append(opts, strconv.Itoa(n))
		}
		r := widget.NewRadioGroup(opts, nil)
		r.Horizontal = true
		if a := is.answers[id]; a.Int != nil {
			r.Selected = strconv.Itoa(*a.Int)
		}
		r.OnChanged = func(v string) {
			if n, err := strconv.Atoi(v); err == nil {
				is.set(id, forms.Int(n))
				return
			}
			is.set(id, forms.Answer{})
		}
		is.inputs[id] = r
		return container.NewVBox(label, r)
	}
	e := widget.NewEntry()
	if a := is.answers[id]; a.Int != nil {
		e.SetText(strconv.Itoa(*a.Int))
	}
	e.OnChanged = func(v string) {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			is.set(id, forms.Int(n))
		} else {
			is.set(id, forms.Answer{})
		}
	}
	is.inputs[id] = e
	return container.NewVBox(label, e)
}

// set records one answer, updates the banner and asks the saver to write.
func (is *intakeScreen) set(linkID string, a forms.Answer) {
	is.screen.ui.touch()
	if a.Empty() {
		delete(is.answers, linkID)
	} else {
		is.answers[linkID] = a
	}
	is.updateBanner()
	is.requestSave(nil)
}

// screenResult evaluates the red-flag screen of what is on screen now.
func (is *intakeScreen) screenResult() forms.Screen {
	return forms.ScreenRedFlags(is.template, is.answers)
}

func (is *intakeScreen) updateBanner() {
	sc := is.screenResult()
	if sc.Status != forms.ScreenUrgent {
		is.banner.Hide()
		return
	}
	var items []string
	for _, it := range sc.Positive {
		items = append(items, "• "+it.Text)
	}
	text := "RED FLAG — do not treat until the practitioner has been told.\n" + strings.Join(items, "\n")
	if sc.SameDay {
		text += "\nPossible cauda equina: the patient needs a same-day medical assessment."
	}
	if is.intake.AcknowledgedBy != "" {
		text += fmt.Sprintf("\nAcknowledged by %s at %s.", is.intake.AcknowledgedBy, is.intake.AcknowledgedAt.Format("2006-01-02 15:04"))
	}
	is.bannerText.SetText(text)
	is.banner.Show()
}

// requestSave snapshots the answers (and any completion fields in change)
// and makes sure a background writer will store the newest snapshot; typing
// never waits for the disk, and quick changes coalesce into one write.
func (is *intakeScreen) requestSave(change func(in *storage.Intake)) {
	is.mu.Lock()
	snap := is.intake
	if is.pending != nil {
		snap = *is.pending
	}
	snap.Answers = make(forms.Answers, len(is.answers))
	for k, v := range is.answers {
		snap.Answers[k] = v
	}
	if change != nil {
		change(&snap)
	}
	is.pending = &snap
	start := !is.draining
	is.draining = true
	is.mu.Unlock()
	if start {
		is.screen.ui.background(is.drain)
	}
}

// saveNow (Ctrl+S) writes at once; autosave already keeps drafts.
func (is *intakeScreen) saveNow() { is.requestSave(nil) }

// drain writes snapshots until none is pending, off the UI goroutine.
func (is *intakeScreen) drain() {
	for {
		is.mu.Lock()
		snap := is.pending
		if snap == nil {
			is.draining = false
			is.mu.Unlock()
			return
		}
		is.pending = nil
		snap.Version = is.intake.Version
		is.mu.Unlock()

		err := is.screen.ui.deps.Store.UpdateIntake(snap)
		is.mu.Lock()
		if err == nil {
			is.intake = *snap
		}
		saved := is.intake
		is.mu.Unlock()
		fyne.Do(func() { is.saved(saved, err) })
	}
}

func (is *intakeScreen) saved(in storage.Intake, err error) {
	if err != nil {
		if errors.Is(err, storage.ErrConflict) {
			is.screen.ui.showError("This intake was changed on another desk; your last change was not saved. Reopen the intake to see the saved answers.", err)
		} else {
			is.screen.ui.showError("The intake was not saved. Your answers are still on screen; try again (Ctrl+S).", err)
		}
		is.status.SetText("Not saved")
		return
	}
	is.updateStatus("saved " + in.UpdatedAt.Format("15:04:05"))
	is.screen.reload()
}

// flush waits until every change requested so far is in the store. Call it
// off the UI goroutine.
func (is *intakeScreen) flush() storage.Intake {
	for {
		is.mu.Lock()
		idle := is.pending == nil && !is.draining
		in := is.intake
		is.mu.Unlock()
		if idle {
			return in
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (is *intakeScreen) updateStatus(saved string) {
	is.mu.Lock()
	in := is.intake
	is.mu.Unlock()
	state := "Draft"
	if in.Status == storage.IntakeCompleted {
		state = "Completed"
		is.completeBtn.Disable()
	}
	if saved != "" {
		is.status.SetText(state + " — " + saved)
	} else {
		is.status.SetText(state + " — every answer is saved as you go")
	}
}

func (is *intakeScreen) onBack() {
	is.saveNow()
	is.screen.openPatient(is.patient.ID)
}

// onComplete checks the answers, asks for the reason when red-flag questions
// are unanswered and for the staff acknowledgement when the screen is urgent,
// then saves the intake as completed.
func (is *intakeScreen) onComplete() {
	var problems []string
	for _, p := range forms.Validate(is.template, is.answers, forms.Complete) {
		if it := is.template.Find(p.LinkID); it != nil {
			if _, rf := it.RedFlag(); rf {
				continue // handled below: staff may record why
			}
		}
		problems = append(problems, "• "+p.Msg)
	}
	if len(problems) > 0 {
		dialog.NewInformation("Some answers are missing", "Before completing, please check:\n"+strings.Join(problems, "\n"), is.screen.ui.win).Show()
		return
	}
	is.askReasonIfIncomplete(func(reason string) {
		is.askAcknowledgementIfUrgent(func(by string) {
			now := is.screen.ui.deps.Now()
			is.requestSave(func(in *storage.Intake) {
				in.Status = storage.IntakeCompleted
				in.IncompleteReason = reason
				if by != "" {
					in.AcknowledgedBy, in.AcknowledgedAt = by, now
				}
			})
			is.mu.Lock()
			is.intake.Status = storage.IntakeCompleted
			if by != "" {
				is.intake.AcknowledgedBy, is.intake.AcknowledgedAt = by, now
			}
			is.mu.Unlock()
			is.updateBanner()
			is.updateStatus("completed")
		})
	})
}

func (is *intakeScreen) askReasonIfIncomplete(next func(reason string)) {
	sc := is.screenResult()
	if len(sc.Unanswered) == 0 {
		next("")
		return
	}
	var names []string
	for _, it := range sc.Unanswered {
		names = append(names, "• "+it.Text)
	}
	is.reasonEntry = widget.NewMultiLineEntry()
	is.reasonEntry.SetPlaceHolder("e.g. patient declined to answer; interpreter not available")
	is.reasonEntry.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("say why the safety questions are unanswered")
		}
		return nil
	}
	msg := &widget.Label{Text: "These safety questions are unanswered, so the screen is incomplete:\n" + strings.Join(names, "\n"), Wrapping: fyne.TextWrapWord}
	d := dialog.NewForm("Red-flag screen incomplete", "Complete anyway", "Go back", []*widget.FormItem{
		widget.NewFormItem("", msg),
		widget.NewFormItem("Why", is.reasonEntry),
	}, func(ok bool) {
		if ok {
			next(strings.TrimSpace(is.reasonEntry.Text))
		}
	}, is.screen.ui.win)
	d.Resize(fyne.NewSize(560, 420))
	is.reasonDialog = d
	d.Show()
}

func (is *intakeScreen) askAcknowledgementIfUrgent(next func(by string)) {
	sc := is.screenResult()
	if sc.Status != forms.ScreenUrgent {
		next("")
		return
	}
	is.ackName = widget.NewEntry()
	is.ackName.SetPlaceHolder("Your name")
	is.ackName.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("enter your name")
		}
		return nil
	}
	is.ackCheck = widget.NewCheck("I have told the practitioner about the red flags", nil)
	var items []string
	for _, it := range sc.Positive {
		items = append(items, "• "+it.Text)
	}
	msg := &widget.Label{Text: "This patient answered YES to:\n" + strings.Join(items, "\n"), Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}}
	d := dialog.NewForm("Red flag — staff acknowledgement", "Acknowledge and complete", "Go back", []*widget.FormItem{
		widget.NewFormItem("", msg),
		widget.NewFormItem("Staff", is.ackName),
		widget.NewFormItem("", is.ackCheck),
	}, func(ok bool) {
		if !ok {
			return
		}
		if !is.ackCheck.Checked {
			dialog.NewInformation("Not completed", "Tick that the practitioner has been told, then complete again.", is.screen.ui.win).Show()
			return
		}
		next(strings.TrimSpace(is.ackName.Text))
	}, is.screen.ui.win)
	d.Resize(fyne.NewSize(560, 420))
	is.ackDialog = d
	d.Show()
}

func (is *intakeScreen) onPrint() {
	is.saveNow()
	is.screen.ui.background(func() {
		in := is.flush()
		fyne.Do(func() { is.screen.ui.printPacket(is.patient, &in) })
	})
}
