package forms

import (
	"fmt"
	"strconv"
	"strings"
)

// This file lays out the pages of the packet: page 1 the patient and visit
// details (with the urgent or incomplete screening notice of a stored
// intake at its top), then the questionnaire, then on a page of its own the
// boxed red-flag screen followed by consent and signatures.

// Text styles.
var (
	stQuestion   = textStyle{size: 9, color: colInk}
	stQBold      = textStyle{size: 9, bold: true, color: colInk}
	stAnswer     = textStyle{size: 9.5, bold: true, color: colour{0, 45, 125}}
	stAnswerText = textStyle{size: 9.5, color: colour{0, 45, 125}}
	stBox        = textStyle{size: 10.5, color: colBlack}
	stHint       = textStyle{size: 7.5, color: colGrey}
	stLabel      = textStyle{size: 7, color: colGrey}
	stValue      = textStyle{size: 10, color: colBlack}
	stSection    = textStyle{size: 11, bold: true, color: colNavy}
	stDisplay    = textStyle{size: 8.5, color: colInk}
	stSmall      = textStyle{size: 7.5, color: colGrey}
)

const (
	boxEmpty   = "☐"
	boxChecked = "☑"
	writeLineH = 7.0 // height of a line to write on by hand
	minValuePt = 7.0 // smallest size a value is shrunk to before it wraps
)

// pageRow is a slice of the page drawn at a cursor; rows are never split.
type pageRow struct {
	h    float64
	draw func(y float64)
	keep bool // keep on the same page as the next row
}

// newPage starts a page; fpdf draws the header and the previous footer.
func (p *packet) newPage() {
	p.pdf.AddPage()
	p.forget()
	p.y = p.top
}

// flow draws rows down the page, starting a new page when the next row
// (with the rows it is kept with) does not fit. together keeps all rows on
// one page when they fit on an empty page.
func (p *packet) flow(rows []pageRow, together bool) {
	if together {
		total := 0.0
		for _, r := range rows {
			total += r.h
		}
		if total <= p.bottom-p.top && p.y+total > p.bottom {
			p.newPage()
		}
	}
	for i, r := range rows {
		need := r.h
		for j := i; j+1 < len(rows) && rows[j].keep && need < (p.bottom-p.top)/3; j++ {
			need += rows[j+1].h
		}
		if p.y+need > p.bottom && p.y > p.top+0.01 {
			p.newPage()
		}
		r.draw(p.y)
		p.y += r.h
	}
}

func spacer(h float64) pageRow { return pageRow{h: h, draw: func(float64) {}} }

// textRows sets a paragraph and returns one row per line, so that long text
// continues on the next page.
func (p *packet) textRows(pcs []textPiece, x, w float64, al textAlign, minLineH float64) []pageRow {
	tb := p.set(pcs, w)
	rows := make([]pageRow, len(tb.lines))
	for i, l := range tb.lines {
		h := max(l.h, minLineH)
		rows[i] = pageRow{h: h, draw: func(y float64) { p.drawLine(l, x, y+(h-l.h)/2, w, al) }}
	}
	return rows
}

// ---- header and footer ----

type headerLayout struct {
	clinicName, clinicLine, patientName, patientLine textBlock
	h                                                float64
}

func (p *packet) patientName() string {
	pt := p.in.Patient
	name := strings.TrimSpace(pt.FamilyName)
	if g := strings.TrimSpace(pt.GivenName); g != "" {
		if name != "" {
			name += ", "
		}
		name += g
	}
	if pr := strings.TrimSpace(pt.PreferredName); pr != "" {
		name += " (" + pr + ")"
	}
	return name
}

func (p *packet) layoutHeader() headerLayout {
	var h headerLayout
	lw, rw := p.w*0.55, p.w*0.45-4
	c := p.in.Clinic
	name := strings.TrimSpace(c.Name)
	if name == "" {
		name = "Clinic"
	}
	h.clinicName = p.fit(plain(name, textStyle{size: 10.5, bold: true, color: colNavy}), lw, 1, minValuePt)
	var contact []string
	if a := strings.Join(strings.Fields(c.Address), " "); a != "" {
		contact = append(contact, a)
	}
	if ph := strings.TrimSpace(c.Phone); ph != "" {
		contact = append(contact, "Tel. "+ph)
	}
	h.clinicLine = p.fit(plain(strings.Join(contact, " · "), textStyle{size: 7.5, color: colGrey}), lw, 2, 6)
	pname := p.patientName()
	if pname == "" {
		pname = "Patient: ______________________"
	}
	h.patientName = p.fit(plain(pname, textStyle{size: 10.5, bold: true, color: colBlack}), rw, 1, minValuePt)
	pt := p.in.Patient
	dob := pt.DateOfBirth
	if dob == "" {
		dob = "__________"
	}
	id := "______"
	if pt.ID != 0 {
		id = strconv.FormatUint(pt.ID, 10)
	}
	h.patientLine = p.fit(plain("Date of birth "+dob+" · Patient ID "+id, textStyle{size: 8, color: colInk}), rw, 1, 6)
	h.h = max(h.clinicName.h+h.clinicLine.h, h.patientName.h+h.patientLine.h)
	return h
}

func (p *packet) drawHeader() {
	p.forget()
	h := p.header
	x, y := p.left, marginTop
	p.drawBlock(h.clinicName, x, y, p.w*0.55, alignLeft)
	p.drawBlock(h.clinicLine, x, y+h.clinicName.h, p.w*0.55, alignLeft)
	rx, rw := p.left+p.w*0.55+4, p.w*0.45-4
	p.drawBlock(h.patientName, rx, y, rw, alignRight)
	p.drawBlock(h.patientLine, rx, y+h.patientName.h, rw, alignRight)
	p.pdf.SetDrawColor(colNavy.r, colNavy.g, colNavy.b)
	p.pdf.SetLineWidth(0.5)
	p.pdf.Line(p.left, y+h.h+1.5, p.left+p.w, y+h.h+1.5)
	p.forget()
}

func (p *packet) drawFooter() {
	p.forget()
	y := p.pageH - footerHeight
	p.pdf.SetDrawColor(colLightGrey.r, colLightGrey.g, colLightGrey.b)
	p.pdf.SetLineWidth(0.2)
	p.pdf.Line(p.left, y, p.left+p.w, y)
	third := p.w / 3
	p.text(plain("Confidential — protected health information", textStyle{size: 7.5, bold: true, color: colDarkRed}), p.left, y+1.5, third+12, alignLeft)
	p.text(plain("Printed "+p.printed, stSmall), p.left+third+6, y+1.5, third-12, alignCenter)
	// "{nb}" is replaced by the page count when the document closes.
	p.text(plain(fmt.Sprintf("Page %d of {nb}", p.pdf.PageNo()), textStyle{size: 8, bold: true, color: colInk}), p.left+2*third, y+1.5, third, alignRight)
	p.forget()
}

// ---- boxes ----

// boxed wraps rows in a box with a border and a fill, drawn row by row so
// that a box that continues on the next page stays closed on both sides.
func (p *packet) boxed(rows []pageRow, border, fill colour, lw, pad float64) []pageRow {
	if len(rows) == 0 {
		return nil
	}
	out := make([]pageRow, 0, len(rows)+2)
	out = append(out, pageRow{h: pad, keep: true})
	out = append(out, rows...)
	out = append(out, pageRow{h: pad})
	for i := range out {
		r := out[i]
		first, last := i == 0, i == len(out)-1
		out[i] = pageRow{h: r.h, keep: r.keep || !last, draw: func(y float64) {
			p.pdf.SetFillColor(fill.r, fill.g, fill.b)
			p.pdf.Rect(p.left, y, p.w, r.h, "F")
			p.pdf.SetDrawColor(border.r, border.g, border.b)
			p.pdf.SetLineWidth(lw)
			p.pdf.Line(p.left, y, p.left, y+r.h)
			p.pdf.Line(p.left+p.w, y, p.left+p.w, y+r.h)
			if first {
				p.pdf.Line(p.left-lw/2, y, p.left+p.w+lw/2, y)
			}
			if last {
				p.pdf.Line(p.left-lw/2, y+r.h, p.left+p.w+lw/2, y+r.h)
			}
			if r.draw != nil {
				r.draw(y)
			}
		}}
	}
	// Keep only the top of the box with its first lines, not all of it.
	for i := 3; i < len(out)-1; i++ {
		out[i].keep = false
	}
	return out
}

// ---- page 1: notice, patient, visit ----

// noticeRows is the boxed notice at the top of page 1 for a stored intake:
// urgent (every positive item), incomplete (every unanswered item), or a
// one-line all-clear.
func (p *packet) noticeRows() []pageRow {
	s := ScreenRedFlags(p.tpl, p.answers)
	x, w := p.left+4, p.w-8
	var rows []pageRow
	item := func(it *Item, mark string, st textStyle) {
		cat, _ := it.RedFlag()
		rs := p.textRows([]textPiece{{it.Text, st}, {"  (" + redFlagCategoryName(cat) + ")" + mark, textStyle{size: 8.5, bold: true, color: st.color}}}, x+6, w-6, alignLeft, 0)
		bullet, text := p.set(plain("•", st), 4), rs[0].draw
		rs[0].draw = func(y float64) { p.drawBlock(bullet, x+2, y, 4, alignLeft); text(y) }
		rows = append(rows, rs...)
	}
	in := p.in.Intake
	switch s.Status {
	case ScreenUrgent:
		rows = append(rows, p.textRows(plain("URGENT — RED FLAGS: notify the practitioner before treatment", textStyle{size: 13, bold: true, color: colDarkRed}), x, w, alignLeft, 0)...)
		if s.SameDay {
			rows = append(rows, p.textRows(plain("Possible cauda equina: arrange a same-day medical assessment.", textStyle{size: 10.5, bold: true, color: colDarkRed}), x, w, alignLeft, 0)...)
		}
		rows = append(rows, p.textRows(plain(fmt.Sprintf("The patient answered YES to %d safety question(s):", len(s.Positive)), textStyle{size: 9, color: colInk}), x, w, alignLeft, 0)...)
		for _, it := range s.Positive {
			item(it, " YES", textStyle{size: 9.5, bold: true, color: colBlack})
		}
		if len(s.Unanswered) > 0 {
			rows = append(rows, p.textRows(plain(fmt.Sprintf("Also not answered (%d): ", len(s.Unanswered))+redFlagTexts(s.Unanswered), textStyle{size: 8.5, color: colInk}), x, w, alignLeft, 0)...)
		}
		ack := "Not yet acknowledged by staff."
		if in.AcknowledgedBy != "" {
			ack = "Acknowledged by " + in.AcknowledgedBy
			if !in.AcknowledgedAt.IsZero() {
				ack += " on " + in.AcknowledgedAt.Format("2006-01-02 15:04 MST")
			}
			ack += "."
		}
		rows = append(rows, p.textRows(plain(ack, textStyle{size: 8.5, bold: true, color: colInk}), x, w, alignLeft, 0)...)
		return p.boxed(rows, colDarkRed, colour{255, 228, 228}, 1.2, 2.5)
	case ScreenIncomplete:
		rows = append(rows, p.textRows(plain("SCREENING INCOMPLETE — ask these safety questions before treatment", textStyle{size: 13, bold: true, color: colAmber}), x, w, alignLeft, 0)...)
		rows = append(rows, p.textRows(plain(fmt.Sprintf("%d red-flag question(s) were not answered:", len(s.Unanswered)), textStyle{size: 9, color: colInk}), x, w, alignLeft, 0)...)
		for _, it := range s.Unanswered {
			item(it, "", textStyle{size: 9.5, color: colBlack})
		}
		if r := strings.TrimSpace(in.IncompleteReason); r != "" {
			rows = append(rows, p.textRows(plain("Reason given: "+r, textStyle{size: 9, bold: true, color: colInk}), x, w, alignLeft, 0)...)
		}
		return p.boxed(rows, colAmber, colour{255, 243, 210}, 1.2, 2.5)
	default:
		rows = p.textRows(plain("Red-flag screen: every safety question was answered No.", textStyle{size: 9, bold: true, color: colInk}), x, w, alignLeft, 0)
		return p.boxed(rows, colLightGrey, colWhite, 0.4, 1.5)
	}
}

func redFlagTexts(items []*Item) string {
	t := make([]string, len(items))
	for i, it := range items {
		t[i] = it.Text
	}
	return strings.Join(t, "; ")
}

func redFlagCategoryName(cat string) string {
	switch cat {
	case CategoryCaudaEquina:
		return "cauda equina — same day"
	case "":
		return "red flag"
	}
	return cat
}

// detailField is one labelled box of page 1.
type detailField struct {
	name, value string
	frac        float64 // share of the row's width
	blank       int     // lines to write on when the value is empty
}

// fieldRows lays out labelled values side by side. A value is shrunk to fit
// its line, then wrapped; a row that would grow too tall gives each field a
// full-width block of its own, one row per line, so it can continue on the
// next page.
func (p *packet) fieldRows(fields ...detailField) []pageRow {
	const gap, labelH = 4.0, 3.3
	type laid struct {
		f  detailField
		x  float64
		w  float64
		tb textBlock
		h  float64
	}
	var ls []laid
	x, rowH := p.left, 0.0
	for _, f := range fields {
		fw := p.w*f.frac - gap
		l := laid{f: f, x: x, w: fw}
		if strings.TrimSpace(f.value) != "" {
			l.tb = p.fit(plain(f.value, stValue), fw, 1, minValuePt)
			l.h = labelH + l.tb.h + 1.5
			if len(l.tb.lines) == 1 {
				l.h = labelH + 6
			}
		} else {
			l.h = labelH + float64(max(f.blank, 1))*writeLineH
		}
		rowH = max(rowH, l.h)
		ls = append(ls, l)
		x += p.w * f.frac
	}
	if rowH > 45 && len(fields) > 0 {
		var rows []pageRow
		for _, f := range fields {
			f.frac = 1
			if len(fields) > 1 {
				rows = append(rows, p.fieldRows(f)...)
				continue
			}
			// One full-width field: label, then the value line by line.
			lbl := f.name
			rows = append(rows, pageRow{h: labelH, keep: true, draw: func(y float64) { p.text(plain(lbl, stLabel), p.left, y, p.w, alignLeft) }})
			vr := p.textRows(plain(f.value, textStyle{size: minValuePt + 1, color: colBlack}), p.left, p.w, alignLeft, 0)
			for i := range vr {
				vr[i].keep = i == 0
			}
			rows = append(rows, vr...)
			rows = append(rows, spacer(2))
		}
		return rows
	}
	return []pageRow{{h: rowH + 1, draw: func(y float64) {
		for _, l := range ls {
			p.text(plain(l.f.name, stLabel), l.x, y, l.w, alignLeft)
			p.pdf.SetDrawColor(colLightGrey.r, colLightGrey.g, colLightGrey.b)
			p.pdf.SetLineWidth(0.25)
			if strings.TrimSpace(l.f.value) == "" {
				for i := 1; i <= max(l.f.blank, 1); i++ {
					ly := y + labelH + float64(i)*writeLineH
					p.pdf.Line(l.x, ly, l.x+l.w, ly)
				}
				continue
			}
			vy := y + labelH + 0.5
			if len(l.tb.lines) == 1 {
				vy = y + labelH + (6-l.tb.h)/2
			}
			p.drawBlock(l.tb, l.x, vy, l.w, alignLeft)
			p.pdf.Line(l.x, y+l.h, l.x+l.w, y+l.h)
		}
	}}}
}

// sectionRows is a section heading on a light band.
func (p *packet) sectionRows(title string) []pageRow {
	tb := p.set(plain(title, stSection), p.w-4)
	h := tb.h + 1.4
	return []pageRow{spacer(2), {h: h + 1, keep: true, draw: func(y float64) {
		p.pdf.SetFillColor(232, 237, 245)
		p.pdf.Rect(p.left, y, p.w, h, "F")
		p.drawBlock(tb, p.left+2, y+0.7, p.w-4, alignLeft)
	}}}
}

func (p *packet) patientSection() {
	pt := p.in.Patient
	id := ""
	if pt.ID != 0 {
		id = strconv.FormatUint(pt.ID, 10)
	}
	var phones []string
	for _, ph := range pt.Phones {
		if ph = strings.TrimSpace(ph); ph != "" {
			phones = append(phones, ph)
		}
	}
	rows := p.sectionRows("Patient details — please check and correct")
	rows = append(rows, p.fieldRows(
		detailField{name: "Family name", value: pt.FamilyName, frac: 0.36},
		detailField{name: "Given name(s)", value: pt.GivenName, frac: 0.36},
		detailField{name: "Preferred name", value: pt.PreferredName, frac: 0.28})...)
	rows = append(rows, p.fieldRows(
		detailField{name: "Date of birth (YYYY-MM-DD)", value: pt.DateOfBirth, frac: 0.26},
		detailField{name: "Sex", value: pt.Sex, frac: 0.16},
		detailField{name: "Preferred language", value: pt.Language, frac: 0.3},
		detailField{name: "Patient ID", value: id, frac: 0.28})...)
	rows = append(rows, p.fieldRows(
		detailField{name: "Phone", value: strings.Join(phones, " · "), frac: 0.45},
		detailField{name: "Email", value: pt.Email, frac: 0.55})...)
	rows = append(rows, p.fieldRows(detailField{name: "Address", value: pt.Address, frac: 1, blank: 2})...)
	rows = append(rows, p.fieldRows(detailField{name: "Emergency contact (name, relationship, phone)", value: pt.EmergencyContact, frac: 1})...)
	if strings.TrimSpace(pt.Notes) != "" {
		rows = append(rows, p.fieldRows(detailField{name: "Notes from the clinic record", value: pt.Notes, frac: 1})...)
	}
	p.flow(rows, false)
}

func (p *packet) visitSection() {
	rows := p.sectionRows("Visit")
	var requested, reason, source string
	if b := p.in.Booking; b != nil {
		if !b.Requested.IsZero() {
			requested = b.Requested.Format("Mon 2006-01-02 15:04")
		}
		reason, source = b.Reason, b.Source
	}
	rows = append(rows, p.fieldRows(
		detailField{name: "Appointment requested", value: requested, frac: 0.4},
		detailField{name: "Booked by (email, phone, walk-in…)", value: source, frac: 0.3},
		detailField{name: "Date of this visit", frac: 0.3})...)
	rows = append(rows, p.fieldRows(detailField{name: "Reason given when booking", value: reason, frac: 1})...)
	form := fmt.Sprintf("%s (form %s, version %s)", p.tpl.Title, p.tpl.ID, p.tpl.Version)
	if in := p.in.Intake; in != nil {
		status := in.Status
		switch status {
		case "completed":
			status = "Completed"
		case "draft", "":
			status = "DRAFT — not completed"
		}
		id := ""
		if in.ID != 0 {
			id = strconv.FormatUint(in.ID, 10)
		}
		rows = append(rows, p.fieldRows(
			detailField{name: "Form", value: form, frac: 0.6},
			detailField{name: "Intake ID", value: id, frac: 0.15},
			detailField{name: "Status", value: status, frac: 0.25})...)
	} else {
		rows = append(rows, p.fieldRows(
			detailField{name: "Form", value: form, frac: 0.7},
			detailField{name: "Practitioner", frac: 0.3})...)
	}
	p.flow(rows, false)
}

// ---- questionnaire ----

// isRedFlagGroup reports a group that holds red-flag items directly.
func isRedFlagGroup(it *Item) bool {
	if it.Type != TypeGroup {
		return false
	}
	for i := range it.Item {
		if _, ok := it.Item[i].RedFlag(); ok {
			return true
		}
	}
	return false
}

// questionnaire prints every top-level item but the red-flag screen, each
// group kept on one page when it fits.
func (p *packet) questionnaire() {
	rows := p.sectionRows(p.tpl.Title)
	intro := "Please answer the questions below. Tick one box (☐) unless it says tick all that apply."
	if p.answers != nil {
		intro = "Answers as recorded in Front Desk (☑ = chosen)."
	}
	rows = append(rows, p.textRows(plain(intro, stHint), p.left, p.w, alignLeft, 4.5)...)
	for i := range rows {
		rows[i].keep = true
	}
	p.copyrightDone = false
	for i := range p.tpl.Item {
		it := &p.tpl.Item[i]
		if isRedFlagGroup(it) {
			continue
		}
		if it.Type == TypeGroup {
			rows = append(rows, p.sectionRows(it.Text)...)
			rows = append(rows, p.itemsRows(it.Item, p.left, p.w, "")...)
			if sc, ok := p.startBackScoreRow(it); ok {
				rows = append(rows, sc...)
			}
		} else {
			rows = append(rows, p.itemRows(it, p.left, p.w, "")...)
		}
		p.flow(rows, true)
		rows = nil // the title went with the first group
	}
	p.flow(rows, false)
	if c := strings.TrimSpace(p.tpl.Copyright); c != "" && !p.copyrightDone {
		rows := []pageRow{spacer(2)}
		rows = append(rows, p.textRows(plain(c, stSmall), p.left, p.w, alignLeft, 0)...)
		p.flow(rows, true)
	}
}

// itemsRows lays out sibling items; a nested group's title leads its first
// question.
func (p *packet) itemsRows(items []Item, x, w float64, prefix string) []pageRow {
	var rows []pageRow
	for i := range items {
		pre := ""
		if i == 0 {
			pre = prefix
		}
		rows = append(rows, p.itemRows(&items[i], x, w, pre)...)
	}
	return rows
}

// questionLabel is an item's question text, led by its group's title if any.
func questionLabel(prefix, text string) []textPiece {
	if prefix == "" {
		return plain(text, stQuestion)
	}
	return []textPiece{{prefix + ": ", stQBold}, {text, stQuestion}}
}

func (p *packet) answer(it *Item) (Answer, bool) {
	if p.answers == nil {
		return Answer{}, false
	}
	a, ok := p.answers[it.LinkID]
	return a, ok && !a.Empty()
}

func (p *packet) itemRows(it *Item, x, w float64, prefix string) []pageRow {
	switch it.Type {
	case TypeGroup:
		if len(it.Item) > 0 && it.Item[0].Answerable() {
			return p.itemsRows(it.Item, x, w, it.Text)
		}
		rows := p.textRows(questionLabel(prefix, it.Text), x, w, alignLeft, 5)
		rows[len(rows)-1].keep = true
		return append(rows, p.itemsRows(it.Item, x+4, w-4, "")...)
	case TypeDisplay:
		st := stDisplay
		text := it.Text
		if strings.Contains(text, "©") && strings.TrimSpace(p.tpl.Copyright) != "" && !p.copyrightDone {
			// The template's own statement is the full one; print it once,
			// with the instrument.
			text, st = p.tpl.Copyright, stSmall
			p.copyrightDone = true
		}
		return append([]pageRow{spacer(1)}, p.textRows(plain(text, st), x, w, alignLeft, 0)...)
	case TypeBoolean:
		return p.rightAnswerRows(it, x, w, prefix, []Coding{{Code: "yes", Display: "Yes"}, {Code: "no", Display: "No"}})
	case TypeChoice:
		opts := make([]Coding, len(it.AnswerOption))
		for i, o := range it.AnswerOption {
			opts[i] = o.ValueCoding
		}
		// A recorded code the form does not offer is printed as it is,
		// never dropped.
		if a, ok := p.answer(it); ok {
			for _, c := range a.Codes {
				if _, known := it.Option(c); !known {
					opts = append(opts, Coding{Code: c, Display: c})
				}
			}
		}
		if p.optionsWidth(it, opts) <= w*0.42 {
			return p.rightAnswerRows(it, x, w, prefix, opts)
		}
		return p.choiceFlowRows(it, x, w, prefix, opts)
	case TypeInteger:
		if lo, hi, ok := it.Range(); ok && hi >= lo && hi-lo <= 10 {
			return p.scaleRows(it, x, w, prefix, lo, hi)
		}
		return p.lineRows(it, x, w, prefix, "")
	case TypeDate:
		return p.lineRows(it, x, w, prefix, "YYYY-MM-DD")
	case TypeText:
		return p.textAnswerRows(it, x, w, prefix)
	default:
		return p.lineRows(it, x, w, prefix, "")
	}
}

// chosen reports whether the option is the item's answer.
func (p *packet) chosen(it *Item, code string) bool {
	a, ok := p.answer(it)
	if !ok {
		return false
	}
	if it.Type == TypeBoolean {
		return a.Bool != nil && *a.Bool == (code == "yes")
	}
	for _, c := range a.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// option is "☐ text" (or "☑ text" when chosen).
func (p *packet) option(it *Item, o Coding) []textPiece {
	if p.chosen(it, o.Code) {
		return []textPiece{{boxChecked + " ", stBox}, {o.Display, textStyle{size: 9, bold: true, color: stAnswer.color}}}
	}
	return []textPiece{{boxEmpty + " ", stBox}, {o.Display, stQuestion}}
}

const optionGap = 4.0

func (p *packet) optionsWidth(it *Item, opts []Coding) float64 {
	w := 0.0
	for i, o := range opts {
		if i > 0 {
			w += optionGap
		}
		w += p.width([]textPiece{{boxEmpty + " ", stBox}, {o.Display, stQBold}})
	}
	return w
}

// rightAnswerRows puts the question on the left and its few options in a
// column on the right.
func (p *packet) rightAnswerRows(it *Item, x, w float64, prefix string, opts []Coding) []pageRow {
	ow := p.optionsWidth(it, opts)
	qb := p.set(questionLabel(prefix, it.Text), w-ow-4)
	var units []textBlock
	var advance []float64 // as wide as the option in bold, so columns line up
	for _, o := range opts {
		units = append(units, p.set(p.option(it, o), w))
		advance = append(advance, p.width([]textPiece{{boxEmpty + " ", stBox}, {o.Display, stQBold}}))
	}
	base := max(qb.firstBaseline(), units[0].firstBaseline())
	qy, uy := base-qb.firstBaseline(), base-units[0].firstBaseline()
	h := max(qy+qb.h, uy+units[0].h) + 1.2
	return []pageRow{{h: h, draw: func(y float64) {
		p.drawBlock(qb, x, y+0.6+qy, w-ow-4, alignLeft)
		ux := x + w - ow
		for i, u := range units {
			p.drawBlock(u, ux, y+0.6+uy, advance[i], alignLeft)
			ux += advance[i] + optionGap
		}
		p.rule(x, y+h, w)
	}}}
}

// rule is a faint line between questions.
func (p *packet) rule(x, y, w float64) {
	p.pdf.SetDrawColor(215, 215, 215)
	p.pdf.SetLineWidth(0.15)
	p.pdf.Line(x, y, x+w, y)
}

// choiceFlowRows sets the question followed by its options, wrapping as
// needed; an option too long for a line wraps inside itself.
func (p *packet) choiceFlowRows(it *Item, x, w float64, prefix string, opts []Coding) []pageRow {
	type unit struct {
		tb textBlock
		w  float64
	}
	units := []unit{}
	q := p.set(questionLabel(prefix, it.Text), w)
	for _, l := range q.lines {
		units = append(units, unit{textBlock{lines: []textLine{l}, h: l.h}, l.w})
	}
	nq := len(units)
	for _, o := range opts {
		tb := p.set(p.option(it, o), w-6)
		uw := 0.0
		for _, l := range tb.lines {
			uw = max(uw, l.w)
		}
		units = append(units, unit{tb, uw})
	}
	type placed struct {
		u unit
		x float64
	}
	var lines [][]placed
	var cur []placed
	cx := 0.0
	for i, u := range units {
		if i < nq || i == nq && nq > 0 && cx+optionGap+u.w > w {
			// question lines stand alone, except the last, which the
			// options follow on the same line when they fit
			if len(cur) > 0 {
				lines = append(lines, cur)
			}
			cur, cx = nil, 0
			if i >= nq {
				cx = 6
			}
		} else if cx > 0 && cx+optionGap+u.w > w {
			lines = append(lines, cur)
			cur, cx = nil, 6
		} else if cx > 0 {
			cx += optionGap
		}
		cur = append(cur, placed{u, cx})
		cx += u.w
	}
	if len(cur) > 0 {
		lines = append(lines, cur)
	}
	var rows []pageRow
	for li, l := range lines {
		h, base := 0.0, 0.0
		for _, pl := range l {
			base = max(base, pl.u.tb.firstBaseline())
		}
		for _, pl := range l {
			h = max(h, base-pl.u.tb.firstBaseline()+pl.u.tb.h)
		}
		h += 0.8
		last := li == len(lines)-1
		if last {
			h += 0.6
		}
		rows = append(rows, pageRow{h: h, keep: !last, draw: func(y float64) {
			for _, pl := range l {
				p.drawBlock(pl.u.tb, x+pl.x, y+0.5+base-pl.u.tb.firstBaseline(), pl.u.w, alignLeft)
			}
			if last {
				p.rule(x, y+h, w)
			}
		}})
	}
	return rows
}

// scaleRows is a 0–10 question: the question on the left and a tick box
// for each number, the chosen one filled in.
func (p *packet) scaleRows(it *Item, x, w float64, prefix string, lo, hi int) []pageRow {
	n := hi - lo + 1
	lw := w * 0.36
	q := p.set(questionLabel(prefix, it.Text), lw)
	bw := min(7.5, (w-lw-22)/float64(n))
	bh := 4.6
	var chosen *int
	if a, ok := p.answer(it); ok && a.Int != nil {
		chosen = a.Int
	}
	var after textBlock
	if chosen != nil {
		after = p.set(plain(fmt.Sprintf("= %d", *chosen), stAnswer), 20)
	} else if p.answers != nil {
		after = p.set(plain("not answered", stHint), 20)
	}
	h := max(q.h, bh) + 1.2
	return []pageRow{{h: h, draw: func(y float64) {
		p.drawBlock(q, x, y+(h-q.h)/2, lw, alignLeft)
		bx := x + lw + 2
		by := y + (h-bh)/2
		p.pdf.SetLineWidth(0.3)
		for v := lo; v <= hi; v++ {
			st := textStyle{size: 8, color: colInk}
			p.pdf.SetDrawColor(60, 60, 60)
			if chosen != nil && *chosen == v {
				c := stAnswer.color
				p.pdf.SetFillColor(c.r, c.g, c.b)
				p.pdf.Rect(bx, by, bw-0.8, bh, "FD")
				st = textStyle{size: 8, bold: true, color: colWhite}
			} else {
				p.pdf.Rect(bx, by, bw-0.8, bh, "D")
			}
			nb := p.set(plain(strconv.Itoa(v), st), bw)
			p.drawBlock(nb, bx, by+(bh-nb.h)/2, bw-0.8, alignCenter)
			bx += bw
		}
		if len(after.lines) > 0 {
			p.drawBlock(after, bx+2, y+(h-after.h)/2, 20, alignLeft)
		}
		p.rule(x, y+h, w)
	}}}
}

// lineRows is a one-line answer: the question, then a line to write on (or
// the recorded answer).
func (p *packet) lineRows(it *Item, x, w float64, prefix, hint string) []pageRow {
	q := p.set(questionLabel(prefix, it.Text), w)
	qw := q.lines[len(q.lines)-1].w
	value := ""
	if a, ok := p.answer(it); ok {
		switch {
		case a.Int != nil:
			value = strconv.Itoa(*a.Int)
		case a.Bool != nil:
			value = map[bool]string{true: "Yes", false: "No"}[*a.Bool]
		case len(a.Codes) > 0:
			value = strings.Join(a.Codes, ", ")
		default:
			value = a.Text
		}
	}
	inline := len(q.lines) == 1 && qw <= w*0.55
	lx, lw := x, w
	var rows []pageRow
	if inline {
		lx, lw = x+qw+3, w-qw-3
	} else {
		for _, l := range q.lines {
			rows = append(rows, pageRow{h: l.h, keep: true, draw: func(y float64) { p.drawLine(l, x, y, w, alignLeft) }})
		}
	}
	var vb textBlock
	switch {
	case value != "":
		vb = p.fit(plain(value, stAnswer), lw, 1, minValuePt)
	case p.answers != nil:
		vb = p.set(plain("not answered", stHint), lw)
	}
	if len(vb.lines) > 1 {
		// A long answer: the question, then the answer line by line.
		if inline {
			rows = append(rows, pageRow{h: q.h, keep: true, draw: func(y float64) { p.drawBlock(q, x, y, w, alignLeft) }})
		}
		for i, l := range vb.lines {
			rows = append(rows, pageRow{h: l.h, keep: i == 0, draw: func(y float64) { p.drawLine(l, x+4, y, w-4, alignLeft) }})
		}
		return append(rows, spacer(1.5))
	}
	h := writeLineH
	var hb textBlock
	if hint != "" && value == "" && p.answers == nil {
		hb = p.set(plain(hint, stHint), lw)
	}
	rows = append(rows, pageRow{h: h, draw: func(y float64) {
		if inline {
			p.drawBlock(q, x, y+h-q.h-0.8, w, alignLeft)
		}
		if len(vb.lines) == 1 {
			p.drawBlock(vb, lx+1, y+h-vb.h-0.8, lw-1, alignLeft)
		}
		if len(hb.lines) == 1 {
			p.drawBlock(hb, lx, y+h-hb.h-0.8, lw-1, alignRight)
		}
		p.pdf.SetDrawColor(colLightGrey.r, colLightGrey.g, colLightGrey.b)
		p.pdf.SetLineWidth(0.25)
		p.pdf.Line(lx, y+h-0.5, lx+lw, y+h-0.5)
	}})
	return rows
}

// textAnswerRows is a free-text question: lines to write on, or the
// recorded answer line by line (continuing on the next page when long).
func (p *packet) textAnswerRows(it *Item, x, w float64, prefix string) []pageRow {
	rows := p.textRows(questionLabel(prefix, it.Text), x, w, alignLeft, 0)
	for i := range rows {
		rows[i].keep = true
	}
	rows = append([]pageRow{spacer(1)}, rows...)
	rows[0].keep = true
	if a, ok := p.answer(it); ok && a.Text != "" {
		ar := p.textRows(plain(a.Text, stAnswerText), x+4, w-4, alignLeft, 0)
		return append(append(rows, ar...), spacer(1.5))
	}
	if p.answers != nil {
		return append(rows, p.textRows(plain("not answered", stHint), x+4, w-4, alignLeft, 0)...)
	}
	n := 2
	if it.Required {
		n = 3
	}
	for i := 0; i < n; i++ {
		rows = append(rows, pageRow{h: writeLineH, keep: i < n-1, draw: func(y float64) {
			p.pdf.SetDrawColor(colLightGrey.r, colLightGrey.g, colLightGrey.b)
			p.pdf.SetLineWidth(0.25)
			p.pdf.Line(x, y+writeLineH-0.5, x+w, y+writeLineH-0.5)
		}})
	}
	return rows
}

// startBackScoreRow prints the STarT Back result of a completed intake under
// the tool (ScoreStartBack: total, psychosocial subscale and risk group, or
// how many items are answered when not all are).
func (p *packet) startBackScoreRow(g *Item) ([]pageRow, bool) {
	if p.answers == nil || g.LinkID != "startback" {
		return nil, false
	}
	res, ok := ScoreStartBack(p.tpl, p.answers)
	if !ok {
		return nil, false
	}
	style := stAnswer
	if !res.Complete {
		style = stHint
	}
	return p.textRows(plain(res.Describe()+".", style), p.left, p.w, alignLeft, 5.5), true
}

// ---- red-flag screen, consent and signatures ----

const defaultStaffInstruction = "Staff: any YES → notify the practitioner before treatment. Weakness, saddle numbness, or bladder or bowel changes (possible cauda equina) → same-day medical assessment. This screen does not diagnose."

// redFlagSection is the boxed, highlighted red-flag screen: every item with
// YES and NO boxes, and the staff instruction.
func (p *packet) redFlagSection() {
	var group *Item
	p.tpl.Walk(func(it *Item) {
		if group == nil && isRedFlagGroup(it) {
			group = it
		}
	})
	items := p.tpl.RedFlagItems()
	if len(items) == 0 {
		return
	}
	title := "Safety questions (red-flag screen)"
	var intro, staff []string
	if group != nil {
		title = group.Text
		seen := false
		for i := range group.Item {
			it := &group.Item[i]
			if _, ok := it.RedFlag(); ok {
				seen = true
				continue
			}
			if it.Type == TypeDisplay {
				if seen {
					staff = append(staff, it.Text)
				} else {
					intro = append(intro, it.Text)
				}
			}
		}
	}
	if len(staff) == 0 {
		staff = []string{defaultStaffInstruction}
	}
	x, w := p.left+4, p.w-8
	var rows []pageRow
	rows = append(rows, p.textRows(plain(title, textStyle{size: 13, bold: true, color: colDarkRed}), x, w, alignLeft, 0)...)
	for _, t := range intro {
		rows = append(rows, p.textRows(plain(t, textStyle{size: 9.5, bold: true, color: colInk}), x, w, alignLeft, 0)...)
	}
	rows = append(rows, spacer(1.5))
	yesNo := []Coding{{Code: "yes", Display: "YES"}, {Code: "no", Display: "NO"}}
	for i, it := range items {
		opts := make([]textBlock, 2)
		ow := 0.0
		for j, o := range yesNo {
			st := textStyle{size: 9.5, bold: true, color: colInk}
			box := boxEmpty
			if p.chosen(it, o.Code) {
				box = boxChecked
				if o.Code == "yes" {
					st.color = colDarkRed
				}
			}
			opts[j] = p.set([]textPiece{{box + " ", stBox}, {o.Display, st}}, w)
		}
		colW := max(opts[0].lines[0].w, opts[1].lines[0].w) + 5
		ow = 2 * colW
		qst := textStyle{size: 9.5, color: colBlack}
		if p.chosen(it, "yes") {
			qst = textStyle{size: 9.5, bold: true, color: colDarkRed}
		}
		q := p.set(plain(fmt.Sprintf("%d. %s", i+1, it.Text), qst), w-ow-3)
		h := q.h + 2.2
		shade := i%2 == 0
		rows = append(rows, pageRow{h: h, draw: func(y float64) {
			if shade {
				p.pdf.SetFillColor(255, 250, 228)
				p.pdf.Rect(x-1, y, w+2, h, "F")
			}
			p.drawBlock(q, x, y+1.1, w-ow-3, alignLeft)
			ox := x + w - ow
			for _, o := range opts {
				p.drawBlock(o, ox, y+(h-o.lines[0].h)/2, colW, alignLeft)
				ox += colW
			}
		}})
	}
	rows = append(rows, spacer(2))
	// The staff instruction, in a white box inside the screen.
	var inner []pageRow
	for _, t := range staff {
		inner = append(inner, p.textRows(plain(t, textStyle{size: 9.5, bold: true, color: colDarkRed}), x+3, w-6, alignLeft, 0)...)
	}
	inner = append(inner, spacer(1.5))
	inner = append(inner, p.textRows(plain("Reviewed by ____________________   Time ________   "+boxEmpty+" Practitioner notified   "+boxEmpty+" Same-day assessment arranged", textStyle{size: 8.5, color: colInk}), x+3, w-6, alignLeft, 6)...)
	innerH := 3.0
	for _, r := range inner {
		innerH += r.h
	}
	rows = append(rows, pageRow{h: innerH, draw: func(y float64) {
		p.pdf.SetFillColor(255, 255, 255)
		p.pdf.SetDrawColor(colDarkRed.r, colDarkRed.g, colDarkRed.b)
		p.pdf.SetLineWidth(0.6)
		p.pdf.Rect(x, y, w, innerH, "FD")
		yy := y + 1.5
		for _, r := range inner {
			if r.draw != nil {
				r.draw(yy)
			}
			yy += r.h
		}
	}})
	p.flow(p.boxed(rows, colDarkRed, colour{255, 241, 200}, 1.4, 3), true)
}

// consentSection is the consent statement and the signature lines.
func (p *packet) consentSection() {
	clinic := strings.TrimSpace(p.in.Clinic.Name)
	if clinic == "" {
		clinic = "this clinic"
	}
	rows := p.sectionRows("Consent")
	text := "I confirm that the information I have given is correct and complete to the best of my knowledge, and I will tell the clinic of any change. " +
		"I understand that acupuncture is usually safe but can cause bruising, soreness, light-headedness or, rarely, more serious effects, which the practitioner will explain. " +
		"I may ask questions and may stop treatment at any time. I consent to assessment and treatment at " + clinic + ". " +
		"My information is kept confidential and used for my care."
	rows = append(rows, p.textRows(plain(text, textStyle{size: 9, color: colInk}), p.left, p.w, alignLeft, 0)...)
	rows = append(rows, spacer(2))
	sig := func(who string) pageRow {
		const h = 13.0
		return pageRow{h: h, draw: func(y float64) {
			cols := []struct {
				caption string
				frac    float64
			}{{who, 0.45}, {"Printed name", 0.35}, {"Date", 0.2}}
			cx := p.left
			p.pdf.SetDrawColor(60, 60, 60)
			p.pdf.SetLineWidth(0.3)
			for _, c := range cols {
				cw := p.w*c.frac - 5
				p.pdf.Line(cx, y+8, cx+cw, y+8)
				p.text(plain(c.caption, stLabel), cx, y+8.6, cw, alignLeft)
				cx += p.w * c.frac
			}
		}}
	}
	rows = append(rows,
		sig("Signature of patient"),
		sig("Signature of parent or guardian (if the patient is under 18)"),
		sig("Signature of staff witness"))
	p.flow(rows, true)
}

// build lays out the whole packet.
func (p *packet) build() {
	p.newPage()
	if p.answers != nil {
		p.flow(p.noticeRows(), true)
	}
	p.patientSection()
	p.visitSection()
	p.questionnaire()
	p.newPage()
	p.redFlagSection()
	p.consentSection()
}
