package forms

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"

	"frontdesk/assets"
)

// fpdf reports a font it cannot read only on stdout and fails later with
// "undefined font", so the embedded fonts are checked here: each must be a
// TrueType font that sfnt reads, that fpdf embeds without error, and whose
// widths as the packet measures them agree with fpdf's.
func TestEmbeddedFonts(t *testing.T) {
	fonts, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		face   *fontFace
		data   []byte
		sample string
		lacks  string
	}{
		{fonts.face(kindRegularFull), assets.DejaVuSans, "Zoë Nguyễn-Łukasz Ольга José Ñúñez ☐☑✓ — “saddle” → ©", "李小龙"},
		{fonts.face(kindBoldFull), assets.DejaVuSansBold, "Zoë Nguyễn-Łukasz Ольга José Ñúñez ☐☑ — →", "李"},
		{fonts.face(kindRegular), fonts.face(kindRegular).data, "José Ñúñez Łukasz ☐☑ — “saddle” → © �", "ễОльга李"},
		{fonts.face(kindBold), fonts.face(kindBold).data, "José Ñúñez Łukasz ☐☑ — →", "ễОльга李"},
		{fonts.face(kindCJK), assets.DroidSansFallback, "李小龙東京鍼灸院さくらカタカナ", "\uE000김"},
	}
	for _, tc := range tests {
		t.Run(tc.face.name, func(t *testing.T) {
			for _, r := range tc.sample {
				if r != ' ' && !tc.face.has(r) {
					t.Errorf("%s lacks %q", tc.face.name, r)
				}
			}
			for _, r := range tc.lacks {
				if tc.face.has(r) {
					t.Errorf("%s claims %q", tc.face.name, r)
				}
			}
			pdf := fpdf.New("P", "mm", "A4", "")
			pdf.AddUTF8FontFromBytes("f", "", tc.data)
			pdf.AddPage()
			pdf.SetFont("f", "", 10)
			sample := strings.ReplaceAll(tc.sample, " ", "")
			got := 0.0
			for _, r := range sample {
				got += float64(tc.face.widths[r]) * 10 / 1000 * ptMM
			}
			if want := pdf.GetStringWidth(sample); math.Abs(got-want) > 0.01 {
				t.Errorf("width of %q: packet measures %.3f mm, fpdf %.3f mm", sample, got, want)
			}
			pdf.Text(10, 10, tc.sample)
			if err := pdf.Output(&bytes.Buffer{}); err != nil {
				t.Errorf("fpdf cannot embed %s: %v", tc.face.name, err)
			}
		})
	}
}

func TestReadFaceRefusesWhatFpdfCannotEmbed(t *testing.T) {
	for name, data := range map[string][]byte{
		"OpenType CFF": append([]byte("OTTO"), make([]byte, 64)...),
		"collection":   append([]byte("ttcf"), make([]byte, 64)...),
		"truncated":    assets.DejaVuSans[:100],
		"empty":        nil,
	} {
		if _, err := readFace(name, "x", "", data); err == nil {
			t.Errorf("%s: want an error", name)
		} else if !strings.Contains(err.Error(), "damaged") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCJKBlockFont(t *testing.T) {
	fonts, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cjkBlockFont(fonts.face(kindCJK), '李'>>cjkBlockBits)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= len(assets.DroidSansFallback)/4 {
		t.Errorf("a block of Droid Sans Fallback is %d bytes", len(b))
	}
	face, err := readFace("block", "b", "", b)
	if err != nil {
		t.Fatal(err)
	}
	if !face.has('李') || face.widths['李'] != fonts.face(kindCJK).widths['李'] {
		t.Error("the cut block lost 李 or its width")
	}
}
