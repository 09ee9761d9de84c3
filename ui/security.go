package ui

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/storage"
)

// Admin is what the Security screen needs from the store (administrators only).
type Admin interface {
	Users() ([]storage.StaffUser, error)
	AddUser(name string, role storage.Role, password string) (storage.StaffUser, error)
	DisableUser(name string) (storage.StaffUser, error)
	ResetPassword(name, newPassword string) (storage.StaffUser, error)
	AuditEvents(f storage.AuditFilter) ([]storage.AuditEvent, error)
	WriteAuditCSV(w io.Writer, f storage.AuditFilter) error
	Backup(destDir string, keep int) (string, storage.BackupReport, error)
}

// securityScreen: staff accounts, the audit log, backups, auto-lock and how
// long printed packets stay on disk. Shown to administrators.
type securityScreen struct {
	ui      *App
	content fyne.CanvasObject

	users      *fyne.Container
	addName    *widget.Entry
	addRole    *widget.Select
	addPass    *widget.Entry
	addButton  *widget.Button
	auditUser  *widget.Entry
	auditList  *widget.Label
	backupDir  *widget.Entry
	backupKeep *widget.Entry
	backupNow  *widget.Button
	autoLock   *widget.Entry
	packetDays *widget.Entry
	saveButton *widget.Button
	status     *widget.Label
}

func newSecurityScreen(ui *App) *securityScreen {
	s := &securityScreen{ui: ui}
	s.users = container.NewVBox()
	s.addName = widget.NewEntry()
	s.addName.SetPlaceHolder("Name")
	var roles []string
	for _, r := range storage.Roles {
		roles = append(roles, string(r))
	}
	s.addRole = widget.NewSelect(roles, nil)
	s.addRole.SetSelected(string(storage.RoleReception))
	s.addPass = widget.NewPasswordEntry()
	s.addPass.SetPlaceHolder(fmt.Sprintf("At least %d characters", storage.MinPasswordLength))
	s.addButton = &widget.Button{Text: "Add staff member", Icon: theme.ContentAddIcon(), OnTapped: s.onAdd}
	s.auditUser = widget.NewEntry()
	s.auditUser.SetPlaceHolder("Staff name (empty: everyone)")
	s.auditList = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.backupDir, s.backupKeep = widget.NewEntry(), widget.NewEntry()
	s.backupDir.SetPlaceHolder("A folder on a USB stick or network share")
	s.backupNow = &widget.Button{Text: "Back up now", Icon: theme.UploadIcon(), OnTapped: s.onBackup}
	s.autoLock, s.packetDays = widget.NewEntry(), widget.NewEntry()
	s.saveButton = &widget.Button{Text: "Save", Icon: theme.DocumentSaveIcon(), Importance: widget.HighImportance, OnTapped: s.onSave}
	s.status = &widget.Label{Wrapping: fyne.TextWrapWord}

	bold := func(t string) *widget.Label {
		return widget.NewLabelWithStyle(t, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	policies := widget.NewForm(
		widget.NewFormItem("Lock after (minutes idle)", s.autoLock),
		widget.NewFormItem("Keep printed packets (days)", s.packetDays),
		widget.NewFormItem("Backup folder", s.backupDir),
		widget.NewFormItem("Backups to keep", s.backupKeep),
	)
	packetsNote := &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Italic: true},
		Text: "Printed packets are patient data. They are kept only in the packets folder inside the data folder and removed after the days above (0: when Front Desk closes). Backups stay encrypted; each one is checked by opening it and counting the records."}
	s.content = container.NewVScroll(container.NewPadded(container.NewVBox(
		bold("Staff accounts"), s.users,
		container.NewGridWithColumns(4, s.addName, s.addRole, s.addPass, s.addButton),
		widget.NewSeparator(),
		bold("Policies and backups"), policies, packetsNote, container.NewHBox(s.saveButton, s.backupNow), s.status,
		widget.NewSeparator(),
		bold("Audit log (newest first)"),
		container.NewBorder(nil, nil, nil, container.NewHBox(
			&widget.Button{Text: "Show", OnTapped: s.loadAudit},
			&widget.Button{Text: "Export CSV…", Icon: theme.DocumentSaveIcon(), OnTapped: s.onExportAudit}), s.auditUser),
		s.auditList,
	)))
	return s
}

// load fills the screen from the store (admins only; called after sign-in).
func (s *securityScreen) load() {
	set := s.ui.settings.current
	s.autoLock.SetText(strconv.Itoa(max(set.AutoLockMinutes, 0)))
	if set.AutoLockMinutes == 0 {
		s.autoLock.SetText(strconv.Itoa(storage.DefaultAutoLockMinutes))
	}
	s.packetDays.SetText(strconv.Itoa(set.PacketKeepDays))
	s.backupDir.SetText(set.BackupDir)
	s.backupKeep.SetText(strconv.Itoa(orDefaultInt(set.BackupKeep, storage.DefaultBackupKeep)))
	s.loadUsers()
	s.loadAudit()
}

func orDefaultInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

func (s *securityScreen) loadUsers() {
	admin := s.ui.deps.Admin
	s.ui.background(func() {
		users, err := admin.Users()
		fyne.Do(func() {
			s.users.RemoveAll()
			defer s.users.Refresh()
			if err != nil {
				s.users.Add(widget.NewLabel("The staff list could not be read: " + err.Error()))
				return
			}
			for _, u := range users {
				u := u
				state := string(u.Role)
				if u.Disabled {
					state += " · switched off"
				}
				if !u.LastSignIn.IsZero() {
					state += " · last signed in " + u.LastSignIn.Local().Format("2006-01-02 15:04")
				}
				buttons := container.NewHBox(&widget.Button{Text: "Reset password", OnTapped: func() { s.onReset(u.Name) }})
				if !u.Disabled {
					buttons.Add(&widget.Button{Text: "Switch off", Importance: widget.DangerImportance, OnTapped: func() { s.onDisable(u.Name) }})
				}
				s.users.Add(container.NewBorder(nil, nil, nil, buttons, widget.NewLabel(u.Name+" — "+state)))
			}
		})
	})
}

func (s *securityScreen) onAdd() {
	name, pw, role := strings.TrimSpace(s.addName.Text), s.addPass.Text, storage.Role(s.addRole.Selected)
	s.ui.background(func() {
		_, err := s.ui.deps.Admin.AddUser(name, role, pw)
		fyne.Do(func() {
			if err != nil {
				s.status.SetText("Not added: " + signInProblem(err))
				return
			}
			s.addName.SetText("")
			s.addPass.SetText("")
			s.status.SetText(fmt.Sprintf("Added %s (%s).", name, role))
			s.loadUsers()
		})
	})
}

func (s *securityScreen) onDisable(name string) {
	dialog.ShowConfirm("Switch off "+name+"?", name+" will no longer be able to sign in. Nothing they entered is lost.", func(ok bool) {
		if !ok {
			return
		}
		s.ui.background(func() {
			_, err := s.ui.deps.Admin.DisableUser(name)
			fyne.Do(func() {
				if err != nil {
					s.status.SetText("Not switched off: " + signInProblem(err))
					return
				}
				s.status.SetText(name + " is switched off.")
				s.loadUsers()
			})
		})
	}, s.ui.win)
}

func (s *securityScreen) onReset(name string) {
	pw := widget.NewPasswordEntry()
	dialog.ShowForm("New password for "+name, "Set password", "Cancel", []*widget.FormItem{widget.NewFormItem("New password", pw)}, func(ok bool) {
		if !ok {
			return
		}
		s.ui.background(func() {
			_, err := s.ui.deps.Admin.ResetPassword(name, pw.Text)
			fyne.Do(func() {
				if err != nil {
					s.status.SetText("Password not changed: " + signInProblem(err))
					return
				}
				s.status.SetText("New password set for " + name + "; the account is on.")
				s.loadUsers()
			})
		})
	}, s.ui.win)
}

func (s *securityScreen) filter() storage.AuditFilter {
	return storage.AuditFilter{User: strings.TrimSpace(s.auditUser.Text), Limit: 200}
}

func (s *securityScreen) loadAudit() {
	f := s.filter()
	s.ui.background(func() {
		events, err := s.ui.deps.Admin.AuditEvents(f)
		fyne.Do(func() {
			if err != nil {
				s.auditList.SetText("The audit log could not be read: " + err.Error())
				return
			}
			var lines []string
			for _, e := range events {
				rec := ""
				if e.RecordKind != "" {
					rec = fmt.Sprintf(" %s #%d", e.RecordKind, e.RecordID)
				}
				lines = append(lines, fmt.Sprintf("%s  %s  %s%s  %s", e.Time.Local().Format("2006-01-02 15:04:05"), e.User, e.Action, rec, e.Detail))
			}
			if len(lines) == 0 {
				lines = []string{"No events."}
			}
			s.auditList.SetText(strings.Join(lines, "\n"))
		})
	})
}

func (s *securityScreen) onExportAudit() {
	f := s.filter()
	f.Limit = 0
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		s.ui.background(func() {
			err := s.ui.deps.Admin.WriteAuditCSV(w, f)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			fyne.Do(func() {
				if err != nil {
					s.ui.showError("The audit log was not exported.", err)
					return
				}
				s.status.SetText("Audit log exported to " + w.URI().Path())
			})
		})
	}, s.ui.win)
	d.SetFileName("frontdesk-audit.csv")
	d.Show()
}

// onSave stores the policies in the clinic settings.
func (s *securityScreen) onSave() {
	next := s.ui.settings.current
	var bad []string
	num := func(e *widget.Entry, what string, lo, hi int) int {
		n, err := strconv.Atoi(strings.TrimSpace(e.Text))
		if err != nil || n < lo || n > hi {
			bad = append(bad, fmt.Sprintf("%s: a number from %d to %d.", what, lo, hi))
		}
		return n
	}
	next.AutoLockMinutes = num(s.autoLock, "Lock after", 1, 240)
	next.PacketKeepDays = num(s.packetDays, "Keep printed packets", 0, 365)
	next.BackupKeep = num(s.backupKeep, "Backups to keep", 1, 365)
	next.BackupDir = strings.TrimSpace(s.backupDir.Text)
	if len(bad) > 0 {
		s.status.SetText(strings.Join(bad, " "))
		return
	}
	s.ui.background(func() {
		err := s.ui.deps.Store.SaveSettings(next)
		fyne.Do(func() {
			if err != nil {
				s.ui.showError("The policies were not saved.", err)
				return
			}
			s.ui.settings.current = next
			s.status.SetText("Saved.")
		})
	})
}

func (s *securityScreen) onBackup() {
	dir := strings.TrimSpace(s.backupDir.Text)
	if dir == "" {
		s.status.SetText("Choose a backup folder first (for example on a USB stick), then Save.")
		return
	}
	keep := orDefaultInt(s.ui.settings.current.BackupKeep, storage.DefaultBackupKeep)
	var rep storage.BackupReport
	s.ui.busy("Backing up…", func() error {
		var err error
		_, rep, err = s.ui.deps.Admin.Backup(dir, keep)
		return err
	}, func(err error) {
		if err != nil {
			s.ui.showError("The backup failed. Check the folder is there and writable (is the USB stick in?).", err)
			return
		}
		s.status.SetText(fmt.Sprintf("Backed up and verified: %d patients, %d intakes in %s.", rep.Patients, rep.Intakes, rep.Path))
	})
}
