package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/forms"
	"frontdesk/mailbox"
	"frontdesk/storage"
)

// Requests is what the Requests inbox needs from the store.
type Requests interface {
	BookingRequests(status storage.RequestStatus) ([]storage.BookingRequest, error)
	BookingRequest(id uint64) (storage.BookingRequest, error)
	BookingRequestCounts() map[storage.RequestStatus]int
	LinkBookingRequest(id, patientID uint64, version uint64) error
	SetBookingRequestStatus(id uint64, st storage.RequestStatus, version uint64) error
}

// Mailbox ranks patients for a request and checks the clinic mailbox in the
// background. NewMailbox backs it with the store and the mailbox package.
type Mailbox interface {
	Candidates(r storage.BookingRequest) []mailbox.Match
	// Text is the readable text of the request's email.
	Text(r storage.BookingRequest) (string, error)
	// Watch starts background checks when a mailbox is set up (stopping any
	// earlier ones), calling onStatus (from any goroutine) after each;
	// checkNow asks for one at once.
	Watch(onStatus func(mailbox.Status)) (checkNow func(), ok bool)
	Stop()

	Account() (storage.MailAccount, bool, error)
	SaveAccount(a storage.MailAccount) error
	// Test connects and logs in; a *mailbox.Error says which step failed.
	Test(a storage.MailAccount) error
	// StartDemo starts the sample mailbox inside the app (not over a real one).
	StartDemo() error
}

// NewMailbox is the Mailbox of a store: its mail account, its patients.
func NewMailbox(st *storage.Store) Mailbox {
	ctx, cancel := context.WithCancel(context.Background())
	return &storeMailbox{st: st, ctx: ctx, cancel: cancel}
}

type storeMailbox struct {
	st     *storage.Store
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	stopWatch context.CancelFunc
	stopDemo  func()

	cbMu    sync.Mutex // held while a status callback runs
	stopped bool       // after Stop, no callback runs
}

func (m *storeMailbox) Candidates(r storage.BookingRequest) []mailbox.Match {
	return mailbox.Candidates(m.st, r, m.st.Region())
}

func (m *storeMailbox) Text(r storage.BookingRequest) (string, error) {
	return mailbox.RequestText(m.st, r)
}

func (m *storeMailbox) Watch(onStatus func(mailbox.Status)) (func(), bool) {
	if _, ok, err := m.st.MailAccount(); err != nil || !ok {
		return nil, false
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.mu.Lock()
	if m.stopWatch != nil {
		m.stopWatch()
	}
	m.stopWatch = cancel
	m.mu.Unlock()
	// WatchStore re-reads the account before every check, so changed
	// settings apply at the next one.
	opts := mailbox.SyncOptions{Parse: mailbox.ParseOptions{DefaultRegion: m.st.Region()}}
	report := func(st mailbox.Status) {
		m.cbMu.Lock()
		defer m.cbMu.Unlock()
		if m.stopped || ctx.Err() != nil {
			return
		}
		onStatus(st)
	}
	return mailbox.WatchStore(ctx, m.st, opts, report), true
}

// Stop ends the background checks and the demo mailbox; once it returns no
// status callback runs (one already running is waited for).
func (m *storeMailbox) Stop() {
	m.cancel()
	m.cbMu.Lock()
	m.stopped = true
	m.cbMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopDemo != nil {
		m.stopDemo()
		m.stopDemo = nil
	}
}

func (m *storeMailbox) Account() (storage.MailAccount, bool, error) { return m.st.MailAccount() }

func (m *storeMailbox) SaveAccount(a storage.MailAccount) error { return m.st.SaveMailAccount(a) }

func (m *storeMailbox) Test(a storage.MailAccount) error {
	return mailbox.Test(m.ctx, mailbox.AccountFromStore(a))
}

func (m *storeMailbox) StartDemo() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopDemo != nil {
		return nil
	}
	stop, err := mailbox.StartDemoInto(m.ctx, m.st)
	if err != nil {
		return err
	}
	m.stopDemo = stop
	return nil
}

// requestsScreen is the inbox of booking requests: the list by status on the
// left, one request's details, original text and candidate patients on the right.
type requestsScreen struct {
	ui      *App
	content fyne.CanvasObject

	filter    *widget.Select
	list      *widget.List
	status    *widget.Label // "Checked 10:32 — 3 new"
	checkNow  *widget.Button
	detail    *fyne.Container
	checkFunc func()

	mu   sync.Mutex
	rows []storage.BookingRequest

	open *requestView // the request shown, if any
}

// filterAll is the filter showing every request.
const filterAll = "All"

func newRequestsScreen(ui *App) *requestsScreen {
	s := &requestsScreen{ui: ui}
	s.filter = widget.NewSelect(nil, func(string) { s.reload() })
	s.status = &widget.Label{Text: "No mailbox set up — see Settings", TextStyle: fyne.TextStyle{Italic: true}, Truncation: fyne.TextTruncateEllipsis}
	s.checkNow = &widget.Button{Text: "Check now", Icon: theme.MailComposeIcon(), OnTapped: s.onCheckNow}
	s.checkNow.Disable()
	s.list = widget.NewList(s.rowCount, newRequestRow, s.updateRow)
	s.list.OnSelected = s.onSelected
	s.detail = container.NewStack(placeholder("Choose a request to see its details and the patients it may be."))
	top := container.NewVBox(s.filter, container.NewBorder(nil, nil, nil, s.checkNow, s.status))
	split := container.NewHSplit(container.NewBorder(top, nil, nil, nil, s.list), s.detail)
	split.SetOffset(0.34)
	s.content = split
	s.updateFilterOptions(nil)
	s.filter.SetSelected(s.filter.Options[0])
	return s
}

// startWatching begins background checks when a mailbox is set up.
func (s *requestsScreen) startWatching() {
	if s.ui.deps.Mailbox == nil {
		return
	}
	check, ok := s.ui.deps.Mailbox.Watch(func(st mailbox.Status) {
		fyne.Do(func() {
			s.status.SetText(st.String())
			s.reload()
		})
	})
	if !ok {
		return
	}
	s.checkFunc = check
	s.status.SetText("Checking the clinic mailbox…")
	s.checkNow.Enable()
}

func (s *requestsScreen) onCheckNow() {
	if s.checkFunc != nil {
		s.status.SetText("Checking the clinic mailbox…")
		s.checkFunc()
	}
}

func statusLabel(st storage.RequestStatus) string {
	switch st {
	case storage.RequestNew:
		return "New"
	case storage.RequestNeedsReview:
		return "Needs review"
	case storage.RequestLinked:
		return "Linked"
	case storage.RequestDeclined:
		return "Declined"
	case storage.RequestDone:
		return "Done"
	}
	return string(st)
}

// updateFilterOptions shows each status with its count, keeping the choice.
func (s *requestsScreen) updateFilterOptions(counts map[storage.RequestStatus]int) {
	selected := s.selectedStatus()
	var opts []string
	total := 0
	for _, st := range storage.RequestStatuses {
		opts = append(opts, fmt.Sprintf("%s (%d)", statusLabel(st), counts[st]))
		total += counts[st]
	}
	opts = append(opts, fmt.Sprintf("%s (%d)", filterAll, total))
	s.filter.Options = opts
	for _, o := range opts {
		if strings.HasPrefix(o, statusLabel(selected)+" (") || (selected == "" && strings.HasPrefix(o, filterAll+" (")) {
			s.filter.Selected = o
		}
	}
	s.filter.Refresh()
}

// selectedStatus is the status the filter shows; "" for all.
func (s *requestsScreen) selectedStatus() storage.RequestStatus {
	sel := s.filter.Selected
	if sel == "" {
		return storage.RequestNew
	}
	for _, st := range storage.RequestStatuses {
		if strings.HasPrefix(sel, statusLabel(st)+" (") {
			return st
		}
	}
	return ""
}

// reload reads the requests of the chosen status off the UI goroutine.
func (s *requestsScreen) reload() {
	store := s.ui.deps.Requests
	if store == nil {
		return
	}
	status := s.selectedStatus()
	s.ui.background(func() {
		rows, err := store.BookingRequests(status)
		counts := store.BookingRequestCounts()
		fyne.Do(func() {
			if err != nil {
				s.status.SetText("The requests could not be read: " + err.Error())
				return
			}
			s.mu.Lock()
			s.rows = rows
			s.mu.Unlock()
			s.updateFilterOptions(counts)
			s.list.UnselectAll()
			s.list.Refresh()
			s.ui.setRequestsBadge(counts[storage.RequestNew] + counts[storage.RequestNeedsReview])
		})
	})
}

func (s *requestsScreen) rowCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

func (s *requestsScreen) row(i int) (storage.BookingRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.rows) {
		return storage.BookingRequest{}, false
	}
	return s.rows[i], true
}

func newRequestRow() fyne.CanvasObject {
	name := &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	details := &widget.Label{Truncation: fyne.TextTruncateEllipsis, SizeName: theme.SizeNameCaptionText}
	badge := &widget.Label{TextStyle: fyne.TextStyle{Bold: true}}
	lines := container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.Padding()), name, details)
	return container.NewBorder(nil, nil, nil, badge, lines)
}

func (s *requestsScreen) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	row := o.(*fyne.Container)
	lines := row.Objects[0].(*fyne.Container)
	badge := row.Objects[1].(*widget.Label)
	name, details := lines.Objects[0].(*widget.Label), lines.Objects[1].(*widget.Label)
	r, ok := s.row(id)
	if !ok {
		name.SetText("")
		details.SetText("")
		badge.SetText("")
		return
	}
	name.SetText(r.DisplayName())
	details.SetText(requestSummary(r))
	badge.SetText(statusLabel(r.Status))
	badge.Importance = widget.MediumImportance
	if r.Status == storage.RequestNeedsReview {
		badge.Importance = widget.WarningImportance
	}
	badge.Refresh()
}

func requestSummary(r storage.BookingRequest) string {
	var parts []string
	if !r.Requested.IsZero() {
		parts = append(parts, "wants "+r.Requested.Local().Format("Mon 2 Jan 15:04"))
	} else if r.RequestedText != "" {
		parts = append(parts, "wants "+r.RequestedText)
	}
	parts = append(parts, sourceLabel(r.Source))
	if !r.Received.IsZero() {
		parts = append(parts, "received "+r.Received.Local().Format("2 Jan 15:04"))
	}
	return strings.Join(parts, " · ")
}

func sourceLabel(src string) string {
	switch src {
	case string(mailbox.SourceWebForm):
		return "website form"
	case string(mailbox.SourceScheduling):
		return "scheduling service"
	case string(mailbox.SourceCalendar):
		return "calendar invitation"
	case string(mailbox.SourcePatientEmail):
		return "email from the patient"
	}
	return "email"
}

func (s *requestsScreen) onSelected(id widget.ListItemID) {
	r, ok := s.row(id)
	if !ok {
		return
	}
	s.show(r)
}

// show opens a request with its email's text (read from the stored email)
// and its candidates (ranked), both off the UI goroutine.
func (s *requestsScreen) show(r storage.BookingRequest) {
	v := newRequestView(s, r)
	s.open = v
	s.detail.Objects = []fyne.CanvasObject{v.content}
	s.detail.Refresh()
	if s.ui.deps.Mailbox == nil {
		v.setText(r.BodyText)
		return
	}
	s.ui.background(func() {
		text, err := s.ui.deps.Mailbox.Text(r)
		if err != nil {
			text = fmt.Sprintf("The original message could not be read: %v", err)
		}
		fyne.Do(func() { v.setText(text) })
		cands := s.ui.deps.Mailbox.Candidates(r)
		fyne.Do(func() { v.setCandidates(cands) })
	})
}

// requestView is one request: what was understood, the original text, the
// ranked candidate patients and the actions.
type requestView struct {
	screen  *requestsScreen
	content fyne.CanvasObject
	req     storage.BookingRequest

	original   *widget.Entry // the email's text
	text       string
	candidates *fyne.Container
	actions    *fyne.Container
	newPatient *widget.Button
	decline    *widget.Button
	done       *widget.Button
	links      map[uint64]*widget.Button // candidate patient → its Link button
}

func newRequestView(s *requestsScreen, r storage.BookingRequest) *requestView {
	v := &requestView{screen: s, req: r, links: map[uint64]*widget.Button{}}
	form := widget.NewForm()
	add := func(label, value string) {
		if value != "" {
			form.Append(label, &widget.Label{Text: value, Wrapping: fyne.TextWrapWord})
		}
	}
	add("Name", r.DisplayName())
	add("Email", r.Email)
	add("Phone", r.Phone)
	add("Date of birth", r.DateOfBirth)
	if !r.Requested.IsZero() {
		add("Requested", r.Requested.Local().Format("Monday 2 January 2006, 15:04"))
	} else {
		add("Requested", r.RequestedText)
	}
	add("Reason", r.Message)
	add("Came from", sourceLabel(r.Source)+fromLine(r))
	add("Subject", r.Subject)
	add("Status", statusLabel(r.Status))

	var problems fyne.CanvasObject = container.NewVBox()
	if len(r.Problems) > 0 {
		problems = &widget.Label{Text: "Needs review: " + strings.Join(r.Problems, "; "), Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance}
	}
	original := widget.NewMultiLineEntry()
	original.SetPlaceHolder("Reading the message…")
	original.Wrapping = fyne.TextWrapWord
	original.SetMinRowsVisible(8)
	original.OnChanged = func(string) { original.SetText(v.text) } // read-only, but selectable and copyable
	v.original = original

	v.candidates = container.NewVBox(&widget.Label{Text: "Looking for matching patients…", TextStyle: fyne.TextStyle{Italic: true}})
	v.newPatient = &widget.Button{Text: "New patient from this request", Icon: theme.ContentAddIcon(), OnTapped: v.onNewPatient}
	v.decline = &widget.Button{Text: "Decline", Icon: theme.CancelIcon(), OnTapped: func() { v.setStatus(storage.RequestDeclined) }}
	v.done = &widget.Button{Text: "Done", Icon: theme.ConfirmIcon(), OnTapped: func() { v.setStatus(storage.RequestDone) }}
	v.actions = container.NewHBox(v.newPatient, v.decline, v.done)
	if r.Status == storage.RequestLinked && r.PatientID != 0 {
		v.actions.Add(&widget.Button{Text: "Open patient", Icon: theme.AccountIcon(), OnTapped: v.onOpenPatient})
		v.actions.Add(&widget.Button{Text: "Print packet with booking", Icon: theme.DocumentPrintIcon(), OnTapped: v.onPrint})
	}

	body := container.NewVBox(
		widget.NewLabelWithStyle(r.DisplayName(), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.actions, problems, form,
		widget.NewLabelWithStyle("Patients this may be", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.candidates,
		widget.NewLabelWithStyle("Original message", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), original,
	)
	v.content = container.NewVScroll(container.NewPadded(body))
	return v
}

func fromLine(r storage.BookingRequest) string {
	if r.From == "" {
		return ""
	}
	return " (" + r.From + ")"
}

// setText shows the email's text.
func (v *requestView) setText(text string) {
	v.text = text
	if text == "" {
		v.original.SetPlaceHolder("This message has no readable text.")
	}
	v.original.SetText(text)
}

// setCandidates lists the ranked patients with their reasons; linking is the
// receptionist's choice, never automatic.
func (v *requestView) setCandidates(cands []mailbox.Match) {
	v.candidates.RemoveAll()
	defer v.content.Refresh() // the scroll's content grew or shrank
	defer v.candidates.Refresh()
	if len(cands) == 0 {
		v.candidates.Add(&widget.Label{Text: "No registered patient looks like this person. Register them with “New patient from this request”.", Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Italic: true}})
		return
	}
	for _, c := range cands {
		c := c
		info := &widget.Label{Text: fmt.Sprintf("%s · #%d · %.0f%% — %s", c.Name, c.PatientID, 100*c.Confidence, strings.Join(c.Reasons, ", ")), Wrapping: fyne.TextWrapWord}
		link := &widget.Button{Text: "Link", Icon: theme.ContentRedoIcon(), OnTapped: func() { v.onLink(c.PatientID) }}
		if v.req.Status == storage.RequestLinked && v.req.PatientID == c.PatientID {
			link.SetText("Linked")
			link.Disable()
		}
		v.links[c.PatientID] = link
		v.candidates.Add(container.NewBorder(nil, nil, nil, link, info))
	}
}

func (v *requestView) onLink(patientID uint64) {
	store := v.screen.ui.deps.Requests
	r := v.req
	v.screen.ui.background(func() {
		err := store.LinkBookingRequest(r.ID, patientID, r.Version)
		var fresh storage.BookingRequest
		if err == nil {
			fresh, err = store.BookingRequest(r.ID)
		}
		fyne.Do(func() {
			if err != nil {
				v.screen.ui.showError("The request was not linked.", err)
				return
			}
			v.screen.reload()
			v.screen.show(fresh)
		})
	})
}

func (v *requestView) setStatus(st storage.RequestStatus) {
	store := v.screen.ui.deps.Requests
	r := v.req
	v.screen.ui.background(func() {
		err := store.SetBookingRequestStatus(r.ID, st, r.Version)
		var fresh storage.BookingRequest
		if err == nil {
			fresh, err = store.BookingRequest(r.ID)
		}
		fyne.Do(func() {
			if err != nil {
				v.screen.ui.showError("The request was not changed.", err)
				return
			}
			v.screen.reload()
			v.screen.show(fresh)
		})
	})
}

// onNewPatient opens the patient form pre-filled from the request; saving
// it runs the usual duplicate check, then links the request.
func (v *requestView) onNewPatient() {
	r := v.req
	p := storage.Patient{GivenName: r.GivenName, FamilyName: r.FamilyName, Email: r.Email, DateOfBirth: r.DateOfBirth}
	if p.GivenName == "" && p.FamilyName == "" {
		p.GivenName = r.Name
	}
	if r.Phone != "" {
		p.Phones = []storage.Phone{{Label: "mobile", Number: r.Phone}}
	}
	ui := v.screen.ui
	ui.showPatients()
	ui.patients.newPatientFrom(p, func(saved storage.Patient) { v.onLink(saved.ID) })
}

func (v *requestView) onOpenPatient() {
	v.screen.ui.showPatients()
	v.screen.ui.patients.openPatient(v.req.PatientID)
}

// onPrint prints the linked patient's blank packet with the booking details.
func (v *requestView) onPrint() {
	r := v.req
	p, err := v.screen.ui.deps.Store.Patient(r.PatientID)
	if err != nil {
		v.screen.ui.showError("The linked patient could not be read.", err)
		return
	}
	reason := r.Message
	v.screen.ui.printPacketWithBooking(p, &forms.Booking{Requested: r.Requested, Reason: reason, Source: sourceLabel(r.Source)})
}
