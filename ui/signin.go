package ui

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/storage"
)

// Staff is what sign-in, set-up and the lock need from the store.
type Staff interface {
	State() storage.State
	Setup(adminName, password string) (recoveryKey string, err error)
	Unlock(name, password string) (storage.StaffUser, error)
	UnlockWithRecoveryKey(key string) (storage.StaffUser, error)
	Lock() error
	CurrentUser() (storage.StaffUser, bool)
	Audit(ev storage.AuditEvent) error
}

// gate is the screen in front of everything while the store is locked: the
// first admin's set-up, or sign-in. Nothing of a patient shows behind it.
type gate struct {
	ui      *App
	content fyne.CanvasObject

	setup             bool
	title, message    *widget.Label
	name, password    *widget.Entry
	confirm           *widget.Entry
	form              *widget.Form
	button            *widget.Button
	recoveryButton    *widget.Button
	recoveryKeyDialog dialog.Dialog // the key shown once at set-up (tests read it)
	recoveryKey       string
}

func newGate(ui *App) *gate {
	g := &gate{ui: ui}
	g.title = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Alignment: fyne.TextAlignCenter}
	g.message = &widget.Label{Wrapping: fyne.TextWrapWord, Alignment: fyne.TextAlignCenter}
	g.name = widget.NewEntry()
	g.name.SetPlaceHolder("Your name")
	g.password = widget.NewPasswordEntry()
	g.confirm = widget.NewPasswordEntry()
	g.name.OnSubmitted = func(string) { g.ui.win.Canvas().Focus(g.password) }
	g.password.OnSubmitted = func(string) {
		if g.setup {
			g.ui.win.Canvas().Focus(g.confirm)
			return
		}
		g.onSubmit()
	}
	g.confirm.OnSubmitted = func(string) { g.onSubmit() }
	g.button = &widget.Button{Importance: widget.HighImportance, OnTapped: g.onSubmit}
	g.recoveryButton = &widget.Button{Text: "Forgot the password? Use the recovery key", Importance: widget.LowImportance, OnTapped: g.onRecovery}
	g.form = widget.NewForm()
	box := container.NewVBox(
		container.NewCenter(widget.NewIcon(theme.AccountIcon())),
		g.title, g.message, g.form, g.button, g.recoveryButton)
	g.content = container.NewCenter(container.NewGridWrap(fyne.NewSize(460, 460), box))
	return g
}

// show puts the gate in front: set-up for a new store, else sign-in.
func (g *gate) show(setup bool, why string) {
	g.setup = setup
	g.name.SetText("")
	g.password.SetText("")
	g.confirm.SetText("")
	g.form.Items = []*widget.FormItem{widget.NewFormItem("Name", g.name), widget.NewFormItem("Password", g.password)}
	if setup {
		g.form.Items = append(g.form.Items, widget.NewFormItem("Password again", g.confirm))
	}
	if setup {
		g.title.SetText("Welcome to Front Desk")
		g.message.SetText("Create the administrator's account. Patient records are encrypted with a key only staff passwords and a recovery key can open.")
		g.button.SetText("Create account and encrypt")
		g.recoveryButton.Hide()
	} else {
		g.title.SetText("Front Desk is locked")
		g.message.SetText(orDefault(why, "Sign in to see patient records."))
		g.button.SetText("Sign in")
		g.recoveryButton.Show()
	}
	g.form.Refresh()
	g.content.Show()
	g.ui.tabs.Hide()
	if g.ui.win.Canvas().Content() == g.ui.root { // at start-up FocusFirst does it once the window shows
		g.ui.win.Canvas().Focus(g.name)
	}
}

func (g *gate) hide() {
	g.content.Hide()
	g.ui.tabs.Show()
}

func (g *gate) onSubmit() {
	name, pw := strings.TrimSpace(g.name.Text), g.password.Text
	if name == "" {
		g.message.SetText("Enter your name.")
		return
	}
	if g.setup && pw != g.confirm.Text {
		g.message.SetText("The two passwords are not the same; type them again.")
		g.password.SetText("")
		g.confirm.SetText("")
		return
	}
	staff := g.ui.deps.Staff
	g.button.Disable()
	g.message.SetText("One moment…")
	setup := g.setup
	started := time.Now()
	g.ui.background(func() {
		var key string
		var err error
		if setup {
			key, err = staff.Setup(name, pw)
		} else {
			_, err = staff.Unlock(name, pw)
		}
		fyne.Do(func() {
			g.button.Enable()
			g.password.SetText("")
			g.confirm.SetText("")
			if err != nil {
				g.message.SetText(signInProblem(err))
				return
			}
			if setup {
				g.showRecoveryKey(key)
			}
			g.ui.unlocked()
			// Sign-in (Argon2id) + decrypting and indexing every patient.
			g.ui.deps.Trace("sign-in-to-unlocked", time.Since(started))
		})
	})
}

// signInProblem says what went wrong in words a receptionist can act on.
func signInProblem(err error) string {
	var delay *storage.SignInDelayError
	switch {
	case errors.As(err, &delay):
		return fmt.Sprintf("Too many wrong passwords for %s. Wait %s, then try again.", delay.Name, delay.Wait.Round(time.Second))
	case errors.Is(err, storage.ErrWrongPassword):
		return "That name and password do not match."
	case errors.Is(err, storage.ErrAccountDisabled):
		return "This account is switched off. Ask an administrator to turn it back on."
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// showRecoveryKey shows the recovery key once, for the clinic to keep on paper.
func (g *gate) showRecoveryKey(key string) {
	g.recoveryKey = key
	keyText := widget.NewRichTextFromMarkdown("```\n" + key + "\n```")
	msg := &widget.Label{Wrapping: fyne.TextWrapWord, Text: "This is the clinic's recovery key. Write it on paper now and keep it locked away from this computer: " +
		"it opens the records if every password is forgotten. It is shown only this once."}
	d := dialog.NewCustom("Recovery key", "I have written it down", container.NewVBox(msg, keyText), g.ui.win)
	d.Resize(fyne.NewSize(560, 300))
	g.recoveryKeyDialog = d
	d.Show()
}

func (g *gate) onRecovery() {
	entry := widget.NewEntry()
	entry.SetPlaceHolder("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX")
	dialog.ShowForm("Sign in with the recovery key", "Sign in", "Cancel", []*widget.FormItem{widget.NewFormItem("Recovery key", entry)}, func(ok bool) {
		if !ok {
			return
		}
		key := entry.Text
		g.ui.background(func() {
			_, err := g.ui.deps.Staff.UnlockWithRecoveryKey(key)
			fyne.Do(func() {
				if err != nil {
					g.message.SetText(signInProblem(err))
					return
				}
				g.message.SetText("")
				g.ui.unlocked()
				dialog.ShowInformation("Signed in with the recovery key", "Set a new password for the staff member who forgot theirs (Security → Reset password).", g.ui.win)
			})
		})
	}, g.ui.win)
}

// idleLock locks the window after the settings' idle minutes. Activity is
// what the receptionist does through the window: typing in forms and
// answers, searches, opening, saving and printing.
type idleLock struct {
	mu   sync.Mutex
	last time.Time
	stop chan struct{} // closed by Stop
	done chan struct{} // closed when the watcher has returned
}

func (ui *App) touch() {
	ui.idle.mu.Lock()
	ui.idle.last = time.Now()
	ui.idle.mu.Unlock()
}

func (ui *App) idleFor() time.Duration {
	ui.idle.mu.Lock()
	defer ui.idle.mu.Unlock()
	return time.Since(ui.idle.last)
}

// watchIdle checks every few seconds whether the window has been idle past
// the auto-lock time; it runs until Stop.
func (ui *App) watchIdle() {
	if ui.deps.Staff == nil {
		return
	}
	ui.idle.stop, ui.idle.done = make(chan struct{}), make(chan struct{})
	stop, done := ui.idle.stop, ui.idle.done
	t := time.NewTicker(5 * time.Second)
	go func() {
		defer close(done)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if ui.deps.Staff.State() != storage.StateUnlocked {
				continue
			}
			if ui.idleFor() >= ui.autoLockAfter() {
				fyne.Do(func() { ui.lock("Locked after a quiet spell. Sign in to carry on — open work is kept.") })
				continue
			}
			fyne.Do(ui.backupIfDue)
		}
	}()
}

// backupIfDue runs the scheduled backup into the settings' backup folder
// when the last one there is older than the schedule. A failure is shown
// once per run of the schedule, not every few seconds.
func (ui *App) backupIfDue() {
	set := ui.settings.current
	if ui.deps.Admin == nil || set.BackupDir == "" || ui.backingUp {
		return
	}
	every := time.Duration(orDefaultInt(set.BackupEveryHours, storage.DefaultBackupEveryHours)) * time.Hour
	if !ui.lastBackupTry.IsZero() && time.Since(ui.lastBackupTry) < time.Hour {
		return
	}
	var last time.Time
	if files, err := storage.BackupFiles(set.BackupDir); err == nil && len(files) > 0 {
		last = files[0].Time
	}
	if !storage.BackupDue(last, every, time.Now()) {
		return
	}
	ui.backingUp, ui.lastBackupTry = true, time.Now()
	keep := orDefaultInt(set.BackupKeep, storage.DefaultBackupKeep)
	ui.deps.Background(func() { // not activity: a backup must not keep the window unlocked
		_, rep, err := ui.deps.Admin.Backup(set.BackupDir, keep)
		fyne.Do(func() {
			ui.backingUp = false
			if err != nil {
				ui.showError("The scheduled backup failed. Check the backup folder (is the USB stick in?) on the Security tab.", err)
				return
			}
			if ui.security != nil {
				ui.security.status.SetText(fmt.Sprintf("Scheduled backup verified: %d patients, %d intakes in %s.", rep.Patients, rep.Intakes, rep.Path))
			}
		})
	})
}

func (ui *App) autoLockAfter() time.Duration {
	m := ui.settings.current.AutoLockMinutes
	if m <= 0 {
		m = storage.DefaultAutoLockMinutes
	}
	return time.Duration(m) * time.Minute
}

// lock writes what is typed, drops the data key and shows the sign-in gate.
// An open intake stays open behind it and carries on after sign-in.
func (ui *App) lock(why string) {
	if ui.deps.Staff == nil || ui.deps.Staff.State() != storage.StateUnlocked {
		return
	}
	ui.Flush()
	if err := ui.deps.Staff.Lock(); err != nil {
		ui.showError("Front Desk could not lock.", err)
		return
	}
	ui.gate.show(false, why)
}

// unlocked brings the screens back once someone has signed in.
func (ui *App) unlocked() {
	ui.touch()
	// Unlocking decrypted and indexed every patient: hand the garbage of that
	// pass back to the system now rather than whenever the scavenger gets to it.
	go debug.FreeOSMemory()
	ui.gate.hide()
	ui.settings.load()
	if ui.settings.mail != nil {
		ui.settings.mail.load()
	}
	ui.patients.reload()
	if ui.requests != nil {
		ui.requests.reload()
	}
	ui.startMailbox()
	ui.refreshAdmin()
}

// audit records what someone looked at or printed; the store records its
// own writes. A failure to record is not the receptionist's problem to
// solve mid-task, so it is only logged.
func (ui *App) audit(action storage.AuditAction, kind string, id uint64, detail string) {
	if ui.deps.Staff == nil {
		return
	}
	ev := storage.AuditEvent{Action: action, RecordKind: kind, RecordID: id, Detail: detail}
	ui.background(func() {
		if err := ui.deps.Staff.Audit(ev); err != nil {
			fyne.LogError("audit", err)
		}
	})
}
