package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"frontdesk/forms"
	"frontdesk/storage"
)

// TestScreensMarkup pins what the main screens show, as Fyne markup (stable
// across font changes, unlike PNG goldens). A deliberate change: delete the
// file under testdata/ and copy the new one from testdata/failed/.
func TestScreensMarkup(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	a := test.NewTempApp(t)
	st, err := storage.Open(t.TempDir(), storage.Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range []storage.Patient{
		{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14", Phones: []storage.Phone{{Label: "mobile", Number: "(555) 123-4567"}}, Email: "zoe@example.org"},
		{GivenName: "小龙", FamilyName: "李", DateOfBirth: "1960-11-27"},
		{GivenName: "Ольга", FamilyName: "Петрова", DateOfBirth: "1975-06-01"},
	} {
		p := p
		if err := st.CreatePatient(&p); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, _ := forms.Current(forms.EvaluationID)
	urgent := storage.Intake{PatientID: 2, TemplateID: tmpl.ID, TemplateVersion: tmpl.Version, Status: storage.IntakeDraft,
		Answers: forms.Answers{"rf-weakness": forms.Yes(), "rf-bladder": forms.Yes()}}
	if err := st.CreateIntake(&urgent); err != nil {
		t.Fatal(err)
	}

	w := a.NewWindow("Front Desk")
	defer w.Close()
	u := New(a, w, Deps{Store: st, DataDir: "/home/desk/.config/FrontDesk", Printer: &recordingPrinter{},
		Now: func() time.Time { return fixedNow }, Background: func(f func()) { f() }})
	w.SetContent(u.Content())
	w.Resize(fyne.NewSize(1100, 720))

	test.AssertRendersToMarkup(t, "patients.xml", w.Canvas())

	u.patients.openPatient(3)
	test.AssertRendersToMarkup(t, "patient-form.xml", w.Canvas())

	u.patients.onNewPatient()
	test.AssertRendersToMarkup(t, "new-patient.xml", w.Canvas())

	in, err := st.Intake(urgent.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := st.Patient(2)
	is, err := newIntakeScreen(u.patients, p, in)
	if err != nil {
		t.Fatal(err)
	}
	u.patients.showIntake(is)
	test.AssertObjectRendersToMarkup(t, "red-flag-banner.xml", is.banner)

	u.tabs.SelectIndex(1)
	test.AssertRendersToMarkup(t, "settings.xml", w.Canvas())
}
