package ui

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"frontdesk/forms"
	"frontdesk/storage"
)

// recordingPrinter writes real packets but records Open and Print instead of
// starting a viewer or a printer.
type recordingPrinter struct {
	mu      sync.Mutex
	opened  []string
	printed []string
}

func (p *recordingPrinter) Save(dir string, in forms.PacketInput) (string, forms.PacketResult, error) {
	return forms.SavePacket(dir, in)
}

func (p *recordingPrinter) Open(path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opened = append(p.opened, path)
	return nil
}

func (p *recordingPrinter) Print(path, printer string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printed = append(p.printed, path+"@"+printer)
	return nil
}

var fixedNow = time.Date(2026, 11, 26, 10, 32, 0, 0, time.UTC)

type harness struct {
	ui      *App
	store   *storage.Store
	win     fyne.Window
	printer *recordingPrinter
	dir     string
}

// newHarness opens a real plaintext store in a temp folder (no sign-in) and
// the window on Fyne's test driver; background work runs synchronously so
// every assertion sees its result.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return openHarness(t, storage.Options{Plaintext: true}, false)
}

// newLockedHarness opens a new encrypted store, as the app does: it needs
// set-up, so the window starts behind the gate; staff and admin screens are on.
func newLockedHarness(t *testing.T) *harness {
	t.Helper()
	return openHarness(t, storage.Options{}, true)
}

func openHarness(t *testing.T, opts storage.Options, staff bool) *harness {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	a := test.NewTempApp(t)
	dir := t.TempDir()
	st, err := storage.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := a.NewWindow("Front Desk")
	pr := &recordingPrinter{}
	deps := Deps{Store: st, DataDir: dir, Printer: pr, Requests: st, Mailbox: NewMailbox(st),
		Now: func() time.Time { return fixedNow }, Background: func(f func()) { f() }}
	if staff {
		deps.Staff, deps.Admin = st, st
	}
	u := New(a, w, deps)
	w.SetContent(u.Content())
	w.Resize(fyne.NewSize(1280, 900))
	t.Cleanup(func() {
		u.deps.Mailbox.Stop() // no background check may touch the window once the test ends
		u.Stop()
		if u.patients.intake != nil {
			u.patients.intake.flush()
		}
		w.Close()
	})
	return &harness{ui: u, store: st, win: w, printer: pr, dir: dir}
}

// markup is what the window shows, overlays (dialogs) included.
func (h *harness) markup() string { return test.RenderToMarkup(h.win.Canvas()) }

// tapButton taps the button with the text on the topmost dialog, or the window.
func (h *harness) tapButton(t *testing.T, text string) {
	t.Helper()
	var roots []fyne.CanvasObject
	if top := h.win.Canvas().Overlays().Top(); top != nil {
		roots = append(roots, top)
	}
	roots = append(roots, h.win.Canvas().Content())
	for _, root := range roots {
		for _, o := range test.LaidOutObjects(root) {
			if b, ok := o.(*widget.Button); ok && b.Text == text && b.Visible() {
				test.Tap(b)
				return
			}
		}
	}
	t.Fatalf("no button %q on screen", text)
}

func (h *harness) typeNewPatient(given, family, dob, phone, email string) *patientForm {
	test.Tap(h.ui.patients.newButton)
	f := h.ui.patients.form
	test.Type(f.given, given)
	test.Type(f.family, family)
	test.Type(f.dob, dob)
	test.Type(f.phone, phone)
	test.Type(f.email, email)
	return f
}

func TestTypedNewPatientIsSavedAndListed(t *testing.T) {
	h := newHarness(t)
	f := h.typeNewPatient("Zoë", "Nguyễn", "03/14/1986", "(555) 123-4567", "zoe@example.org")
	test.Tap(f.saveButton)

	res := h.store.Search("zoe nguyen", 10)
	if len(res) != 1 {
		t.Fatalf("search after save found %d patients, want 1", len(res))
	}
	p := res[0].Patient
	if p.GivenName != "Zoë" || p.FamilyName != "Nguyễn" || p.DateOfBirth != "1986-03-14" || p.Email != "zoe@example.org" {
		t.Errorf("stored %+v", p)
	}
	if len(p.Phones) != 1 || !strings.Contains(p.Phones[0].Number, "123") {
		t.Errorf("stored phones %+v", p.Phones)
	}
	if got := h.ui.patients.rowCount(); got != 1 {
		t.Errorf("list shows %d rows, want 1", got)
	}
	if !strings.Contains(h.markup(), "Zoë Nguyễn") {
		t.Error("the list does not show the new patient")
	}
	if !f.printButton.Disabled() && f.patient == nil {
		t.Error("form did not take the saved record")
	}
}

func TestInvalidPatientShowsWhyAndSavesNothing(t *testing.T) {
	h := newHarness(t)
	f := h.typeNewPatient("", "", "2199-01-01", "12", "not-an-email")
	test.Tap(f.saveButton)
	if n := h.store.PatientCount(); n != 0 {
		t.Fatalf("an invalid patient was saved (%d in store)", n)
	}
	if !f.problems.Visible() || !strings.Contains(f.problems.Text, "Please check") {
		t.Fatalf("no explanation shown: %q", f.problems.Text)
	}
	if f.dob.Validate() == nil && !strings.Contains(strings.ToLower(f.problems.Text), "birth") {
		t.Errorf("the date of birth problem is not pointed out: %q", f.problems.Text)
	}
}

func TestDuplicateCandidatesShowBeforeSaving(t *testing.T) {
	h := newHarness(t)
	existing := storage.Patient{GivenName: "Olga", FamilyName: "Petrova", DateOfBirth: "1975-06-01", Email: "olga@example.org"}
	if err := h.store.CreatePatient(&existing); err != nil {
		t.Fatal(err)
	}
	f := h.typeNewPatient("olga", "PETROVA", "1975-06-01", "", "")
	test.Tap(f.saveButton)
	if f.dupDialog == nil {
		t.Fatal("no duplicate warning for the same name and date of birth")
	}
	m := h.markup()
	if !strings.Contains(m, "Possible duplicate") || !strings.Contains(m, "Olga Petrova") || !strings.Contains(m, "name and date of birth") {
		t.Fatalf("the warning does not show the candidate and its reason:\n%s", m)
	}
	if h.store.PatientCount() != 1 {
		t.Fatal("saved before the receptionist chose")
	}
	h.tapButton(t, "Save anyway")
	if h.store.PatientCount() != 2 {
		t.Fatalf("Save anyway did not save (%d patients)", h.store.PatientCount())
	}
}

func TestConflictShowsBothVersions(t *testing.T) {
	h := newHarness(t)
	p := storage.Patient{GivenName: "José", FamilyName: "Ñúñez", DateOfBirth: "1990-01-02"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	h.ui.patients.openPatient(p.ID)
	f := h.ui.patients.form
	// Someone at another desk saves first.
	other := p
	other.Notes = "moved to Lisbon"
	if err := h.store.UpdatePatient(&other); err != nil {
		t.Fatal(err)
	}
	f.notes.SetText("prefers mornings")
	test.Tap(f.saveButton)
	if f.conflictDialog == nil {
		t.Fatal("a stale save did not show the conflict")
	}
	m := h.markup()
	if !strings.Contains(m, "moved to Lisbon") || !strings.Contains(m, "prefers mornings") {
		t.Fatal("the conflict does not show both versions")
	}
	got, _ := h.store.Patient(p.ID)
	if got.Notes != "moved to Lisbon" {
		t.Fatalf("the other desk's change was overwritten: %q", got.Notes)
	}
}

// answerRequired answers every required non-red-flag question through its widget.
func answerRequired(t *testing.T, is *intakeScreen) {
	t.Helper()
	is.template.Walk(func(it *forms.Item) {
		if !it.Required || !it.Answerable() {
			return
		}
		if _, rf := it.RedFlag(); rf {
			return
		}
		switch w := is.inputs[it.LinkID].(type) {
		case *widget.Entry:
			test.Type(w, "Back pain for two years")
		case *widget.RadioGroup:
			w.SetSelected(w.Options[len(w.Options)/2])
		case *widget.CheckGroup:
			w.SetSelected(w.Options[:1])
		default:
			t.Fatalf("no widget for %s (%T)", it.LinkID, w)
		}
	})
}

func (h *harness) startIntake(t *testing.T, p storage.Patient) *intakeScreen {
	t.Helper()
	h.ui.patients.openPatient(p.ID)
	test.Tap(h.ui.patients.form.intakeButton)
	is := h.ui.patients.intake
	if is == nil {
		t.Fatal("Start evaluation intake did not open an intake")
	}
	return is
}

func TestRedFlagShowsBannerMarkerAndNeedsAcknowledgement(t *testing.T) {
	h := newHarness(t)
	p := storage.Patient{GivenName: "Li", FamilyName: "Xiaolong", DateOfBirth: "1960-11-27"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	is := h.startIntake(t, p)
	if is.banner.Visible() {
		t.Fatal("banner shown before any answer")
	}
	for id, r := range is.redFlags {
		if r.Selected != "" {
			t.Fatalf("red flag %s is pre-selected %q", id, r.Selected)
		}
	}
	for id, r := range is.redFlags {
		if id == "rf-bladder" {
			r.SetSelected("Yes")
		} else {
			r.SetSelected("No")
		}
	}
	if !is.banner.Visible() || !strings.Contains(is.bannerText.Text, "RED FLAG") || !strings.Contains(is.bannerText.Text, "urine") {
		t.Fatalf("no urgent banner naming the item: visible=%v %q", is.banner.Visible(), is.bannerText.Text)
	}
	saved := is.flush()
	if saved.RedFlags != forms.ScreenUrgent {
		t.Fatalf("stored screen %q, want urgent", saved.RedFlags)
	}
	h.ui.patients.reload()
	if !h.ui.patients.isUrgent(p.ID) || !strings.Contains(h.markup(), "RED FLAG") {
		t.Fatal("the patient list has no red-flag marker")
	}

	answerRequired(t, is)
	test.Tap(is.completeBtn)
	if is.ackDialog == nil {
		t.Fatal("completing an urgent intake did not ask for acknowledgement")
	}
	if got := is.flush(); got.Status == storage.IntakeCompleted {
		t.Fatal("completed before acknowledgement")
	}
	test.Type(is.ackName, "Dana (front desk)")
	is.ackCheck.SetChecked(true)
	h.tapButton(t, "Acknowledge and complete")
	got := is.flush()
	if got.Status != storage.IntakeCompleted || got.AcknowledgedBy != "Dana (front desk)" || !got.AcknowledgedAt.Equal(fixedNow) {
		t.Fatalf("after acknowledgement: status %s by %q at %v", got.Status, got.AcknowledgedBy, got.AcknowledgedAt)
	}
}

func TestUnansweredRedFlagsNeedAReason(t *testing.T) {
	h := newHarness(t)
	p := storage.Patient{GivenName: "Ana", FamilyName: "Souza", DateOfBirth: "1999-09-09"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	is := h.startIntake(t, p)
	answerRequired(t, is)
	is.redFlags["rf-fever"].SetSelected("No")
	test.Tap(is.completeBtn)
	if is.reasonDialog == nil {
		t.Fatal("unanswered red flags did not ask why")
	}
	if !strings.Contains(h.markup(), "Numbness around your bottom") {
		t.Error("the unanswered items are not named")
	}
	test.Type(is.reasonEntry, "Patient declined to answer")
	h.tapButton(t, "Complete anyway")
	got := is.flush()
	if got.Status != storage.IntakeCompleted || got.IncompleteReason != "Patient declined to answer" || got.RedFlags != forms.ScreenIncomplete {
		t.Fatalf("got status %s reason %q screen %s", got.Status, got.IncompleteReason, got.RedFlags)
	}
}

func TestDraftAnswersAreSavedAsTyped(t *testing.T) {
	h := newHarness(t)
	p := storage.Patient{GivenName: "Mo", FamilyName: "Ali", DateOfBirth: "1980-02-02"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	is := h.startIntake(t, p)
	test.Type(is.inputs["visit-reason"].(*widget.Entry), "Cannot sit through work meetings")
	is.inputs["nrs-now"].(*widget.RadioGroup).SetSelected("7")
	saved := is.flush()
	back, err := h.store.Intake(saved.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Answers["visit-reason"].Text != "Cannot sit through work meetings" || back.Answers["nrs-now"].Int == nil || *back.Answers["nrs-now"].Int != 7 {
		t.Fatalf("draft in store: %+v", back.Answers)
	}
	if back.Status != storage.IntakeDraft {
		t.Fatalf("status %s", back.Status)
	}
}

func TestPrintUrgentEvaluationWritesPDFWithNotice(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext (poppler-utils) is needed: make deps-test installs it")
	}
	h := newHarness(t)
	p := storage.Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	is := h.startIntake(t, p)
	is.redFlags["rf-weakness"].SetSelected("Yes")
	test.Tap(is.printBtn)
	waitFor(t, func() bool { return h.ui.lastPacket != "" })
	if filepath.Dir(h.ui.lastPacket) != filepath.Join(h.dir, "packets") {
		t.Errorf("packet written to %s, not the packets folder", h.ui.lastPacket)
	}
	out, err := exec.Command(pdftotext, "-layout", h.ui.lastPacket, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"Zoë", "Nguyễn", "URGENT", "Weakness in your legs that is getting worse"} {
		if !strings.Contains(text, want) {
			t.Errorf("printed packet lacks %q", want)
		}
	}
	if !strings.Contains(h.markup(), "Packet ready") {
		t.Error("no 'Packet ready' dialog")
	}
	h.tapButton(t, "Print")
	if len(h.printer.printed) != 1 {
		t.Fatalf("Print sent %d jobs", len(h.printer.printed))
	}
}

func TestSearchAsYouTypeAndKeyboard(t *testing.T) {
	h := newHarness(t)
	for _, p := range []storage.Patient{
		{GivenName: "Zoë", FamilyName: "Adams", DateOfBirth: "1986-03-14"},
		{GivenName: "Zoltan", FamilyName: "Kovacs", DateOfBirth: "1970-01-01"},
		{GivenName: "Mark", FamilyName: "Zoellner", DateOfBirth: "1965-05-05"},
	} {
		p := p
		if err := h.store.CreatePatient(&p); err != nil {
			t.Fatal(err)
		}
	}
	s := h.ui.patients
	test.Type(s.search, "zo")
	if n := s.rowCount(); n != 3 {
		t.Fatalf("'zo' lists %d patients, want 3", n)
	}
	test.Type(s.search, "e a")
	if n := s.rowCount(); n != 1 {
		t.Fatalf("'zoe a' lists %d patients, want 1", n)
	}
	s.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	if s.form == nil || s.form.patient == nil || s.form.patient.GivenName != "Zoë" {
		t.Fatal("arrow down did not open the first match")
	}
	s.search.SetText("")
	if n := s.rowCount(); n != 3 {
		t.Fatalf("empty search lists %d, want every patient", n)
	}
}

func TestSettingsAreSaved(t *testing.T) {
	h := newHarness(t)
	s := h.ui.settings
	s.name.SetText("Harbour Acupuncture")
	s.address.SetText("1 Quay St, Portsmouth")
	s.paper.SetSelected("A4")
	s.dateOrder.SetSelected(dateOrders[1].label)
	test.Tap(s.saveButton)
	got, err := h.store.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if got.ClinicName != "Harbour Acupuncture" || got.Paper != "A4" || got.DateOrder != storage.DMY {
		t.Fatalf("settings stored %+v", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMain(m *testing.M) {
	os.Setenv("FYNE_THEME", "light")
	os.Exit(m.Run())
}

// Closing the window (its close button, File > Quit, or a stop request) goes
// through App.Quit: the size is kept for next time and main hears about it.
func TestQuitRemembersWindowSizeAndTellsMain(t *testing.T) {
	h := newHarness(t)
	quits := 0
	h.ui.SetOnQuit(func() { quits++ })
	h.win.Resize(fyne.NewSize(1000, 650))
	h.ui.Quit()
	if quits != 1 {
		t.Fatalf("main was told %d times that quitting started, want 1", quits)
	}
	if got := h.ui.WindowSize(); got != fyne.NewSize(1000, 650) {
		t.Fatalf("next start would use %v, want the size at quit (1000x650)", got)
	}
}
