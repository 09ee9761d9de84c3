package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/mailbox"
	"frontdesk/storage"
)

// Security choices as shown, and their codes.
var securityChoices = []struct{ label, code string }{
	{"TLS (port 993)", storage.MailSecurityTLS},
	{"STARTTLS (port 143)", storage.MailSecurityStartTLS},
	{"None — only to this computer", storage.MailSecurityPlain},
}

// mailSettings is the clinic mailbox part of Settings: the account, Test
// connection, and the demo mailbox.
type mailSettings struct {
	ui      *App
	content fyne.CanvasObject
	current storage.MailAccount

	host, port, user, folder, interval *widget.Entry
	password                           *widget.Entry
	security                           *widget.Select
	saveButton, testButton, demoButton *widget.Button
	result                             *widget.Label
	trustDialog                        dialog.Dialog
}

func newMailSettings(ui *App) *mailSettings {
	m := &mailSettings{ui: ui}
	m.host, m.port, m.user, m.folder, m.interval = widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	m.host.SetPlaceHolder("imap.example.com")
	m.port.SetPlaceHolder("993")
	m.folder.SetPlaceHolder("INBOX")
	m.interval.SetPlaceHolder("5")
	m.password = widget.NewPasswordEntry()
	m.password.SetPlaceHolder("Kept encrypted in the clinic database")
	var labels []string
	for _, c := range securityChoices {
		labels = append(labels, c.label)
	}
	m.security = widget.NewSelect(labels, nil)
	m.security.SetSelected(labels[0])
	m.saveButton = &widget.Button{Text: "Save mailbox", Icon: theme.DocumentSaveIcon(), OnTapped: m.onSave}
	m.testButton = &widget.Button{Text: "Test connection", Icon: theme.MailSendIcon(), OnTapped: m.onTest}
	m.demoButton = &widget.Button{Text: "Start demo mailbox", Icon: theme.MediaPlayIcon(), OnTapped: m.onDemo}
	m.result = &widget.Label{Wrapping: fyne.TextWrapWord}
	form := widget.NewForm(
		widget.NewFormItem("Mail server", m.host),
		widget.NewFormItem("Port", m.port),
		widget.NewFormItem("Security", m.security),
		widget.NewFormItem("User name", m.user),
		widget.NewFormItem("Password", m.password),
		widget.NewFormItem("Folder to watch", m.folder),
		widget.NewFormItem("Check every (minutes)", m.interval),
	)
	note := &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Italic: true},
		Text: "Front Desk only reads the mailbox: messages stay unread and are never deleted; each imported message gets the keyword $FrontDesk. No mailbox yet? The demo mailbox shows the import with sample requests."}
	m.content = container.NewVBox(
		widget.NewLabelWithStyle("Clinic mailbox (booking requests)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form, note, container.NewHBox(m.saveButton, m.testButton, m.demoButton), m.result)
	m.load()
	return m
}

func (m *mailSettings) load() {
	if m.ui.deps.Mailbox == nil {
		return
	}
	a, ok, err := m.ui.deps.Mailbox.Account()
	if err != nil {
		m.result.SetText("The mailbox settings could not be read: " + err.Error())
		return
	}
	m.result.SetText("")
	if !ok {
		return
	}
	m.current = a
	m.host.SetText(a.Host)
	if a.Port != 0 {
		m.port.SetText(strconv.Itoa(a.Port))
	}
	for _, c := range securityChoices {
		if c.code == a.Security {
			m.security.SetSelected(c.label)
		}
	}
	m.user.SetText(a.Username)
	m.password.SetText(a.Password)
	m.folder.SetText(a.Folder)
	if a.IntervalMinutes != 0 {
		m.interval.SetText(strconv.Itoa(a.IntervalMinutes))
	}
	if a.Demo {
		m.result.SetText("The demo mailbox is running.")
	}
}

// read builds the account from the form, or says what to fix.
func (m *mailSettings) read() (storage.MailAccount, error) {
	a := m.current
	a.Demo = false
	a.Host = strings.TrimSpace(m.host.Text)
	a.Username = strings.TrimSpace(m.user.Text)
	a.Password = m.password.Text
	a.Folder = strings.TrimSpace(m.folder.Text)
	for _, c := range securityChoices {
		if c.label == m.security.Selected {
			a.Security = c.code
		}
	}
	a.Port, a.IntervalMinutes = 0, 0
	if t := strings.TrimSpace(m.port.Text); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 65535 {
			return a, errors.New("The port is a number from 1 to 65535 (usually 993 for TLS, 143 for STARTTLS).")
		}
		a.Port = n
	}
	if t := strings.TrimSpace(m.interval.Text); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 24*60 {
			return a, errors.New("Check every: a number of minutes, from 1 to 1440.")
		}
		a.IntervalMinutes = n
	}
	if errs := storage.ValidateMailAccount(a); len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Msg)
		}
		return a, errors.New(strings.Join(msgs, " "))
	}
	return a, nil
}

func (m *mailSettings) onSave() {
	a, err := m.read()
	if err != nil {
		m.result.SetText(err.Error())
		return
	}
	m.ui.background(func() {
		err := m.ui.deps.Mailbox.SaveAccount(a)
		fyne.Do(func() {
			if err != nil {
				m.ui.showError("The mailbox settings were not saved.", err)
				return
			}
			m.current = a
			m.result.SetText("Saved. Front Desk checks the mailbox in the background; use Check now on the Requests tab.")
			if m.ui.requests != nil {
				m.ui.requests.startWatching()
			}
		})
	})
}

// onTest connects with what is on screen and says which step failed, in words.
func (m *mailSettings) onTest() {
	a, err := m.read()
	if err != nil {
		m.result.SetText(err.Error())
		return
	}
	m.result.SetText("Connecting…")
	m.testButton.Disable()
	m.ui.background(func() {
		err := m.ui.deps.Mailbox.Test(a)
		fyne.Do(func() {
			m.testButton.Enable()
			m.showTestResult(a, err)
		})
	})
}

func (m *mailSettings) showTestResult(a storage.MailAccount, err error) {
	if err == nil {
		m.result.SetText("Connected and signed in; the folder is there. Save to start importing.")
		return
	}
	var me *mailbox.Error
	if !errors.As(err, &me) {
		m.result.SetText("The test failed: " + err.Error())
		return
	}
	m.result.SetText(fmt.Sprintf("Failed at: %s. %s", me.Step, me.Message))
	if me.Step == mailbox.StepCertificate && me.CertFingerprint != "" {
		msg := &widget.Label{Wrapping: fyne.TextWrapWord, Text: fmt.Sprintf(
			"The server's certificate is not trusted by this computer.\n\nSubject: %s\nSHA-256 fingerprint: %s\n\n"+
				"Trust it only if your IT administrator confirms this fingerprint.", me.CertSubject, me.CertFingerprint)}
		d := dialog.NewCustomConfirm("Untrusted certificate", "Trust this certificate", "Cancel", msg, func(ok bool) {
			if !ok {
				return
			}
			a.TrustedFingerprint = me.CertFingerprint
			m.current = a
			m.result.SetText("Certificate trusted for this mailbox. Test again, then Save.")
		}, m.ui.win)
		d.Resize(fyne.NewSize(560, 320))
		m.trustDialog = d
		d.Show()
	}
}

func (m *mailSettings) onDemo() {
	m.demoButton.Disable()
	m.ui.background(func() {
		err := m.ui.deps.Mailbox.StartDemo()
		fyne.Do(func() {
			m.demoButton.Enable()
			if err != nil {
				m.ui.showError("The demo mailbox did not start.", err)
				return
			}
			m.load()
			m.result.SetText("The demo mailbox is running: its sample requests arrive on the Requests tab.")
			if m.ui.requests != nil {
				m.ui.requests.startWatching()
			}
		})
	})
}
