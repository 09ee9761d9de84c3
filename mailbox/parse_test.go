package mailbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var testParseOptions = ParseOptions{
	DefaultRegion: "US",
	Location:      time.UTC,
	OwnAddresses:  []string{"frontdesk@acuclinic.example"},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParseRequestFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Request // only non-zero fields are compared, plus NeedsReview
	}{
		{"webform.eml", Request{
			MessageID: "form-20261124-0912@acuclinic.example", Source: SourceWebForm,
			From: "wordpress@acuclinic.example", ReplyTo: "maria.lopez@example.com",
			Name: "Maria Lopez", GivenName: "Maria", FamilyName: "Lopez",
			Email: "maria.lopez@example.com", Phone: "+15035550142", DateOfBirth: "1984-06-02",
			Requested:     time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC),
			RequestedText: "12/03/2026 2:30 PM",
			Message:       "Lower back pain for three months, worse when sitting at work.\nI tried physical therapy last year.",
		}},
		{"webform-nextline.eml", Request{
			Source: SourceWebForm, Name: "David Okafor", GivenName: "David", FamilyName: "Okafor",
			Email: "david.okafor@example.net", Phone: "+19715550188", DateOfBirth: "1979-03-15",
			Requested: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC),
			Message:   "Sciatica down the left leg since October.\nCan't sit more than 20 minutes.",
		}},
		{"calendly-ics.eml", Request{
			Source: SourceScheduling, Name: "Tom Nguyen", Email: "tom.nguyen@example.com",
			Phone: "+15035550163", Requested: time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC), // 10:00 in Los Angeles
			Message: "Neck and low back stiffness after a car accident last year.",
		}},
		{"calendar-invitation.eml", Request{
			Source: SourceCalendar, Name: "Jane Doe", Email: "jane.doe@example.org",
			Requested: time.Date(2026, 12, 9, 18, 30, 0, 0, time.UTC),
			Message:   "Acupuncture appointment (back pain)",
		}},
		{"acuity-html.eml", Request{
			Source: SourceScheduling, Name: "Priya Raman", Email: "priya.r@example.com",
			Phone: "+15035550107", Requested: time.Date(2026, 12, 10, 15, 15, 0, 0, time.UTC),
			Message: "Chronic low back pain – 2 years",
		}},
		{"html-only.eml", Request{
			Source: SourcePatientEmail, Name: "Linh Tran", Email: "linh.tran@example.com",
			Phone: "+15035550131", RequestedText: "next Thursday morning",
		}},
		{"freetext.eml", Request{
			Source: SourcePatientEmail, Name: "Robert Chen", GivenName: "Robert", FamilyName: "Chen",
			Email: "rchen77@example.com", Phone: "+15035550199", RequestedText: "next Tuesday afternoon",
		}},
		{"forwarded.eml", Request{
			Source: SourcePatientEmail, From: "amy.wells@acuclinic.example",
			Name: "Sarah Kim", Email: "sarah.kim@example.org", Phone: "+19715550123",
		}},
		{"apple-forward.eml", Request{
			Name: "Olga Ivanova", Email: "olga.ivanova@example.ru", Phone: "+15035550155",
		}},
		{"reply-quoted.eml", Request{
			Name: "Ben Carter", Email: "ben.carter@example.com", Phone: "+19715550166",
			Message: "Yes, Monday at 3pm works. My mobile is 971-555-0166 if you need it.\n\nBen",
		}},
		{"spanish.eml", Request{
			Subject: "Nueva solicitud de cita", Source: SourceWebForm,
			Name: "Lucía Fernández", Email: "lucia.fernandez@example.es", Phone: "+34612345678",
			DateOfBirth: "1985-03-12", Requested: time.Date(2026, 12, 14, 11, 0, 0, 0, time.UTC),
			Message: "Dolor lumbar desde hace dos meses.",
		}},
		{"russian-1251.eml", Request{
			Subject: "Запись на приём", Name: "Иван Петров", Email: "ivan.petrov@example.ru",
			Phone: "+79161234567", DateOfBirth: "1970-09-05",
			Message: "Боль в пояснице, хотел бы записаться на приём.",
		}},
		{"vietnamese-base64.eml", Request{
			Subject: "Đặt lịch khám", Name: "Nguyễn Văn An", Phone: "+84912345678",
			DateOfBirth: "1990-01-20", Message: "Tôi bị đau lưng dưới, muốn đặt lịch khám.",
		}},
		{"chinese-gb18030.eml", Request{
			Subject: "预约", Name: "王小明", Email: "xiaoming.wang@example.cn", Phone: "+15035550177",
			DateOfBirth: "1988-07-03", Message: "腰痛三个月，想预约针灸。",
		}},
		{"japanese-iso2022jp.eml", Request{
			Subject: "予約のお願い", Name: "山田 花子", GivenName: "花子", FamilyName: "山田",
			Phone: "+15035550181",
		}},
		// Hostile messages: each still becomes a request, flagged for review.
		{"hostile-broken-boundary.eml", Request{Email: "pat.doe@example.com", Phone: "+15035550191", NeedsReview: true}},
		{"hostile-truncated.eml", Request{Name: "Kim Lee", Phone: "+15035550192", NeedsReview: true}},
		{"hostile-unknown-charset.eml", Request{Name: "Ana Ruiz", Phone: "+15035550193", NeedsReview: true}},
		{"hostile-invalid-utf8.eml", Request{Email: "lee.park@example.com", Phone: "+15035550194", NeedsReview: true}},
		{"hostile-long-header.eml", Request{Name: "Sam Hill", Phone: "+15035550195"}},
		{"hostile-nested.eml", Request{Email: "nest@example.com", NeedsReview: true}},
		{"hostile-not-an-email.eml", Request{NeedsReview: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := ParseRequest(readFixture(t, tt.file), testParseOptions)
			w := tt.want
			check := func(field, got, want string) {
				t.Helper()
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			check("MessageID", got.MessageID, w.MessageID)
			check("Subject", got.Subject, w.Subject)
			check("From", got.From, w.From)
			check("ReplyTo", got.ReplyTo, w.ReplyTo)
			check("Source", string(got.Source), string(w.Source))
			check("Name", got.Name, w.Name)
			check("GivenName", got.GivenName, w.GivenName)
			check("FamilyName", got.FamilyName, w.FamilyName)
			check("Email", got.Email, w.Email)
			check("Phone", got.Phone, w.Phone)
			check("DateOfBirth", got.DateOfBirth, w.DateOfBirth)
			check("RequestedText", got.RequestedText, w.RequestedText)
			check("Message", got.Message, w.Message)
			if !w.Requested.IsZero() && !got.Requested.Equal(w.Requested) {
				t.Errorf("Requested = %v, want %v", got.Requested, w.Requested)
			}
			if got.NeedsReview != w.NeedsReview {
				t.Errorf("NeedsReview = %v, want %v (problems: %q)", got.NeedsReview, w.NeedsReview, got.Problems)
			}
			if got.NeedsReview && len(got.Problems) == 0 {
				t.Error("needs review but no problem says why")
			}
			assertShowable(t, got)
		})
	}
}

// assertShowable checks what every request must satisfy to be shown.
func assertShowable(t testing.TB, r Request) {
	t.Helper()
	for name, s := range map[string]string{"BodyText": r.BodyText, "Subject": r.Subject, "Name": r.Name,
		"Message": r.Message, "Phone": r.Phone, "Email": r.Email} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8", name)
		}
	}
	if r.Source == "" {
		t.Error("Source is empty")
	}
	if r.DateOfBirth != "" {
		if _, err := time.Parse("2006-01-02", r.DateOfBirth); err != nil {
			t.Errorf("DateOfBirth %q is not YYYY-MM-DD", r.DateOfBirth)
		}
	}
}

func TestParseRequestCalendarTimeZone(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	r := ParseRequest(readFixture(t, "calendly-ics.eml"), ParseOptions{})
	want := time.Date(2026, 12, 7, 10, 0, 0, 0, la)
	if !r.Requested.Equal(want) {
		t.Errorf("Requested = %v, want %v (DTSTART with TZID)", r.Requested, want)
	}
}

func TestParseRequestQuotedHistoryIgnored(t *testing.T) {
	r := ParseRequest(readFixture(t, "reply-quoted.eml"), testParseOptions)
	if strings.Contains(r.Message, "503-555-0100") || r.Phone == "+15035550100" {
		t.Errorf("the clinic's number from the quoted history was taken: phone %q", r.Phone)
	}
	if !strings.Contains(r.BodyText, "503-555-0100") {
		t.Error("BodyText should still show the whole message, history included")
	}
}

// A multipart message whose Content-Type is longer than usual (S/MIME
// signed mail, Outlook's multipart/related) is read like any other, with a
// nested multipart first part and without.
func TestParseRequestLongMultipartContentType(t *testing.T) {
	boundary := "----" + strings.Repeat("a1b2c3d4e5", 4)
	contentType := `multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="` + boundary + `"`
	if len(contentType) <= 128 {
		t.Fatalf("the Content-Type is %d bytes; the test needs a long one", len(contentType))
	}
	text := "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, my name is Omar Haddad, phone 503-555-0181.\r\n"
	for name, first := range map[string]string{
		"text first part":      text,
		"multipart first part": "Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n--inner\r\n" + text + "--inner--\r\n",
	} {
		raw := []byte("From: Omar Haddad <omar.haddad@example.com>\r\nSubject: appointment\r\n" +
			"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: " + contentType + "\r\n\r\n" +
			"--" + boundary + "\r\n" + first +
			"--" + boundary + "\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nMIIB\r\n" +
			"--" + boundary + "--\r\n")
		r := ParseRequest(raw, testParseOptions)
		if r.Name != "Omar Haddad" || r.Phone != "+15035550181" || r.NeedsReview {
			t.Errorf("%s: name %q phone %q needs review %v %q; want the request read", name, r.Name, r.Phone, r.NeedsReview, r.Problems)
		}
	}
}

func TestParseRequestReplyToFromFormService(t *testing.T) {
	raw := []byte("From: Squarespace <form-submission@squarespace.info>\r\n" +
		"Reply-To: \"Eve Adams\" <eve.adams@example.com>\r\n" +
		"Subject: Form Submission - Contact\r\n\r\n" +
		"Sent via form submission from Acu Clinic\r\n\r\nPhone: 503 555 0170\r\n")
	r := ParseRequest(raw, testParseOptions)
	if r.Email != "eve.adams@example.com" || r.Name != "Eve Adams" || r.Source != SourceWebForm {
		t.Errorf("got email %q name %q source %q; want the Reply-To patient from a web form", r.Email, r.Name, r.Source)
	}
}

func TestParseRequestTruncatesLargeParts(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("From: Big Text <big@example.com>\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n")
	b.WriteString("Phone: 503-555-0110\r\n")
	for b.Len() < 2<<20 {
		b.WriteString("lorem ipsum dolor sit amet ")
	}
	r := ParseRequest(b.Bytes(), ParseOptions{MaxPartBytes: 64 << 10})
	if len(r.BodyText) > 64<<10 {
		t.Errorf("BodyText is %d bytes, want at most the 64 KiB cap", len(r.BodyText))
	}
	if !r.NeedsReview || r.Phone != "+15035550110" {
		t.Errorf("want the phone kept and a review flag for the cut text, got %q, %v", r.Phone, r.NeedsReview)
	}
}

func TestParseRequestSkipsLargeAttachments(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("From: Att Ach <att@example.com>\r\nSubject: scan\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\n" +
		"My name is Att Ach, see my MRI. 503-555-0111\r\n--zz\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJD", 19) + "\r\n"
	for b.Len() < 20<<20 {
		b.WriteString(line)
	}
	b.WriteString("--zz--\r\n")
	r := ParseRequest(b.Bytes(), testParseOptions)
	if r.Name != "Att Ach" || r.Phone != "+15035550111" || r.NeedsReview {
		t.Errorf("got name %q phone %q review %v %q", r.Name, r.Phone, r.NeedsReview, r.Problems)
	}
	if len(r.BodyText) > 1000 {
		t.Errorf("attachment bytes leaked into BodyText (%d bytes)", len(r.BodyText))
	}
}

func TestParseRequestLabels(t *testing.T) {
	tests := []struct {
		body      string
		name      string
		phone     string
		email     string
		dob       string
		requested string
	}{
		{"NAME: ana gomez\nPHONE: 5035550120", "ana gomez", "+15035550120", "", "", ""},
		{"Full name:\n\nAna Gomez\nE-mail:\nana@example.com", "Ana Gomez", "", "ana@example.com", "", ""},
		{"Nombre: Ana Gómez\nTeléfono: 503-555-0121\nFecha de nacimiento: 02/01/1990", "Ana Gómez", "+15035550121", "", "1990-02-01", ""},
		{"Имя: Анна\nТелефон: +7 (916) 555-12-34", "Анна", "+79165551234", "", "", ""},
		{"姓名：李娜\n电话：+86 138 0013 8000", "李娜", "+8613800138000", "", "", ""},
		{"Họ và tên: Trần Thị Bích\nĐiện thoại: +84 912 345 679", "Trần Thị Bích", "+84912345679", "", "", ""},
		{"**Name:** Joe Bloggs\n**DOB:** March 4, 1962", "Joe Bloggs", "", "", "1962-03-04", ""},
		{"First name: Joe\nLast name: Bloggs\nPreferred date: 2026-12-21\nPreferred time: 4pm", "Joe Bloggs", "", "", "", "2026-12-21 16:00"},
		{"Name\tJoe Bloggs\nPhone\t(503) 555-0122", "Joe Bloggs", "+15035550122", "", "", ""},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			raw := "From: Website <noreply@acuclinic.example>\r\nSubject: New form submission\r\n\r\n" + tt.body
			r := ParseRequest([]byte(raw), testParseOptions)
			if r.Name != tt.name {
				t.Errorf("Name = %q, want %q", r.Name, tt.name)
			}
			if tt.phone != "" && r.Phone != tt.phone {
				t.Errorf("Phone = %q, want %q", r.Phone, tt.phone)
			}
			if tt.email != "" && r.Email != tt.email {
				t.Errorf("Email = %q, want %q", r.Email, tt.email)
			}
			if r.DateOfBirth != tt.dob {
				t.Errorf("DateOfBirth = %q, want %q", r.DateOfBirth, tt.dob)
			}
			if tt.requested != "" && r.Requested.Format("2006-01-02 15:04") != tt.requested {
				t.Errorf("Requested = %v, want %s", r.Requested, tt.requested)
			}
		})
	}
}

func TestParseRequestNoContactNeedsReview(t *testing.T) {
	raw := []byte("From: noreply@acuclinic.example\r\nSubject: hi\r\n\r\nSomeone wants to book.\r\n")
	r := ParseRequest(raw, testParseOptions)
	if !r.NeedsReview || len(r.Problems) == 0 {
		t.Fatalf("a request with no patient contact must need review: %+v", r)
	}
	if r.BodyText != "Someone wants to book." {
		t.Errorf("BodyText = %q", r.BodyText)
	}
}

func TestHTMLToText(t *testing.T) {
	got := htmlToText(`<html><head><title>x</title><style>p{}</style></head><body><p>Hello <b>there</b>,</p>`+
		`<table><tr><td>Name</td><td>Ann&nbsp;Lee</td></tr></table><ul><li>one</li><li>two</li></ul>`+
		`line<br>break<script>bad()</script></body></html>`, 1<<20)
	want := "Hello there,\nName\tAnn Lee\n- one\n- two\nline\nbreak"
	if got != want {
		t.Errorf("htmlToText = %q, want %q", got, want)
	}
}

func FuzzParseRequest(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		panicHook = func(v any) { t.Fatalf("ParseRequest panicked: %v", v) }
		defer func() { panicHook = nil }()
		var r Request
		done := make(chan struct{})
		go func() { defer close(done); r = ParseRequest(raw, testParseOptions) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("ParseRequest runs for ever on %q:\n%s", raw, buf)
		}
		assertShowable(t, r)
		if r.NeedsReview && len(r.Problems) == 0 {
			t.Error("needs review without a problem")
		}
	})
}

// BenchmarkParseRequest parses every fixture once per iteration and reports
// the time per message.
func BenchmarkParseRequest(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	var msgs [][]byte
	for _, f := range files {
		msgs = append(msgs, readFixture(b, filepath.Base(f)))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, raw := range msgs {
			ParseRequest(raw, testParseOptions)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(msgs)), "µs/msg")
}

func TestFindPhone(t *testing.T) {
	for text, want := range map[string]string{
		"call 503-555-0142 today":              "+15035550142",
		"(503) 555-0142":                       "+15035550142",
		"+44 20 7946 0958":                     "+442079460958",
		"order 12345 on 2026-12-07":            "",
		"From(9@acuityscheduling.com":          "",
		"ref:5035550142 x(503)5550142 ok":      "",
		"tel 503.555.0142, or +1 971 555 0123": "+15035550142",
	} {
		if got := findPhone(text, "US"); got != want {
			t.Errorf("findPhone(%q) = %q, want %q", text, got, want)
		}
	}
}

// nestedMessage is a message whose text part sits depth multiparts deep.
func nestedMessage(depth int, text string) []byte {
	var b strings.Builder
	b.WriteString("From: Nest Ed <nest.ed@example.com>\r\nSubject: nested\r\nMIME-Version: 1.0\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

func TestParseRequestNestedParts(t *testing.T) {
	// Ten levels, deeper than real mail gets: read as usual.
	r := ParseRequest(nestedMessage(10, "Name: Nest Ed\r\nPhone: 503-555-0177"), testParseOptions)
	if r.Phone != "+15035550177" || r.Name != "Nest Ed" || r.NeedsReview {
		t.Errorf("10 levels: got name %q phone %q review %v %q", r.Name, r.Phone, r.NeedsReview, r.Problems)
	}
	// Forty levels: the part is not read, the message is shown as it
	// arrived and needs review, and details are still found in its text,
	// not in its boundaries and part headers.
	r = ParseRequest(nestedMessage(40, "Name: Nest Ed\r\nPhone: 503-555-0177"), testParseOptions)
	if !r.NeedsReview || !slices.ContainsFunc(r.Problems, func(p string) bool { return strings.Contains(p, "nested too deeply") }) {
		t.Errorf("40 levels: want review for nesting, got %v %q", r.NeedsReview, r.Problems)
	}
	if !strings.Contains(r.BodyText, "Phone: 503-555-0177") {
		t.Errorf("40 levels: the text was lost: %q", capString(r.BodyText, 200))
	}
	if r.Phone != "+15035550177" || r.Name != "Nest Ed" {
		t.Errorf("40 levels: got name %q phone %q", r.Name, r.Phone)
	}
}

func TestWithoutMIMEScaffolding(t *testing.T) {
	in := "--b0\nContent-Type: multipart/mixed;\n boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n" +
		"Content-Transfer-Encoding: 7bit\n\nPhone: 503-555-0177\n-- \nLee\n--b1--\n--b0--\n"
	want := "\n\nPhone: 503-555-0177\n-- \nLee\n"
	if got := withoutMIMEScaffolding(in); got != want {
		t.Errorf("withoutMIMEScaffolding:\n got %q\nwant %q", got, want)
	}
}

// loadZone answers as time.LoadLocation does, found or not, the second
// time from its cache.
func TestLoadZoneRemembersBothAnswers(t *testing.T) {
	for i := 0; i < 2; i++ {
		if z, err := loadZone("Europe/Paris"); err != nil || z.String() != "Europe/Paris" {
			t.Errorf("round %d: Europe/Paris = %v, %v", i, z, err)
		}
		if _, err := loadZone("W. Europe Standard Time"); err == nil {
			t.Errorf("round %d: a Windows zone name was found", i)
		}
	}
	zoneCache.mu.Lock()
	_, paris := zoneCache.m["Europe/Paris"]
	_, windows := zoneCache.m["W. Europe Standard Time"]
	zoneCache.mu.Unlock()
	if !paris || !windows {
		t.Errorf("cached: Europe/Paris %v, the Windows name %v; want both", paris, windows)
	}
}
