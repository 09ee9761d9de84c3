package ui

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"frontdesk/forms"
	"frontdesk/storage"
)

// packetsDir is where packets are written: inside the data folder, with the
// rest of the patient data.
func (ui *App) packetsDir() string { return filepath.Join(ui.deps.DataDir, "packets") }

// printPacket renders the patient's packet (a completed evaluation when in is
// not nil, else a blank packet) off the UI goroutine, then offers to open or
// print it. The last packet written is kept in lastPacket for tests.
func (ui *App) printPacket(p storage.Patient, in *storage.Intake) {
	var intakeID uint64
	if in != nil {
		intakeID = in.ID
	}
	ui.renderPacket(p, intakeID, nil)
}

// printPacketWithBooking prints a blank packet pre-filled with the booking
// request's details.
func (ui *App) printPacketWithBooking(p storage.Patient, b *forms.Booking) {
	ui.renderPacket(p, 0, b)
}

func (ui *App) renderPacket(p storage.Patient, intakeID uint64, booking *forms.Booking) {
	var path string
	var res forms.PacketResult
	ui.busy("Preparing the packet…", func() error {
		input, err := ui.deps.Store.PacketInput(p.ID, intakeID, ui.deps.Now())
		if err != nil {
			return err
		}
		input.Booking = booking
		path, res, err = ui.deps.Printer.Save(ui.packetsDir(), input)
		return err
	}, func(err error) {
		if err != nil {
			ui.showError("The packet could not be written.", err)
			return
		}
		ui.lastPacket = path
		kind, detail := "blank packet", ""
		if intakeID != 0 {
			kind, detail = "evaluation", fmt.Sprintf("intake #%d", intakeID)
		}
		ui.audit(storage.ActionPrint, storage.RecordPatient, p.ID, strings.TrimSpace(kind+" "+detail))
		ui.packetReady(path, res)
	})
}

// packetReady says where the packet is and offers Open and Print.
func (ui *App) packetReady(path string, res forms.PacketResult) {
	msg := fmt.Sprintf("%d pages saved as\n%s", res.Pages, path)
	if len(res.Missing) > 0 {
		var rs []string
		for _, r := range res.Missing {
			rs = append(rs, fmt.Sprintf("%q", r))
		}
		msg += "\n\nSome characters are not in the packet's fonts and print as a placeholder: " + strings.Join(rs, " ")
	}
	var d dialog.Dialog
	open := &widget.Button{Text: "Open", OnTapped: func() {
		d.Hide()
		if err := ui.deps.Printer.Open(path); err != nil {
			ui.showError("The packet could not be opened. Open it from the packets folder instead.", err)
		}
	}}
	buttons := container.NewHBox(open)
	if runtime.GOOS != "windows" {
		buttons.Add(&widget.Button{Text: "Print", Importance: widget.HighImportance, OnTapped: func() {
			d.Hide()
			ui.sendToPrinter(path)
		}})
	}
	d = dialog.NewCustom("Packet ready", "Close", container.NewVBox(&widget.Label{Text: msg, Wrapping: fyne.TextWrapBreak}, buttons), ui.win)
	d.Resize(fyne.NewSize(520, 240))
	ui.packetDialog = d
	d.Show()
}

func (ui *App) sendToPrinter(path string) {
	ui.busy("Sending to the printer…", func() error {
		settings, err := ui.deps.Store.Settings()
		if err != nil {
			return err
		}
		return ui.deps.Printer.Print(path, settings.Printer)
	}, func(err error) {
		if err != nil {
			ui.showError("The printer did not take the packet. Check that it is switched on and named correctly in Settings, or open the packet and print it from the viewer.", err)
			return
		}
		dialog.NewInformation("Printing", "The packet was sent to the printer.", ui.win).Show()
	})
}
