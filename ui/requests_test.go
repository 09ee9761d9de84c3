package ui

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"frontdesk/mailbox"
	"frontdesk/storage"
)

func (h *harness) saveRequest(t *testing.T, r storage.BookingRequest) storage.BookingRequest {
	t.Helper()
	if r.MessageID == "" {
		r.MessageID = r.Email + "@test"
	}
	if err := h.store.SaveBookingRequest(&r, []byte("Subject: "+r.Subject+"\r\n\r\n"+r.BodyText)); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRequestsInboxLinksACandidate(t *testing.T) {
	h := newHarness(t)
	ben := storage.Patient{GivenName: "Ben", FamilyName: "Carter", DateOfBirth: "1980-05-05", Email: "ben.carter@example.com"}
	if err := h.store.CreatePatient(&ben); err != nil {
		t.Fatal(err)
	}
	r := h.saveRequest(t, storage.BookingRequest{Status: storage.RequestNew, Name: "Ben Carter", GivenName: "Ben", FamilyName: "Carter",
		Email: "ben.carter@example.com", Subject: "Appointment", BodyText: "Could I come in on Monday at 3pm?", RequestedText: "Monday at 3pm", Received: fixedNow})
	h.saveRequest(t, storage.BookingRequest{Status: storage.RequestNeedsReview, Name: "unknown", Email: "x@example.org", BodyText: "???", Problems: []string{"no name found"}})

	rs := h.ui.requests
	rs.reload()
	if !strings.Contains(h.ui.reqTab.Text, "(2)") {
		t.Errorf("the Requests tab does not count the waiting requests: %q", h.ui.reqTab.Text)
	}
	if rs.rowCount() != 1 {
		t.Fatalf("New lists %d requests, want 1", rs.rowCount())
	}
	h.ui.tabs.Select(h.ui.reqTab)
	rs.list.Select(0)
	v := rs.open
	if v == nil || v.req.ID != r.ID {
		t.Fatal("selecting the request did not open it")
	}
	link, ok := v.links[ben.ID]
	if !ok {
		t.Fatalf("Ben Carter is not offered as a candidate; markup:\n%s", h.markup())
	}
	m := h.markup()
	if !strings.Contains(m, "same email") || !strings.Contains(m, "Could I come in on Monday at 3pm?") {
		t.Error("the candidate's reason or the original text is not shown")
	}
	got, _ := h.store.BookingRequest(r.ID)
	if got.Status != storage.RequestNew || got.PatientID != 0 {
		t.Fatal("the request was linked without anyone choosing")
	}
	test.Tap(link)
	got, _ = h.store.BookingRequest(r.ID)
	if got.Status != storage.RequestLinked || got.PatientID != ben.ID {
		t.Fatalf("after Link: status %s patient %d", got.Status, got.PatientID)
	}
}

func TestNewPatientFromRequestIsLinked(t *testing.T) {
	h := newHarness(t)
	r := h.saveRequest(t, storage.BookingRequest{Status: storage.RequestNew, Name: "Lucía Fernández", GivenName: "Lucía", FamilyName: "Fernández",
		Email: "lucia@example.es", Phone: "+34600111222", DateOfBirth: "1991-07-08", BodyText: "Hola"})
	rs := h.ui.requests
	rs.reload()
	rs.list.Select(0)
	test.Tap(rs.open.newPatient)
	f := h.ui.patients.form
	if f == nil || f.given.Text != "Lucía" || f.family.Text != "Fernández" || f.email.Text != "lucia@example.es" || f.dob.Text != "1991-07-08" {
		t.Fatal("the patient form is not pre-filled from the request")
	}
	test.Tap(f.saveButton)
	res := h.store.Search("lucia fernandez", 5)
	if len(res) != 1 {
		t.Fatalf("the new patient was not saved (%d found)", len(res))
	}
	got, _ := h.store.BookingRequest(r.ID)
	if got.Status != storage.RequestLinked || got.PatientID != res[0].Patient.ID {
		t.Fatalf("the request was not linked to the new patient: %s %d", got.Status, got.PatientID)
	}
}

func TestDeclineAndPrintWithBooking(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext (poppler-utils) is needed: make deps-test installs it")
	}
	h := newHarness(t)
	p := storage.Patient{GivenName: "Tom", FamilyName: "Nguyen", DateOfBirth: "1970-01-01", Email: "tom@example.com"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 12, 4, 8, 0, 0, 0, time.Local)
	r := h.saveRequest(t, storage.BookingRequest{Status: storage.RequestNew, Name: "Tom Nguyen", Email: "tom@example.com", Requested: when, Message: "Back pain after moving house", Source: "scheduling-service"})
	spam := h.saveRequest(t, storage.BookingRequest{Status: storage.RequestNew, Name: "Newsletter", Email: "news@example.com", BodyText: "Sale!"})
	if err := h.store.LinkBookingRequest(r.ID, p.ID, 1); err != nil {
		t.Fatal(err)
	}
	rs := h.ui.requests
	h.ui.tabs.Select(h.ui.reqTab)
	rs.filter.SetSelected(rs.filter.Options[len(rs.filter.Options)-1]) // All
	for i := 0; i < rs.rowCount(); i++ {
		if row, _ := rs.row(i); row.ID == spam.ID {
			rs.list.Select(i)
		}
	}
	test.Tap(rs.open.decline)
	if got, _ := h.store.BookingRequest(spam.ID); got.Status != storage.RequestDeclined {
		t.Fatalf("Decline left status %s", got.Status)
	}
	linked, _ := h.store.BookingRequest(r.ID)
	rs.show(linked)
	h.tapButton(t, "Print packet with booking")
	waitFor(t, func() bool { return h.ui.lastPacket != "" })
	out, err := exec.Command("pdftotext", h.ui.lastPacket, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "Back pain after moving house") || !strings.Contains(string(out), "Nguyen") {
		t.Fatalf("the packet lacks the booking details:\n%s", out)
	}
}

func TestDemoMailboxFromSettingsFillsTheInbox(t *testing.T) {
	h := newHarness(t)
	t.Cleanup(h.ui.deps.Mailbox.Stop)
	ms := h.ui.settings.mail
	test.Tap(ms.demoButton)
	if !strings.Contains(ms.result.Text, "demo mailbox is running") {
		t.Fatalf("Settings says %q", ms.result.Text)
	}
	waitFor(t, func() bool { return h.store.BookingRequestCounts()[storage.RequestNew] >= 5 })
	waitFor(t, func() bool { return strings.HasPrefix(h.ui.requests.status.Text, "Checked ") })
	// The background checks run fyne.Do inline on the test driver: stop them
	// (waiting for one in flight) before this goroutine touches widgets again.
	a, _, _ := h.ui.deps.Mailbox.Account()
	h.ui.deps.Mailbox.Stop() // also stops the demo server: the test below needs a refused login, not a live one
	demo, stop, err := mailbox.StartDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	h.ui.deps.Mailbox = NewMailbox(h.store) // Stop is final; Settings tests with a fresh one
	a.Host, a.Port, a.Username, a.Password = demo.Host, demo.Port, demo.Username, demo.Password

	// The same kind of server with a wrong password: the test names the step.
	ms.host.SetText(a.Host)
	ms.port.SetText(strconv.Itoa(a.Port))
	ms.security.SetSelected(securityChoices[2].label)
	ms.user.SetText(a.Username)
	ms.password.SetText("wrong-" + a.Password)
	test.Tap(ms.testButton)
	if !strings.Contains(ms.result.Text, "Failed at: login") {
		t.Fatalf("a wrong password reads %q", ms.result.Text)
	}
	ms.host.SetText("")
	test.Tap(ms.saveButton)
	if !strings.Contains(ms.result.Text, "mail server") {
		t.Fatalf("an empty host reads %q", ms.result.Text)
	}
}

// An imported request keeps its email once, raw: the view shows the text
// read from it.
func TestRequestShowsTheTextOfItsEmail(t *testing.T) {
	h := newHarness(t)
	r := storage.BookingRequest{Status: storage.RequestNew, MessageID: "mei@example.com", Name: "Mei Chen", Email: "mei@example.com", Subject: "Booking"}
	raw := "From: Mei Chen <mei@example.com>\r\nSubject: Booking\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy lower back hurts since the move; could I come on Thursday morning?\r\n"
	if err := h.store.SaveBookingRequest(&r, []byte(raw)); err != nil {
		t.Fatal(err)
	}
	rs := h.ui.requests
	rs.reload()
	h.ui.tabs.Select(h.ui.reqTab)
	rs.list.Select(0)
	if rs.open == nil || rs.open.req.ID != r.ID {
		t.Fatal("selecting the request did not open it")
	}
	if got := rs.open.original.Text; !strings.Contains(got, "could I come on Thursday morning?") {
		t.Errorf("the original message reads %q", got)
	}
	if m := h.markup(); !strings.Contains(m, "My lower back hurts since the move") {
		t.Errorf("the email's text is not on screen:\n%s", m)
	}
}
