package forms

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"frontdesk/assets"
)

// The packet is set in DejaVu Sans (regular and bold); characters DejaVu
// lacks (Chinese, Japanese, Korean) come from Droid Sans Fallback. fpdf has no
// font fallback of its own, so every run of text is split by the first font
// that has each character, using coverage tables read once per process.
//
// fpdf parses and subsets every font afresh for every document, which is
// most of the time a packet takes, and Droid Sans Fallback is 4 MB with
// 49,000 glyphs (about 50 ms per document). So a document loads small cuts:
//
//   - DejaVu "core" cuts (Latin-1, Latin Extended-A, punctuation, the
//     packet's symbols), or the whole DejaVu fonts when its text needs more
//     (Vietnamese, Cyrillic…), chosen before layout;
//   - one CJK font holding exactly its CJK characters, cut from a
//     per-process cut of Droid holding every CJK character printed so far
//     (cjkSeenFont), so that the whole of Droid is re-read only when a
//     packet brings a character not seen before;
//   - should layout meet a character the scan before it missed, the
//     1,024-character block of Droid that holds it (cjkBlockFont).
//
// Korean: Droid Sans Fallback has only some Hangul syllables; the others
// print as the placeholder and are reported as missing.

// fontFace is one embedded font with what the layout needs to know about it.
type fontFace struct {
	name      string       // for messages
	family    string       // fpdf family name
	fpdfStyle string       // fpdf style: "" or "B"
	data      []byte       // the TrueType file
	covered   [1024]uint64 // bit per BMP code point: the font has a glyph
	widths    []uint16     // advance per BMP code point, in 1/1000 em, as fpdf computes it
}

// has reports whether the font has a glyph for r. fpdf reads only the BMP
// (cmap format 4), so anything above U+FFFF is never covered.
func (f *fontFace) has(r rune) bool {
	if r < 0 || r > 0xFFFF {
		return false
	}
	return f.covered[r>>6]&(1<<(uint(r)&63)) != 0
}

// fontSet is the packet's fonts, parsed once per process. Besides the
// whole DejaVu fonts it holds "core" cuts of them (Latin-1, Latin
// Extended-A, punctuation and the symbols the packet uses): fpdf parses
// and subsets a font for every document, which costs about 8 ms for the
// whole of DejaVu Sans and 2 ms for the core. A document loads the whole
// font only when its text has a character the core lacks.
type fontSet struct {
	faces [numKinds]*fontFace // by kind; faces[kindCJK] is the whole Droid font
}

func (s *fontSet) face(kind int) *fontFace { return s.faces[kind] }

// coreRunes are the characters of the core cuts.
func coreRunes() string {
	var b strings.Builder
	for _, rg := range [][2]rune{{0x20, 0x7E}, {0xA0, 0x17F}, {0x2000, 0x206F}} {
		for r := rg[0]; r <= rg[1]; r++ {
			b.WriteRune(r)
		}
	}
	b.WriteString("☐☑✓→←•−≤≥€™\uFFFD")
	return b.String()
}

var packetFonts struct {
	once sync.Once
	set  *fontSet
	err  error
}

// loadFonts returns the packet's fonts, reading their coverage and widths
// and cutting the core fonts on first use.
func loadFonts() (*fontSet, error) {
	packetFonts.once.Do(func() {
		packetFonts.set, packetFonts.err = readFonts()
	})
	return packetFonts.set, packetFonts.err
}

func readFonts() (*fontSet, error) {
	var s fontSet
	var err error
	if s.faces[kindRegularFull], err = readFace("DejaVu Sans", "dejavufull", "", assets.DejaVuSans); err != nil {
		return nil, err
	}
	if s.faces[kindBoldFull], err = readFace("DejaVu Sans Bold", "dejavufull", "B", assets.DejaVuSansBold); err != nil {
		return nil, err
	}
	if s.faces[kindCJK], err = readFace("Droid Sans Fallback", "droid", "", assets.DroidSansFallback); err != nil {
		return nil, err
	}
	core := coreRunes()
	if s.faces[kindRegular], err = readFace("DejaVu Sans (core)", "dejavu", "", fpdf.UTF8CutFont(assets.DejaVuSans, core)); err != nil {
		return nil, err
	}
	if s.faces[kindBold], err = readFace("DejaVu Sans Bold (core)", "dejavu", "B", fpdf.UTF8CutFont(assets.DejaVuSansBold, core)); err != nil {
		return nil, err
	}
	return &s, nil
}

// readFace parses a TrueType font and tabulates its BMP coverage and widths.
// It refuses what fpdf cannot embed (OpenType CFF, collections), which fpdf
// itself would only report on stdout.
func readFace(name, family, fpdfStyle string, data []byte) (*fontFace, error) {
	bad := func(why string) error {
		return &Error{Msg: fmt.Sprintf("the packet font %s is damaged (%s); reinstall Front Desk", name, why)}
	}
	if len(data) < 12 {
		return nil, bad("file too short")
	}
	if magic := string(data[:4]); magic != "\x00\x01\x00\x00" && magic != "true" {
		return nil, bad("not a TrueType font")
	}
	f, err := sfnt.Parse(data)
	if err != nil {
		return nil, bad(err.Error())
	}
	upem := int(f.UnitsPerEm())
	if upem <= 0 {
		return nil, bad("no units per em")
	}
	face := &fontFace{name: name, family: family, fpdfStyle: fpdfStyle, data: data, widths: make([]uint16, 0x10000)}
	var buf sfnt.Buffer
	ppem := fixed.Int26_6(upem << 6)
	n := 0
	for r := rune(0x20); r <= 0xFFFF; r++ {
		gi, err := f.GlyphIndex(&buf, r)
		if err != nil || gi == 0 {
			continue
		}
		adv, err := f.GlyphAdvance(&buf, gi, ppem, font.HintingNone)
		if err != nil {
			continue
		}
		face.covered[r>>6] |= 1 << (uint(r) & 63)
		face.widths[r] = uint16(math.Round(1000 * float64(adv) / 64 / float64(upem)))
		n++
	}
	if n == 0 {
		return nil, bad("no characters")
	}
	return face, nil
}

// cjkBlockBits is the size of a block of Droid Sans Fallback cut out on
// demand: 1<<10 = 1,024 code points.
const cjkBlockBits = 10

var cjkBlocks struct {
	sync.Mutex
	cut map[int][]byte
}

// cjkBlockFont returns Droid Sans Fallback cut down to the characters of one
// block, cutting it the first time and keeping it for later documents.
func cjkBlockFont(face *fontFace, block int) ([]byte, error) {
	cjkBlocks.Lock()
	defer cjkBlocks.Unlock()
	if b, ok := cjkBlocks.cut[block]; ok {
		return b, nil
	}
	var set strings.Builder
	for r := rune(block << cjkBlockBits); r < rune((block+1)<<cjkBlockBits); r++ {
		if face.has(r) {
			set.WriteRune(r)
		}
	}
	b := fpdf.UTF8CutFont(face.data, set.String())
	if _, err := sfnt.Parse(b); err != nil || !bytes.HasPrefix(b, []byte("\x00\x01\x00\x00")) {
		return nil, &Error{Msg: fmt.Sprintf("could not prepare the %s font for characters U+%04X…", face.name, block<<cjkBlockBits)}
	}
	if cjkBlocks.cut == nil {
		cjkBlocks.cut = make(map[int][]byte)
	}
	cjkBlocks.cut[block] = b
	return b, nil
}

var cjkSeen struct {
	sync.Mutex
	runes map[rune]bool
	font  []byte
}

// cjkSeenFont returns Droid Sans Fallback cut down to every CJK character
// the process has printed so far, first adding runes to them if needed.
// Cutting from the whole font costs about 60 ms, so it happens only when a
// packet brings a character not seen before; cutting a document's own few
// characters from this small font costs about a millisecond.
func cjkSeenFont(face *fontFace, runes []rune) ([]byte, error) {
	cjkSeen.Lock()
	defer cjkSeen.Unlock()
	grow := false
	for _, r := range runes {
		if !cjkSeen.runes[r] {
			grow = true
			break
		}
	}
	if !grow {
		return cjkSeen.font, nil
	}
	if cjkSeen.runes == nil {
		cjkSeen.runes = make(map[rune]bool)
	}
	all := maps.Clone(cjkSeen.runes)
	for _, r := range runes {
		all[r] = true
	}
	var set strings.Builder
	for _, r := range slices.Sorted(maps.Keys(all)) {
		set.WriteRune(r)
	}
	b := fpdf.UTF8CutFont(face.data, set.String())
	if _, err := sfnt.Parse(b); err != nil {
		return nil, &Error{Msg: fmt.Sprintf("could not prepare the %s font", face.name)}
	}
	cjkSeen.runes, cjkSeen.font = all, b
	return b, nil
}

// subsetBlock is the "block" of the document's own CJK font, which holds
// the CJK characters of its input.
const subsetBlock = 1 << 12

// cjkFamily is the fpdf family name of one cut block of Droid Sans
// Fallback, or of the document's own CJK font.
func cjkFamily(block int) string {
	if block == subsetBlock {
		return "droidsubset"
	}
	return fmt.Sprintf("droid%03x", block)
}
