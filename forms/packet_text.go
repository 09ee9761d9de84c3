package forms

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// This file sets text for the packet: it splits text into runs by the first
// font that has each character, wraps it to a width, shrinks it when asked,
// and draws it. Widths come from the fonts' own tables, read once per
// process, so measuring never touches the document.

// colour is a colour (RGB).
type colour struct{ r, g, b int }

var (
	colBlack     = colour{0, 0, 0}
	colInk       = colour{25, 25, 25}
	colGrey      = colour{95, 95, 95}
	colLightGrey = colour{150, 150, 150}
	colNavy      = colour{20, 45, 85}
	colDarkRed   = colour{165, 0, 0}
	colAmber     = colour{170, 95, 0}
	colWhite     = colour{255, 255, 255}
)

// textStyle is how a piece of text is set.
type textStyle struct {
	size  float64 // points
	bold  bool
	color colour
}

// textPiece is text in one style; a paragraph is a list of pieces.
type textPiece struct {
	text string
	st   textStyle
}

func plain(text string, st textStyle) []textPiece { return []textPiece{{text, st}} }

// placeholder is printed for a character no embedded font has.
const placeholder = '\uFFFD'

// ptMM converts points to millimetres.
const ptMM = 25.4 / 72

// lineHeight is the height of a line of text in the size, in mm.
func lineHeight(size float64) float64 { return size * ptMM * 1.22 }

// face kinds of a character.
const (
	kindRegular     = iota // core cut of DejaVu Sans
	kindBold               // core cut of DejaVu Sans Bold
	kindRegularFull        // DejaVu Sans
	kindBoldFull           // DejaVu Sans Bold
	kindCJK                // Droid Sans Fallback, by block
	numKinds
)

// glyphCell is one character placed in a style and font.
type glyphCell struct {
	r     rune
	st    textStyle
	kind  int
	block int // Droid block for kindCJK
	w     float64
}

// glyphRun is a run of characters in one font and style on one line.
type glyphRun struct {
	text  string
	kind  int
	block int
	st    textStyle
	w     float64
}

// textLine is one line of set text.
type textLine struct {
	runs []glyphRun
	w    float64
	h    float64 // line height
	size float64 // largest size on the line
}

// textBlock is a paragraph set to a width.
type textBlock struct {
	lines []textLine
	h     float64
}

// cells turns pieces into characters with fonts and widths. Characters no
// font has become the placeholder and are recorded as missing.
func (p *packet) cells(pcs []textPiece) []glyphCell {
	var out []glyphCell
	for _, plain := range pcs {
		s := plain.text
		if !norm.NFC.IsNormalString(s) {
			s = norm.NFC.String(s)
		}
		s = strings.ReplaceAll(s, "\r\n", "\n")
		for _, r := range s {
			switch r {
			case '\t', '\r', '\u00A0':
				r = ' '
			}
			c := glyphCell{r: r, st: plain.st}
			if r != '\n' {
				p.place(&c)
			}
			out = append(out, c)
		}
	}
	return out
}

// place chooses the font of one character: DejaVu Sans (bold when asked
// and it has the glyph; the core cut when it has it), then Droid Sans
// Fallback, else a placeholder.
func (p *packet) place(c *glyphCell) {
	order := [...]int{kindRegular, kindRegularFull, kindCJK}
	if c.st.bold {
		order = [...]int{kindBold, kindBoldFull, kindRegularFull}
	}
	if p.full {
		// The text needs the whole fonts anyway: use them throughout
		// rather than load both.
		order[0] = order[1]
	}
	for _, kind := range order {
		if f := p.fonts.face(kind); f.has(c.r) {
			p.setCell(c, kind)
			return
		}
	}
	if c.st.bold && p.fonts.face(kindCJK).has(c.r) {
		p.setCell(c, kindCJK)
		return
	}
	p.missing[c.r] = true
	c.r = placeholder
	p.setCell(c, order[0]) // every DejaVu cut has the placeholder
}

// setCell puts a character in a font, loading the font into the document
// the first time.
func (p *packet) setCell(c *glyphCell, kind int) {
	c.kind = kind
	if kind == kindCJK {
		if p.cjkSubset[c.r] {
			c.block = subsetBlock
		} else {
			c.block = int(c.r) >> cjkBlockBits
			p.needBlock(c.block)
		}
	} else {
		p.needFont(kind)
	}
	c.w = float64(p.fonts.face(kind).widths[c.r]) * c.st.size / 1000 * ptMM
}

// breaksAnywhere reports CJK characters between which a line may break.
func breaksAnywhere(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
}

// canBreakBefore reports whether a line may break before cells[i].
func canBreakBefore(cs []glyphCell, i int) bool {
	prev, cur := cs[i-1].r, cs[i].r
	switch {
	case cur == ' ', prev == ' ':
		return true
	case (prev == '-' || prev == '/' || prev == ',') && cur != ',' && cur != '.':
		return true
	case breaksAnywhere(prev) || breaksAnywhere(cur):
		return true
	}
	return false
}

// set wraps pieces to width w: at spaces, after hyphens and slashes, between
// CJK characters, and inside a word only when the word alone is wider than
// the line. Nothing is dropped but spaces at line ends.
func (p *packet) set(pcs []textPiece, w float64) textBlock {
	cs := p.cells(pcs)
	minSize := 0.0
	for _, plain := range pcs {
		minSize = max(minSize, plain.st.size)
	}
	var tb textBlock
	emit := func(line []glyphCell) {
		for len(line) > 0 && line[len(line)-1].r == ' ' {
			line = line[:len(line)-1]
		}
		tl := runsOf(line)
		if tl.size == 0 {
			tl.size = minSize
		}
		tl.h = lineHeight(tl.size)
		tb.lines = append(tb.lines, tl)
		tb.h += tl.h
	}
	start, n := 0, len(cs)
	for start < n {
		if cs[start].r == '\n' {
			emit(nil)
			start++
			continue
		}
		width, lastBreak, i := 0.0, -1, start
		for i < n && cs[i].r != '\n' {
			if i > start && canBreakBefore(cs, i) {
				lastBreak = i
			}
			if i > start && width+cs[i].w > w && cs[i].r != ' ' {
				break
			}
			width += cs[i].w
			i++
		}
		if i == n || cs[i].r == '\n' {
			emit(cs[start:i])
			start = i
			if i < n {
				start++ // the newline
			}
			continue
		}
		end := i
		if lastBreak > start {
			end = lastBreak
		}
		emit(cs[start:end])
		start = end
		for start < n && cs[start].r == ' ' {
			start++
		}
	}
	if len(tb.lines) == 0 {
		emit(nil)
	}
	return tb
}

// runsOf merges a line's characters into runs of one font and style.
func runsOf(line []glyphCell) textLine {
	var tl textLine
	var b strings.Builder
	for i, c := range line {
		if i == 0 || c.kind != line[i-1].kind || c.block != line[i-1].block || c.st != line[i-1].st {
			if b.Len() > 0 {
				tl.runs[len(tl.runs)-1].text = b.String()
				b.Reset()
			}
			tl.runs = append(tl.runs, glyphRun{kind: c.kind, block: c.block, st: c.st})
		}
		b.WriteRune(c.r)
		tl.runs[len(tl.runs)-1].w += c.w
		tl.w += c.w
		tl.size = max(tl.size, c.st.size)
	}
	if b.Len() > 0 {
		tl.runs[len(tl.runs)-1].text = b.String()
	}
	return tl
}

// fit sets text to width w in at most maxLines lines, shrinking it step by
// step down to minSize points. If it still needs more lines at minSize, it
// keeps them all: a long value grows its box rather than being cut.
func (p *packet) fit(pcs []textPiece, w float64, maxLines int, minSize float64) textBlock {
	tb := p.set(pcs, w)
	for scale := 0.95; len(tb.lines) > maxLines; scale -= 0.05 {
		smaller := make([]textPiece, len(pcs))
		smallest := 1e9
		for i, plain := range pcs {
			smaller[i] = plain
			smaller[i].st.size = max(minSize, plain.st.size*scale)
			smallest = min(smallest, plain.st.size*scale)
		}
		tb = p.set(smaller, w)
		if smallest <= minSize {
			break
		}
	}
	return tb
}

// textAlign is the alignment of a line within its width.
type textAlign int

const (
	alignLeft textAlign = iota
	alignRight
	alignCenter
)

// drawBlock draws set text with its top-left corner at (x, y) in width w.
func (p *packet) drawBlock(tb textBlock, x, y, w float64, al textAlign) {
	for _, l := range tb.lines {
		p.drawLine(l, x, y, w, al)
		y += l.h
	}
}

// drawLine draws one line with its top at y.
func (p *packet) drawLine(l textLine, x, y, w float64, al textAlign) {
	switch al {
	case alignRight:
		x += w - l.w
	case alignCenter:
		x += (w - l.w) / 2
	}
	base := y + l.baseline()
	for _, r := range l.runs {
		if strings.TrimSpace(r.text) != "" {
			p.useFont(r.kind, r.block, r.st)
			p.pdf.Text(x, base, r.text)
		}
		x += r.w
	}
}

// baseline is the distance from the top of the line to its baseline.
func (l textLine) baseline() float64 {
	return (l.h-l.size*ptMM*1.16)/2 + l.size*ptMM*0.93
}

// firstBaseline is the baseline of a block's first line.
func (tb textBlock) firstBaseline() float64 {
	if len(tb.lines) == 0 {
		return 0
	}
	return tb.lines[0].baseline()
}

// text sets and draws a paragraph, returning its height.
func (p *packet) text(pcs []textPiece, x, y, w float64, al textAlign) float64 {
	tb := p.set(pcs, w)
	p.drawBlock(tb, x, y, w, al)
	return tb.h
}

// width is the natural width of pieces on one line.
func (p *packet) width(pcs []textPiece) float64 {
	w := 0.0
	for _, c := range p.cells(pcs) {
		w += c.w
	}
	return w
}
