// Package ui is Front Desk's window: the patients list and search, the
// patient form, the evaluation intake with its red-flag screen, printing and
// settings. It is the only package that knows Fyne; it talks to the store and
// the forms through the small interfaces declared here.
package ui

import (
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"frontdesk/forms"
	"frontdesk/storage"
)

// AppID identifies Front Desk to the operating system and to Fyne's preferences.
const AppID = "org.frontdesk.app"

// Store is everything the window needs from the clinic's store.
// *storage.Store implements it; tests may pass the real store in a temp folder.
type Store interface {
	Search(query string, limit int) []storage.SearchResult
	ListPatients(offset, limit int) ([]storage.Patient, error)
	PatientCount() int
	Patient(id uint64) (storage.Patient, error)
	CreatePatient(p *storage.Patient) error
	UpdatePatient(p *storage.Patient) error
	DuplicateCandidates(p storage.Patient) []storage.Candidate
	UrgentPatients() map[uint64]bool

	CreateIntake(in *storage.Intake) error
	Intake(id uint64) (storage.Intake, error)
	UpdateIntake(in *storage.Intake) error
	IntakesFor(patientID uint64) ([]storage.Intake, error)

	Settings() (storage.Settings, error)
	SaveSettings(s storage.Settings) error
	PacketInput(patientID, intakeID uint64, at time.Time) (forms.PacketInput, error)
}

// Printer writes packets and hands them to the system viewer or printer.
// The default uses forms.SavePacket, forms.OpenFile and forms.PrintFile.
type Printer interface {
	Save(dir string, in forms.PacketInput) (path string, res forms.PacketResult, err error)
	Open(path string) error
	Print(path, printer string) error
}

// Deps are the window's dependencies.
type Deps struct {
	Store   Store
	DataDir string
	Printer Printer          // nil: the system's
	Now     func() time.Time // nil: time.Now
	// Background runs blocking work (store writes, searches, PDF rendering)
	// off the UI goroutine; nil: a new goroutine. Tests pass a synchronous one.
	Background func(work func())
	// Staff signs in and locks; nil: a store without sign-in (tests, tools).
	Staff Staff
	// Admin manages staff, the audit log and backups; nil: no Security tab.
	Admin Admin
	// Requests and Mailbox drive the Requests inbox; nil: no inbox tab.
	Requests Requests
	Mailbox  Mailbox
	// Demo starts the demo mailbox once the store is open (--demo).
	Demo bool
	// Trace receives timings (search keystroke to list updated); nil: none.
	Trace func(event string, d time.Duration)
}

type systemPrinter struct{}

func (systemPrinter) Save(dir string, in forms.PacketInput) (string, forms.PacketResult, error) {
	return forms.SavePacket(dir, in)
}
func (systemPrinter) Open(path string) error           { return forms.OpenFile(path) }
func (systemPrinter) Print(path, printer string) error { return forms.PrintFile(path, printer) }

// Preference keys.
const (
	prefWidth   = "window.width"
	prefHeight  = "window.height"
	prefLastTab = "window.tab"
)

// App is the whole window's content and its screens.
type App struct {
	app  fyne.App
	win  fyne.Window
	deps Deps

	tabs     *container.AppTabs
	patients *patientsScreen
	requests *requestsScreen
	settings *settingsScreen
	security *securityScreen
	reqTab   *container.TabItem
	secTab   *container.TabItem
	gate     *gate
	root     *fyne.Container
	idle     idleLock

	backingUp     bool      // a scheduled backup is running (UI goroutine only)
	lastBackupTry time.Time // when the schedule last tried one

	lastPacket   string        // the last packet written (shown to tests)
	packetDialog dialog.Dialog // "Packet ready", while shown

	onQuit func() // runs when quitting starts (main arms its exit watchdog)
}

// New builds the window's content. Call it once per window.
func New(a fyne.App, w fyne.Window, deps Deps) *App {
	if deps.Printer == nil {
		deps.Printer = systemPrinter{}
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Trace == nil {
		deps.Trace = func(string, time.Duration) {}
	}
	if deps.Background == nil {
		deps.Background = func(work func()) { go work() }
	}
	ui := &App{app: a, win: w, deps: deps}
	ui.patients = newPatientsScreen(ui)
	ui.settings = newSettingsScreen(ui)
	ui.tabs = container.NewAppTabs(container.NewTabItem("Patients", ui.patients.content))
	if deps.Requests != nil {
		ui.requests = newRequestsScreen(ui)
		ui.reqTab = container.NewTabItem("Requests", ui.requests.content)
		ui.tabs.Append(ui.reqTab)
	}
	ui.tabs.Append(container.NewTabItem("Settings", ui.settings.content))
	if deps.Admin != nil {
		ui.security = newSecurityScreen(ui)
		ui.secTab = container.NewTabItem("Security", ui.security.content)
	}
	ui.tabs.OnSelected = func(t *container.TabItem) {
		ui.touch()
		a.Preferences().SetInt(prefLastTab, ui.tabs.SelectedIndex())
	}
	if last := a.Preferences().IntWithFallback(prefLastTab, 0); last > 0 && last < len(ui.tabs.Items) {
		ui.tabs.SelectIndex(last)
	}
	ui.gate = newGate(ui)
	ui.root = container.NewStack(ui.tabs, ui.gate.content)
	ui.touch()
	if deps.Staff != nil && deps.Staff.State() != storage.StateUnlocked {
		ui.gate.show(deps.Staff.State() == storage.StateNeedsSetup, "")
	} else {
		ui.gate.content.Hide()
		ui.refreshAdmin()
		if ui.requests != nil {
			ui.requests.reload()
		}
	}
	ui.addShortcuts()
	w.SetCloseIntercept(ui.Quit)
	return ui
}

// Quit ends the program: the window's close button, File > Quit and a
// system request to stop (main's signal handler) all come here. It stops
// Fyne's event loop without closing the window first: Fyne 2.7.1's own
// close path marks the window closing and then may still deliver a mouse
// move, which dereferences the gone window and crashes the program before
// main writes the last drafts (fixed upstream in 2.8, which the module
// proxy does not serve). The window goes when the driver terminates.
func (ui *App) Quit() {
	ui.rememberSize()
	if ui.onQuit != nil {
		ui.onQuit()
	}
	ui.app.Driver().Quit()
}

// SetOnQuit sets what runs on the UI goroutine when quitting starts, before
// the event loop is asked to stop. It must not wait for the UI goroutine.
func (ui *App) SetOnQuit(f func()) { ui.onQuit = f }

// Start begins background work: the idle lock, and the mailbox checks when
// a mailbox is set up and the store is open.
func (ui *App) Start() {
	ui.watchIdle()
	if ui.deps.Staff == nil || ui.deps.Staff.State() == storage.StateUnlocked {
		ui.startMailbox()
	}
}

// startMailbox starts the background checks, first starting the demo
// mailbox when asked (--demo); the store must be open.
func (ui *App) startMailbox() {
	if ui.requests == nil {
		return
	}
	if !ui.deps.Demo || ui.deps.Mailbox == nil {
		ui.requests.startWatching()
		return
	}
	ui.background(func() {
		err := ui.deps.Mailbox.StartDemo()
		fyne.Do(func() {
			if err != nil {
				ui.showError("The demo mailbox did not start.", err)
			}
			ui.requests.startWatching()
		})
	})
}

// refreshAdmin shows the Security tab to administrators only.
func (ui *App) refreshAdmin() {
	if ui.secTab == nil {
		return
	}
	admin := false
	if ui.deps.Staff != nil {
		u, ok := ui.deps.Staff.CurrentUser()
		admin = ok && u.IsAdmin()
	}
	present := false
	for _, t := range ui.tabs.Items {
		if t == ui.secTab {
			present = true
		}
	}
	switch {
	case admin && !present:
		ui.tabs.Append(ui.secTab)
	case !admin && present:
		ui.tabs.Remove(ui.secTab)
	}
	if admin {
		ui.security.load()
	}
}

// setRequestsBadge shows how many requests wait for someone on the tab.
func (ui *App) setRequestsBadge(waiting int) {
	if ui.reqTab == nil {
		return
	}
	text := "Requests"
	if waiting > 0 {
		text = fmt.Sprintf("Requests (%d)", waiting)
	}
	if ui.reqTab.Text != text {
		ui.reqTab.Text = text
		ui.tabs.Refresh()
	}
}

// Content is the window's root object: the screens, and the sign-in gate
// in front of them while the store is locked.
func (ui *App) Content() fyne.CanvasObject { return ui.root }

// WindowSize is the size remembered from the last run, or a default.
func (ui *App) WindowSize() fyne.Size {
	p := ui.app.Preferences()
	w, h := p.FloatWithFallback(prefWidth, 1100), p.FloatWithFallback(prefHeight, 720)
	if w < 640 || h < 480 {
		w, h = 1100, 720
	}
	return fyne.NewSize(float32(w), float32(h))
}

func (ui *App) rememberSize() {
	s := ui.win.Canvas().Size()
	if s.Width >= 640 && s.Height >= 480 {
		ui.app.Preferences().SetFloat(prefWidth, float64(s.Width))
		ui.app.Preferences().SetFloat(prefHeight, float64(s.Height))
	}
}

// addShortcuts puts the actions in the window's menu with their shortcuts.
// Menu shortcuts work wherever the keyboard is, even inside a text field
// (Fyne gives them to the menu first).
func (ui *App) addShortcuts() {
	sc := func(key fyne.KeyName) fyne.Shortcut {
		return &desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}
	}
	item := func(label string, key fyne.KeyName, fn func()) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, fn)
		it.Shortcut = sc(key)
		return it
	}
	unlocked := func(fn func()) func() {
		return func() {
			if ui.deps.Staff == nil || ui.deps.Staff.State() == storage.StateUnlocked {
				ui.touch()
				fn()
			}
		}
	}
	file := fyne.NewMenu("File",
		item("New patient", fyne.KeyN, unlocked(func() { ui.showPatients(); ui.patients.onNewPatient() })),
		item("Save", fyne.KeyS, unlocked(func() { ui.patients.onSave() })),
		item("Print packet", fyne.KeyP, unlocked(func() { ui.patients.onPrint() })),
		fyne.NewMenuItemSeparator(),
		item("Lock now", fyne.KeyL, unlocked(func() { ui.lock("Locked. Sign in to carry on — open work is kept.") })),
	)
	goMenu := fyne.NewMenu("Go",
		item("Find patient", fyne.KeyF, unlocked(func() { ui.showPatients(); ui.patients.focusSearch() })),
		fyne.NewMenuItem("Requests", func() {
			if ui.reqTab != nil {
				ui.tabs.Select(ui.reqTab)
			}
		}),
		fyne.NewMenuItem("Settings", func() { ui.tabs.Select(ui.tabs.Items[len(ui.tabs.Items)-1]) }),
	)
	ui.win.SetMainMenu(fyne.NewMainMenu(file, goMenu))
}

func (ui *App) showPatients() { ui.tabs.SelectIndex(0) }

// Flush waits until every answer typed in an open intake is in the store.
// Call it after the window closes, before closing the store.
func (ui *App) Flush() {
	if is := ui.patients.intake; is != nil {
		is.flush()
	}
}

// FocusFirst puts the keyboard where work starts: the sign-in name, or the
// patient search. Call it once the window is on screen.
func (ui *App) FocusFirst() {
	if ui.gate.content.Visible() {
		ui.win.Canvas().Focus(ui.gate.name)
		return
	}
	if ui.tabs.SelectedIndex() == 0 {
		ui.patients.focusSearch()
	}
}

// PacketKeepDays is how long printed packets stay on disk (0: remove them
// at exit), as the settings last read say.
func (ui *App) PacketKeepDays() int { return ui.settings.current.PacketKeepDays }

// Stop ends the idle lock's timer (the window is closing).
func (ui *App) Stop() {
	if ui.idle.stop != nil {
		close(ui.idle.stop)
		<-ui.idle.done // a lock in progress finishes first
		ui.idle.stop = nil
	}
}

// background runs work off the UI goroutine; work changes widgets only
// inside fyne.Do. Anything run this way counts as activity for the idle lock.
func (ui *App) background(work func()) {
	ui.touch()
	ui.deps.Background(work)
}

// showError is the one path for error dialogs: what went wrong, in words a
// receptionist can act on.
func (ui *App) showError(what string, err error) {
	msg := err.Error()
	var fe *forms.Error
	if errors.As(err, &fe) {
		msg = fe.Msg
	}
	d := dialog.NewError(fmt.Errorf("%s\n\n%s", what, msg), ui.win)
	d.Show()
}

// busy shows an activity dialog while work runs off the UI goroutine, then
// calls done on the UI goroutine with the work's error.
func (ui *App) busy(title string, work func() error, done func(error)) {
	bar := widget.NewProgressBarInfinite()
	d := dialog.NewCustomWithoutButtons(title, bar, ui.win)
	d.Show()
	ui.background(func() {
		err := work()
		fyne.Do(func() {
			bar.Stop()
			d.Hide()
			done(err)
		})
	})
}
