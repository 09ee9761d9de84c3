package forms

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"
)

// Clinic is what the packet prints about the clinic on every page.
type Clinic struct {
	Name, Address, Phone string
}

// Paper is the paper size a packet is printed on.
type Paper string

// The paper sizes a packet can be printed on.
const (
	Letter Paper = "Letter"
	A4     Paper = "A4"
)

// PacketPatient is what the clinic knows about the patient; anything empty
// prints as a line to write on.
type PacketPatient struct {
	ID               uint64
	GivenName        string
	FamilyName       string
	PreferredName    string
	DateOfBirth      string // YYYY-MM-DD
	Sex              string
	Phones           []string
	Email            string
	Address          string
	Language         string
	EmergencyContact string
	Notes            string
}

// Booking is the booking request a packet was printed for, if any.
type Booking struct {
	Requested time.Time // the appointment asked for; zero when not known
	Reason    string
	Source    string // where the request came from, e.g. "email", "phone"
}

// PacketIntake is a stored evaluation intake to print with its answers.
type PacketIntake struct {
	ID               uint64
	Template         *Template // the version the intake answered
	Answers          Answers
	Status           string // "draft" or "completed"
	AcknowledgedBy   string // staff who acknowledged an urgent screen
	AcknowledgedAt   time.Time
	IncompleteReason string // why the red-flag screen was left incomplete
}

// PacketInput is everything a packet prints.
type PacketInput struct {
	Clinic    Clinic
	Paper     Paper // Letter when empty
	Patient   PacketPatient
	Template  *Template     // for a blank packet; nil means the current evaluation form
	Intake    *PacketIntake // nil prints a blank packet to fill in by hand
	Booking   *Booking
	PrintedAt time.Time // printed on every page and used as the PDF's dates; now when zero
}

// PacketResult describes a rendered packet.
type PacketResult struct {
	Pages int
	// Missing lists characters no embedded font has, in code point order.
	// Each printed as a visible placeholder (�).
	Missing []rune
	Bytes   int
}

// RenderPacket writes the intake packet as a PDF to w. The same input and
// PrintedAt give the same bytes.
func RenderPacket(w io.Writer, in PacketInput) (PacketResult, error) {
	fonts, err := loadFonts()
	if err != nil {
		return PacketResult{}, err
	}
	tpl := in.Template
	if in.Intake != nil {
		tpl = in.Intake.Template
		if tpl == nil {
			return PacketResult{}, &Error{Msg: "the intake does not say which form version it answered"}
		}
	}
	if tpl == nil {
		if tpl, err = Current(EvaluationID); err != nil {
			return PacketResult{}, err
		}
	}
	if in.PrintedAt.IsZero() {
		in.PrintedAt = time.Now()
	}
	paper := Letter
	switch {
	case in.Paper == "" || strings.EqualFold(string(in.Paper), string(Letter)):
	case strings.EqualFold(string(in.Paper), string(A4)):
		paper = A4
	default:
		return PacketResult{}, &Error{Msg: fmt.Sprintf("unknown paper size %q; choose Letter or A4", in.Paper)}
	}
	p := newPacket(in, tpl, paper, fonts)
	p.build()
	cw := &packetCountingWriter{w: w}
	if err := p.pdf.Output(cw); err != nil { // fpdf's error is sticky: this is the one check
		var fe *Error
		switch {
		case errors.As(err, &fe):
			return PacketResult{}, fe
		case cw.err != nil:
			return PacketResult{}, &Error{Msg: "could not write the packet: " + cw.err.Error()}
		}
		return PacketResult{}, &Error{Msg: "could not make the packet: " + err.Error()}
	}
	res := PacketResult{Pages: p.pdf.PageNo(), Bytes: cw.n}
	for r := range p.missing {
		res.Missing = append(res.Missing, r)
	}
	slices.Sort(res.Missing)
	return res, nil
}

type packetCountingWriter struct {
	w   io.Writer
	n   int
	err error
}

func (c *packetCountingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += n
	if err != nil {
		c.err = err
	}
	return n, err
}

// PacketFileName is the file name a packet is saved under:
// "<family>-<given>-<YYYY-MM-DD>-intake.pdf" with the date of at. Letters
// and digits of any script are kept; anything else (path separators,
// punctuation, control characters) becomes a hyphen. A patient without a
// usable name is "patient-<id>-<date>-intake.pdf".
func PacketFileName(p PacketPatient, at time.Time) string {
	var parts []string
	for _, s := range []string{p.FamilyName, p.GivenName} {
		if c := fileNamePart(s); c != "" {
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		parts = []string{"patient-" + strconv.FormatUint(p.ID, 10)}
	}
	return strings.Join(parts, "-") + "-" + at.Format("2006-01-02") + "-intake.pdf"
}

// fileNamePart keeps the letters, marks and digits of s, with single hyphens
// between words, at most 40 characters.
func fileNamePart(s string) string {
	var b strings.Builder
	n, gap := 0, false
	for _, r := range s {
		if n >= 40 {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || (unicode.IsMark(r) && b.Len() > 0) {
			if gap && b.Len() > 0 {
				b.WriteByte('-')
				n++
			}
			gap = false
			b.WriteRune(r)
			n++
			continue
		}
		gap = true
	}
	return b.String()
}

// SavePacket renders the packet into dir (created, private to the user,
// when missing) under PacketFileName. The file appears whole or not at all,
// and never replaces another packet: a second packet the same day is
// "…-intake-2.pdf".
func SavePacket(dir string, in PacketInput) (path string, res PacketResult, err error) {
	if in.PrintedAt.IsZero() {
		in.PrintedAt = time.Now()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", PacketResult{}, &Error{Msg: "could not create the packets folder: " + err.Error()}
	}
	tmp, err := os.CreateTemp(dir, ".packet-*.tmp")
	if err != nil {
		return "", PacketResult{}, &Error{Msg: "could not save the packet: " + err.Error()}
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if res, err = RenderPacket(tmp, in); err != nil {
		return "", PacketResult{}, err
	}
	if err := tmp.Sync(); err != nil {
		return "", PacketResult{}, &Error{Msg: "could not save the packet: " + err.Error()}
	}
	if err := tmp.Close(); err != nil {
		return "", PacketResult{}, &Error{Msg: "could not save the packet: " + err.Error()}
	}
	name := PacketFileName(in.Patient, in.PrintedAt)
	base := strings.TrimSuffix(name, ".pdf")
	for n := 1; n < 1000; n++ {
		if n > 1 {
			name = fmt.Sprintf("%s-%d.pdf", base, n)
		}
		path = filepath.Join(dir, name)
		// Claim the name first so another packet is never replaced, then
		// move the finished file over the claim.
		claim, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", PacketResult{}, &Error{Msg: "could not save the packet: " + err.Error()}
		}
		claim.Close()
		if err := os.Rename(tmp.Name(), path); err != nil {
			os.Remove(path)
			return "", PacketResult{}, &Error{Msg: "could not save the packet: " + err.Error()}
		}
		tmp = nil
		return path, res, nil
	}
	return "", PacketResult{}, &Error{Msg: "could not save the packet: too many packets with the same name in " + dir}
}

// packet is one document being laid out.
type packet struct {
	in      PacketInput
	tpl     *Template
	answers Answers // nil for a blank packet
	pdf     *fpdf.Fpdf
	fonts   *fontSet
	missing map[rune]bool
	blocks  map[int]bool // Droid blocks loaded into this document
	loaded  [numKinds]bool
	full    bool // the input needs the whole DejaVu fonts
	// cjkSubset holds the CJK characters of the input, loaded as a small
	// font of their own (see cjkSeenFont).
	cjkSubset map[rune]bool

	pageW, pageH   float64
	left, w        float64 // content column
	top, bottom, y float64 // content area of the page and the cursor
	header         headerLayout
	cur            fontKey // font last selected in the document
	curColor       colour
	colorSet       bool
	printed        string // printed-at text
	copyrightDone  bool   // the template's copyright statement is printed
}

type fontKey struct {
	kind, block int
	size        float64
}

const (
	marginX      = 14.0
	marginTop    = 9.0
	footerHeight = 13.0
)

func newPacket(in PacketInput, tpl *Template, paper Paper, fonts *fontSet) *packet {
	p := &packet{
		in:      in,
		tpl:     tpl,
		fonts:   fonts,
		missing: make(map[rune]bool),
		blocks:  make(map[int]bool),
		cur:     fontKey{kind: -1},
	}
	if in.Intake != nil {
		p.answers = in.Intake.Answers
		if p.answers == nil {
			p.answers = Answers{}
		}
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: string(paper)})
	p.pdf = pdf
	p.pageW, p.pageH = pdf.GetPageSize()
	p.left, p.w = marginX, p.pageW-2*marginX
	pdf.SetMargins(marginX, marginTop, marginX)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(in.PrintedAt)
	pdf.SetModificationDate(in.PrintedAt)
	pdf.AliasNbPages("{nb}")
	pdf.SetCreator("Front Desk", true)
	pdf.SetTitle("Intake packet", true)
	p.prescan()
	p.printed = in.PrintedAt.Format("2006-01-02 15:04 MST")
	p.header = p.layoutHeader()
	p.top = marginTop + p.header.h + 4
	p.bottom = p.pageH - footerHeight - 3
	pdf.SetHeaderFunc(p.drawHeader)
	pdf.SetFooterFunc(p.drawFooter)
	return p
}

// prescan reads every text the input brings (the packet's own wording is
// in the core fonts) to choose the fonts before layout: the whole DejaVu
// fonts when a character is beyond the core, and one small font holding
// the CJK characters. Anything it misses is still printed right: place()
// loads whole fonts (or a block of Droid) on demand.
func (p *packet) prescan() {
	var texts []string
	add := func(ss ...string) { texts = append(texts, ss...) }
	c, pt := p.in.Clinic, p.in.Patient
	add(c.Name, c.Address, c.Phone)
	add(pt.GivenName, pt.FamilyName, pt.PreferredName, pt.DateOfBirth, pt.Sex, pt.Email, pt.Address, pt.Language, pt.EmergencyContact, pt.Notes)
	add(pt.Phones...)
	if b := p.in.Booking; b != nil {
		add(b.Reason, b.Source)
	}
	if in := p.in.Intake; in != nil {
		add(in.AcknowledgedBy, in.IncompleteReason, in.Status)
		for _, a := range in.Answers {
			add(a.Text)
			add(a.Codes...)
		}
	}
	add(p.tpl.Title, p.tpl.Copyright)
	p.tpl.Walk(func(it *Item) {
		add(it.Text)
		for _, o := range it.AnswerOption {
			add(o.ValueCoding.Display)
		}
	})
	core, full, cjk := p.fonts.face(kindRegular), p.fonts.face(kindRegularFull), p.fonts.face(kindCJK)
	p.cjkSubset = map[rune]bool{}
	for _, t := range texts {
		if !norm.NFC.IsNormalString(t) {
			t = norm.NFC.String(t)
		}
		for _, r := range t {
			switch {
			case core.has(r):
			case full.has(r):
				p.full = true
			case cjk.has(r):
				p.cjkSubset[r] = true
			}
		}
	}
	if len(p.cjkSubset) == 0 {
		return
	}
	runes := slices.Sorted(maps.Keys(p.cjkSubset))
	seen, err := cjkSeenFont(cjk, runes)
	if err != nil {
		p.pdf.SetError(err)
		p.cjkSubset = nil
		return
	}
	p.pdf.AddUTF8FontFromBytes(cjkFamily(subsetBlock), "", fpdf.UTF8CutFont(seen, string(runes)))
}

// needFont loads a DejaVu font into the document.
func (p *packet) needFont(kind int) {
	if p.loaded[kind] {
		return
	}
	p.loaded[kind] = true
	f := p.fonts.face(kind)
	p.pdf.AddUTF8FontFromBytes(f.family, f.fpdfStyle, f.data)
}

// needBlock loads a block of Droid Sans Fallback into the document.
func (p *packet) needBlock(block int) {
	if p.blocks[block] {
		return
	}
	p.blocks[block] = true
	b, err := cjkBlockFont(p.fonts.face(kindCJK), block)
	if err != nil {
		p.pdf.SetError(err)
		return
	}
	p.pdf.AddUTF8FontFromBytes(cjkFamily(block), "", b)
}

// useFont selects a run's font, size and colour in the document.
func (p *packet) useFont(kind, block int, st textStyle) {
	k := fontKey{kind: kind, block: block, size: st.size}
	if kind != kindCJK {
		k.block = 0
	}
	if k != p.cur {
		if kind == kindCJK {
			p.pdf.SetFont(cjkFamily(block), "", st.size)
		} else {
			f := p.fonts.face(kind)
			p.pdf.SetFont(f.family, f.fpdfStyle, st.size)
		}
		p.cur = k
	}
	if !p.colorSet || st.color != p.curColor {
		p.pdf.SetTextColor(st.color.r, st.color.g, st.color.b)
		p.curColor, p.colorSet = st.color, true
	}
}

// forget makes the next text select its font and colour again (after fpdf
// has drawn a header or footer, or started a page).
func (p *packet) forget() {
	p.cur = fontKey{kind: -1}
	p.colorSet = false
}
