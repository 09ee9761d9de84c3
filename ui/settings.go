package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"frontdesk/storage"
)

// Date-order choices as shown, and what they mean.
var dateOrders = []struct {
	label string
	order storage.DateOrder
}{
	{"Month first — 03/14/1986 (US)", storage.MDY},
	{"Day first — 14/03/1986", storage.DMY},
}

// settingsScreen edits the clinic-wide settings kept in the store.
type settingsScreen struct {
	ui      *App
	content fyne.CanvasObject
	current storage.Settings

	name, phone, printer, region *widget.Entry
	address                      *widget.Entry
	paper, dateOrder             *widget.Select
	saveButton                   *widget.Button
	status                       *widget.Label
	mail                         *mailSettings // nil without a mailbox
}

func newSettingsScreen(ui *App) *settingsScreen {
	s := &settingsScreen{ui: ui}
	s.name, s.phone = widget.NewEntry(), widget.NewEntry()
	s.address = widget.NewMultiLineEntry()
	s.address.SetMinRowsVisible(2)
	s.printer = widget.NewEntry()
	s.printer.SetPlaceHolder("Leave empty for the system's default printer")
	s.region = widget.NewEntry()
	s.region.SetPlaceHolder("Two letters, e.g. US, GB, CA, AU")
	s.paper = widget.NewSelect([]string{"Letter", "A4"}, nil)
	var labels []string
	for _, d := range dateOrders {
		labels = append(labels, d.label)
	}
	s.dateOrder = widget.NewSelect(labels, nil)
	s.saveButton = &widget.Button{Text: "Save settings", Icon: theme.DocumentSaveIcon(), Importance: widget.HighImportance, OnTapped: s.onSave}
	s.status = widget.NewLabel("")
	folder := &widget.Label{Text: ui.deps.DataDir, Wrapping: fyne.TextWrapBreak}
	openFolder := &widget.Button{Text: "Open data folder", Icon: theme.FolderOpenIcon(), OnTapped: s.onOpenFolder}

	form := widget.NewForm(
		widget.NewFormItem("Clinic name", s.name),
		widget.NewFormItem("Clinic address", s.address),
		widget.NewFormItem("Clinic phone", s.phone),
		widget.NewFormItem("Paper size", s.paper),
		widget.NewFormItem("Printer", s.printer),
		widget.NewFormItem("Phone region", s.region),
		widget.NewFormItem("Dates typed as", s.dateOrder),
		widget.NewFormItem("Data folder", container.NewBorder(nil, nil, nil, openFolder, folder)),
	)
	note := &widget.Label{Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Italic: true},
		Text: "The clinic name, address and phone print on every packet. Packets hold patient information: they are saved only in the packets folder inside the data folder and removed when Front Desk closes, or after the days set on the Security tab."}
	box := container.NewVBox(
		widget.NewLabelWithStyle("Settings", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form, note, container.NewHBox(s.saveButton), s.status)
	if ui.deps.Mailbox != nil {
		s.mail = newMailSettings(ui)
		box.Add(widget.NewSeparator())
		box.Add(s.mail.content)
	}
	s.content = container.NewVScroll(container.NewPadded(box))
	s.load()
	return s
}

func (s *settingsScreen) load() {
	st, err := s.ui.deps.Store.Settings()
	if err != nil {
		s.status.SetText("Settings could not be read: " + err.Error())
		return
	}
	s.current = st
	s.status.SetText("")
	s.name.SetText(st.ClinicName)
	s.address.SetText(st.ClinicAddress)
	s.phone.SetText(st.ClinicPhone)
	s.printer.SetText(st.Printer)
	s.region.SetText(st.Region)
	s.paper.SetSelected(orDefault(st.Paper, "Letter"))
	for _, d := range dateOrders {
		if d.order == st.DateOrder {
			s.dateOrder.SetSelected(d.label)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *settingsScreen) onSave() {
	next := s.current
	next.ClinicName = strings.TrimSpace(s.name.Text)
	next.ClinicAddress = strings.TrimSpace(s.address.Text)
	next.ClinicPhone = strings.TrimSpace(s.phone.Text)
	next.Printer = strings.TrimSpace(s.printer.Text)
	next.Region = strings.ToUpper(strings.TrimSpace(s.region.Text))
	next.Paper = s.paper.Selected
	for _, d := range dateOrders {
		if d.label == s.dateOrder.Selected {
			next.DateOrder = d.order
		}
	}
	store := s.ui.deps.Store
	s.saveButton.Disable()
	s.ui.background(func() {
		err := store.SaveSettings(next)
		fyne.Do(func() {
			s.saveButton.Enable()
			if err != nil {
				s.ui.showError("The settings were not saved.", err)
				return
			}
			s.current = next
			s.status.SetText(fmt.Sprintf("Saved at %s.", s.ui.deps.Now().Format("15:04")))
		})
	})
}

func (s *settingsScreen) onOpenFolder() {
	if err := s.ui.deps.Printer.Open(s.ui.deps.DataDir); err != nil {
		s.ui.showError("The data folder could not be opened.", err)
	}
}

// region and dateOrder are the settings that shape what is typed.
func (ui *App) region() string {
	return orDefault(ui.settings.current.Region, "US")
}

func (ui *App) dateOrder() storage.DateOrder {
	if ui.settings.current.DateOrder == "" {
		return storage.MDY
	}
	return ui.settings.current.DateOrder
}
