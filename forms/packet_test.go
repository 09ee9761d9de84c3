package forms

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// The packet tests read the PDFs back with poppler-utils (pdftotext,
// pdfinfo) and validate them with qpdf, as a person checking a printout
// would. CI installs both; a missing tool fails the test.

var packetTime = time.Date(2026, 11, 26, 14, 5, 0, 0, time.UTC)

var packetClinic = Clinic{Name: "Lotus Acupuncture & Back Pain Clinic", Address: "12 Harbour Street, Suite 4, Springfield, OR 97477", Phone: "+1 541 555 0134"}

// scriptsPacketPatient carries every script the packet must print.
func scriptsPacketPatient() PacketPatient {
	return PacketPatient{
		ID: 1042, GivenName: "Zoë", FamilyName: "Nguyễn-Łukasz", PreferredName: "李小龙",
		DateOfBirth: "1980-02-03", Sex: "female", Phones: []string{"+1 541 555 0199"},
		Email: "zoe@example.org", Address: "José Ñúñez, 4 Elm Road, Springfield",
		Language: "Vietnamese", EmergencyContact: "Ольга Nguyễn (sister) +1 541 555 0100",
		Notes: "Mixed: Zoë Nguyễn-Łukasz 李小龙 Ольга José Ñúñez",
	}
}

func latinPacketPatient() PacketPatient {
	return PacketPatient{ID: 7, GivenName: "José", FamilyName: "Ñúñez", DateOfBirth: "1975-06-30",
		Phones: []string{"+1 541 555 0142"}, Email: "jose@example.org", Address: "4 Elm Road, Springfield"}
}

func packetTemplate(t testing.TB) *Template {
	t.Helper()
	tpl, err := Current(EvaluationID)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// packetAnswers answers every red-flag item no, then sets the given ones yes,
// and fills in a little of the rest.
func packetAnswers(tpl *Template, yes ...string) Answers {
	a := Answers{
		"visit-reason":         Text("Low back pain for two years, worse when sitting at work."),
		"pain-location":        Codes("low-back", "leg-left"),
		"pain-duration":        Codes("gt1y"),
		"tried-pt-done":        Yes(),
		"tried-pt-outcome":     Codes("stalled"),
		"interference-sitting": Int(7),
		"nrs-now":              Int(6),
	}
	for i := 1; i <= 9; i++ {
		a[fmt.Sprintf("startback-%d", i)] = Codes("disagree")
	}
	a["startback-9"] = Codes("slightly")
	for _, it := range tpl.RedFlagItems() {
		a[it.LinkID] = No()
	}
	for _, id := range yes {
		a[id] = Yes()
	}
	return a
}

func needPacketTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed to check packets (apt-get install poppler-utils qpdf): %v", name, err)
	}
	return p
}

func runTool(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(needPacketTool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// renderPacketFile renders a packet into a temporary file.
func renderPacketFile(t testing.TB, in PacketInput) (string, PacketResult) {
	t.Helper()
	var buf bytes.Buffer
	res, err := RenderPacket(&buf, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != buf.Len() {
		t.Errorf("result says %d bytes, wrote %d", res.Bytes, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "packet.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, res
}

// pdfPageText is the text of the pages (all when first is 0).
func pdfPageText(t testing.TB, path string, first, last int) string {
	args := []string{"-enc", "UTF-8"}
	if first > 0 {
		args = append(args, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last))
	}
	return runTool(t, "pdftotext", append(args, path, "-")...)
}

func pdfPageCount(t testing.TB, path string) int {
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindStringSubmatch(runTool(t, "pdfinfo", path))
	if m == nil {
		t.Fatal("pdfinfo gave no page count")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// squashText removes white space and the YES/NO boxes, so that text wrapped
// over lines, or read around the answer column, still matches.
func squashText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	return strings.NewReplacer("☐YES", "", "☐NO", "", "☑YES", "", "☑NO", "").Replace(s)
}

func assertTextHas(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	sq := squashText(text)
	for _, w := range wants {
		if !strings.Contains(sq, squashText(w)) {
			t.Errorf("%s: %q not found in the text read back", what, w)
		}
	}
}

func TestPacketKinds(t *testing.T) {
	tpl := packetTemplate(t)
	pt := scriptsPacketPatient()
	incomplete := packetAnswers(tpl)
	delete(incomplete, "rf-fever")
	delete(incomplete, "rf-cancer")
	clear := packetAnswers(tpl)
	clear["pain-location"] = Codes("low-back", "leg-left", "retired-code")
	booking := &Booking{Requested: packetTime.Add(50 * time.Hour), Reason: "Back pain since the spring", Source: "email"}
	tests := []struct {
		name    string
		in      PacketInput
		page1   []string // must be on page 1
		notOn1  []string // must not be on page 1
		answers []string // printed answers
	}{
		{name: "blank letter", in: PacketInput{Clinic: packetClinic, Patient: pt, Booking: booking, PrintedAt: packetTime},
			page1: []string{"Patient details", "Back pain since the spring", "Sat 2026-11-28 16:05"}, notOn1: []string{"URGENT", "INCOMPLETE"}},
		{name: "blank A4", in: PacketInput{Clinic: packetClinic, Paper: A4, Patient: latinPacketPatient(), PrintedAt: packetTime}},
		{name: "blank without patient", in: PacketInput{Clinic: packetClinic, PrintedAt: packetTime}},
		{name: "completed clear", in: PacketInput{Clinic: packetClinic, Patient: latinPacketPatient(), PrintedAt: packetTime,
			Intake: &PacketIntake{ID: 3, Template: tpl, Answers: clear, Status: "completed"}},
			page1:   []string{"every safety question was answered No"},
			notOn1:  []string{"URGENT", "INCOMPLETE"},
			answers: []string{"☑ Low back", "☑ Left leg", "☑ retired-code", "☑ More than a year", "☑ Helped at first, then progress stalled", "= 7", "= 6", "Low back pain for two years", "STarT Back: low risk (total 0 of 9, psychosocial 0 of 5)"}},
		{name: "completed urgent", in: PacketInput{Clinic: packetClinic, Patient: pt, PrintedAt: packetTime,
			Intake: &PacketIntake{ID: 4, Template: tpl, Answers: packetAnswers(tpl, "rf-bladder", "rf-cancer"), Status: "completed", AcknowledgedBy: "Mary Jones", AcknowledgedAt: packetTime}},
			page1: []string{"URGENT — RED FLAGS: notify the practitioner before treatment", "same-day medical assessment",
				"New trouble passing urine, or leaking urine without control", "Have you ever had cancer?", "Acknowledged by Mary Jones"},
			notOn1:  []string{"Weight loss you cannot explain", "INCOMPLETE"},
			answers: []string{"☑ YES"}},
		{name: "incomplete", in: PacketInput{Clinic: packetClinic, Patient: latinPacketPatient(), PrintedAt: packetTime,
			Intake: &PacketIntake{ID: 5, Template: tpl, Answers: incomplete, Status: "completed", IncompleteReason: "Patient left before finishing"}},
			page1:  []string{"SCREENING INCOMPLETE", "Fever, chills or night sweats", "Have you ever had cancer?", "Patient left before finishing"},
			notOn1: []string{"URGENT", "Weight loss you cannot explain"}},
		{name: "CJK", in: PacketInput{Clinic: Clinic{Name: "東京鍼灸院", Address: "東京都新宿区西新宿2-8-1"}, Patient: PacketPatient{ID: 9, GivenName: "小龙", FamilyName: "李", DateOfBirth: "1990-01-01", Address: "北京市朝阳区", EmergencyContact: "さくら 010-1234-5678"}, PrintedAt: packetTime},
			page1: []string{"東京鍼灸院", "李, 小龙", "北京市朝阳区", "さくら"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, res := renderPacketFile(t, tc.in)
			runTool(t, "qpdf", "--check", path)
			pages := pdfPageCount(t, path)
			if res.Pages != pages {
				t.Errorf("result says %d pages, pdfinfo %d", res.Pages, pages)
			}
			if tc.in.Intake == nil && pages != 3 {
				t.Errorf("a blank packet has %d pages, want 3 (details, questionnaire, red flags + consent)", pages)
			}
			if len(res.Missing) != 0 {
				t.Errorf("missing characters %q", res.Missing)
			}
			all := pdfPageText(t, path, 0, 0)
			for n := 1; n <= pages; n++ {
				page := pdfPageText(t, path, n, n)
				assertTextHas(t, fmt.Sprintf("page %d", n), page,
					fmt.Sprintf("Page %d of %d", n, pages),
					"Confidential — protected health information", "Printed 2026-11-26 14:05 UTC")
				c := tc.in.Clinic
				assertTextHas(t, fmt.Sprintf("header of page %d", n), page, c.Name, c.Address)
				if p := tc.in.Patient; p.ID != 0 {
					assertTextHas(t, fmt.Sprintf("header of page %d", n), page, p.FamilyName, p.GivenName, p.DateOfBirth, "Patient ID "+strconv.FormatUint(p.ID, 10))
				}
			}
			p := tc.in.Patient
			var want []string
			for _, s := range []string{p.GivenName, p.FamilyName, p.PreferredName, p.Address, p.EmergencyContact, p.Email, p.Notes} {
				if s != "" {
					want = append(want, s)
				}
			}
			assertTextHas(t, "patient", all, want...)
			last := pdfPageText(t, path, pages, pages)
			var flags []string
			for _, it := range tpl.RedFlagItems() {
				flags = append(flags, it.Text)
			}
			assertTextHas(t, "red-flag page", last, flags...)
			assertTextHas(t, "red-flag page", last, "Safety questions (red-flag screen)",
				"any YES → notify the practitioner before treatment", "same-day medical assessment",
				"Signature of patient", "Signature of parent or guardian", "Signature of staff witness")
			assertTextHas(t, "questionnaire", all, "STarT Back Screening Tool © Keele University", "My back pain has spread down my leg(s)")
			page1 := squashText(pdfPageText(t, path, 1, 1))
			assertTextHas(t, "page 1", page1, tc.page1...)
			for _, s := range tc.notOn1 {
				if strings.Contains(page1, squashText(s)) {
					t.Errorf("page 1 should not show %q", s)
				}
			}
			assertTextHas(t, "answers", all, tc.answers...)
		})
	}
}

// TestPacketMixedScripts checks that one line mixing fonts reads back whole.
func TestPacketMixedScripts(t *testing.T) {
	path, res := renderPacketFile(t, PacketInput{Clinic: packetClinic, Patient: scriptsPacketPatient(), PrintedAt: packetTime})
	if len(res.Missing) != 0 {
		t.Errorf("missing %q", res.Missing)
	}
	text := pdfPageText(t, path, 1, 1)
	if !strings.Contains(text, "Zoë Nguyễn-Łukasz 李小龙 Ольга José Ñúñez") {
		t.Errorf("the mixed line did not read back as one line:\n%s", text)
	}
}

func TestPacketPlaceholder(t *testing.T) {
	pt := latinPacketPatient()
	pt.Notes = "Private use \uE000 and emoji \U0001F600 here"
	pt.GivenName = "Jo\u0007sé" // a control character pasted in
	path, res := renderPacketFile(t, PacketInput{Clinic: packetClinic, Patient: pt, PrintedAt: packetTime})
	want := []rune{0x7, 0xE000, 0x1F600}
	if !slices.Equal(res.Missing, want) {
		t.Errorf("Missing = %U, want %U", res.Missing, want)
	}
	runTool(t, "qpdf", "--check", path)
	text := pdfPageText(t, path, 1, 1)
	if !strings.Contains(text, "Private use \uFFFD and emoji \uFFFD here") {
		t.Errorf("no visible placeholder where the characters were:\n%s", text)
	}
}

// pdfBBoxDoc is pdftotext -bbox output.
type pdfBBoxDoc struct {
	Pages []struct {
		Width  float64 `xml:"width,attr"`
		Height float64 `xml:"height,attr"`
		Words  []struct {
			XMin float64 `xml:"xMin,attr"`
			YMin float64 `xml:"yMin,attr"`
			XMax float64 `xml:"xMax,attr"`
			YMax float64 `xml:"yMax,attr"`
			Text string  `xml:",chardata"`
		} `xml:"word"`
	} `xml:"body>doc>page"`
}

func numberedWords(prefix string, n int, sep string) string {
	words := make([]string, n)
	for i := range words {
		words[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return strings.Join(words, sep)
}

// TestPacketLongValues fills every box with too much text and checks with
// word positions that nothing lies outside the margins, and that every word
// is still there.
func TestPacketLongValues(t *testing.T) {
	tpl := packetTemplate(t)
	long := PacketInput{
		Clinic: Clinic{Name: "Clinic" + numberedWords("c", 10, " "), Address: numberedWords("addr", 30, " "), Phone: "+1 541 555 0134"},
		Patient: PacketPatient{ID: 99,
			GivenName:        "Given" + strings.Repeat("x", 55),
			FamilyName:       "Family" + strings.Repeat("y", 54),
			PreferredName:    numberedWords("pref", 8, " "),
			DateOfBirth:      "1980-02-03",
			Phones:           []string{"+1 541 555 0199", "+1 541 555 0198", "+1 541 555 0197", "+1 541 555 0196"},
			Email:            "a.very.long.email.address.for.testing.wrapping@an-extraordinarily-long-domain-name.example.org",
			Address:          numberedWords("a", 41, " "), // 204 characters
			EmergencyContact: numberedWords("ec", 30, " "),
			Notes:            numberedWords("note", 400, " "),
		},
		Booking:   &Booking{Reason: numberedWords("reason", 60, " "), Source: numberedWords("src", 12, "")},
		PrintedAt: packetTime,
		Intake: &PacketIntake{ID: 1, Template: tpl, Status: "draft", Answers: Answers{
			"visit-reason":        Text(numberedWords("free", 700, " ")), // more than a page
			"visit-goals":         Text(numberedWords("goal", 40, "") + "\n\n" + numberedWords("goalb", 30, " ")),
			"pain-location-other": Text(numberedWords("other", 40, " ")),
			"rf-fever":            Yes(),
		}},
	}
	for _, paper := range []Paper{Letter, A4} {
		t.Run(string(paper), func(t *testing.T) {
			in := long
			in.Paper = paper
			path, _ := renderPacketFile(t, in)
			runTool(t, "qpdf", "--check", path)
			var doc pdfBBoxDoc
			if err := xml.Unmarshal([]byte(runTool(t, "pdftotext", "-bbox", path, "-")), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Pages) != pdfPageCount(t, path) {
				t.Fatalf("bbox has %d pages", len(doc.Pages))
			}
			const mm = 72 / 25.4
			seen := map[string]bool{}
			for n, pg := range doc.Pages {
				if len(pg.Words) < 20 {
					t.Fatalf("page %d: pdftotext -bbox found %d words", n+1, len(pg.Words))
				}
				for _, w := range pg.Words {
					seen[w.Text] = true
					if w.XMin < marginX*mm-1 || w.XMax > pg.Width-marginX*mm+1 || w.YMin < 5*mm || w.YMax > pg.Height-5*mm {
						t.Errorf("page %d: %q at x %.0f–%.0f, y %.0f–%.0f lies outside the margins of a %.0f×%.0f page",
							n+1, w.Text, w.XMin, w.XMax, w.YMin, w.YMax, pg.Width, pg.Height)
					}
				}
			}
			// Every word of every long value is printed somewhere.
			all := squashText(pdfPageText(t, path, 0, 0))
			for _, v := range []string{long.Patient.Address, long.Patient.Notes, long.Patient.EmergencyContact, long.Patient.PreferredName,
				long.Booking.Reason, long.Clinic.Address, long.Intake.Answers["visit-reason"].Text, long.Intake.Answers["visit-goals"].Text,
				long.Intake.Answers["pain-location-other"].Text} {
				for _, word := range strings.Fields(v) {
					if !strings.Contains(all, word) {
						t.Errorf("%q is missing from the packet", word)
					}
				}
			}
			// pdftotext joins a word hyphenated at a line end, dropping the
			// hyphen, so compare without hyphens.
			unhyphen := strings.NewReplacer("-", "")
			for _, v := range []string{long.Patient.GivenName, long.Patient.FamilyName, long.Patient.Email, long.Booking.Source, "goal039"} {
				if !strings.Contains(unhyphen.Replace(all), unhyphen.Replace(v)) {
					t.Errorf("%q is missing or broken", v)
				}
			}
			pages := pdfPageCount(t, path)
			assertTextHas(t, "last page", pdfPageText(t, path, pages, pages), fmt.Sprintf("Page %d of %d", pages, pages))
		})
	}
}

func TestPacketDeterministic(t *testing.T) {
	tpl := packetTemplate(t)
	in := PacketInput{Clinic: packetClinic, Patient: scriptsPacketPatient(), PrintedAt: packetTime,
		Intake: &PacketIntake{ID: 4, Template: tpl, Answers: packetAnswers(tpl, "rf-weakness"), Status: "completed"}}
	var a, b bytes.Buffer
	if _, err := RenderPacket(&a, in); err != nil {
		t.Fatal(err)
	}
	if _, err := RenderPacket(&b, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same input gave different PDFs")
	}
	// The CJK font a packet embeds does not depend on which characters
	// earlier packets printed.
	other := in
	other.Patient.PreferredName = "王秀英 東京"
	if _, err := RenderPacket(&bytes.Buffer{}, other); err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	if _, err := RenderPacket(&c, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("the same input gave a different PDF after other CJK characters were printed")
	}
	if !bytes.Contains(a.Bytes(), []byte("D:20261126140500")) {
		t.Error("the PDF dates are not the printed-at time")
	}
}

func TestRenderPacketErrors(t *testing.T) {
	tests := []struct {
		name string
		in   PacketInput
		want string
	}{
		{"paper", PacketInput{Paper: "Legal"}, "unknown paper size"},
		{"intake without template", PacketInput{Intake: &PacketIntake{}}, "which form version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderPacket(&bytes.Buffer{}, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "forms: ") {
				t.Errorf("err = %v, want a forms error about %q", err, tc.want)
			}
		})
	}
}

func TestPacketFileName(t *testing.T) {
	at := packetTime
	tests := []struct {
		p    PacketPatient
		want string
	}{
		{PacketPatient{GivenName: "Zoë", FamilyName: "Nguyễn-Łukasz"}, "Nguyễn-Łukasz-Zoë-2026-11-26-intake.pdf"},
		{PacketPatient{GivenName: "小龙", FamilyName: "李"}, "李-小龙-2026-11-26-intake.pdf"},
		{PacketPatient{GivenName: "Ольга", FamilyName: "Иванова"}, "Иванова-Ольга-2026-11-26-intake.pdf"},
		{PacketPatient{GivenName: "Mary Ann", FamilyName: "O'Brien"}, "O-Brien-Mary-Ann-2026-11-26-intake.pdf"},
		{PacketPatient{GivenName: "../../etc", FamilyName: "a/b\\c"}, "a-b-c-etc-2026-11-26-intake.pdf"},
		{PacketPatient{GivenName: "..hidden", FamilyName: "\x00\x1f"}, "hidden-2026-11-26-intake.pdf"},
		{PacketPatient{ID: 42, GivenName: "?*:", FamilyName: "<>|"}, "patient-42-2026-11-26-intake.pdf"},
		{PacketPatient{ID: 43}, "patient-43-2026-11-26-intake.pdf"},
		{PacketPatient{GivenName: "José", FamilyName: "Ñúñez  de la\tCruz"}, "Ñúñez-de-la-Cruz-José-2026-11-26-intake.pdf"},
		{PacketPatient{FamilyName: strings.Repeat("Wolfeschlegel", 10)}, strings.Repeat("Wolfeschlegel", 10)[:40] + "-2026-11-26-intake.pdf"},
	}
	for _, tc := range tests {
		got := PacketFileName(tc.p, at)
		if got != tc.want {
			t.Errorf("PacketFileName(%q, %q) = %q, want %q", tc.p.FamilyName, tc.p.GivenName, got, tc.want)
		}
		if strings.ContainsAny(got, `/\:*?"<>|`) || strings.HasPrefix(got, ".") {
			t.Errorf("%q is not a safe file name", got)
		}
	}
}

func TestSavePacket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "packets")
	in := PacketInput{Clinic: packetClinic, Patient: latinPacketPatient(), PrintedAt: packetTime}
	var paths []string
	for i := 0; i < 3; i++ {
		path, res, err := SavePacket(dir, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.Pages != 3 {
			t.Errorf("pages = %d", res.Pages)
		}
		paths = append(paths, path)
	}
	want := []string{"Ñúñez-José-2026-11-26-intake.pdf", "Ñúñez-José-2026-11-26-intake-2.pdf", "Ñúñez-José-2026-11-26-intake-3.pdf"}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Errorf("packet %d saved as %q, want %q", i+1, filepath.Base(p), want[i])
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Errorf("%s is not a PDF: %v", p, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the folder holds %d files, want the 3 packets and no temporary files", len(entries))
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("packets folder mode %v, want 0700 (%v)", fi.Mode().Perm(), err)
		}
	}
	// A failed render leaves nothing behind.
	if _, _, err := SavePacket(dir, PacketInput{Paper: "Legal"}); err == nil {
		t.Error("want an error for an unknown paper size")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("a failed save left files: %d entries", len(entries))
	}
}

func TestRenderPacketConcurrent(t *testing.T) {
	in := PacketInput{Clinic: packetClinic, Patient: scriptsPacketPatient(), PrintedAt: packetTime}
	in.Patient.PreferredName = "陈静 山田花子"
	want, err := renderPacketBytes(in)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			got, err := renderPacketBytes(in)
			if err == nil && !bytes.Equal(got, want) {
				err = fmt.Errorf("packets rendered at the same time differ")
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func renderPacketBytes(in PacketInput) ([]byte, error) {
	var b bytes.Buffer
	_, err := RenderPacket(&b, in)
	return b.Bytes(), err
}

// failingPacketWriter fails every write, like a full disk.
type failingPacketWriter struct{}

func (failingPacketWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestRenderPacketWriteError(t *testing.T) {
	_, err := RenderPacket(failingPacketWriter{}, PacketInput{PrintedAt: packetTime})
	if err == nil || !strings.Contains(err.Error(), "could not write the packet") {
		t.Errorf("err = %v", err)
	}
}
