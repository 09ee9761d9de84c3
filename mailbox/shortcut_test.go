package mailbox

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"

	message "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"golang.org/x/net/html"
)

// randomText joins n tokens drawn from words, each followed by one of seps.
func randomText(rng *rand.Rand, n int, words, seps []string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		w := words[rng.Intn(len(words))]
		switch rng.Intn(6) {
		case 0:
			w = strings.ToUpper(w)
		case 1:
			if w != "" {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
		}
		b.WriteString(w)
		b.WriteString(seps[rng.Intn(len(seps))])
	}
	return b.String()
}

// TestTextWithoutCRMatchesSlowPath checks textWithoutCR and validString
// against validText and strings.ReplaceAll, on text with CRs, NULs and
// invalid bytes in every order.
func TestTextWithoutCRMatchesSlowPath(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"a", "Ana", "é", "预约", "\r", "\n", "\r\n", "\r\r\n", "\x00", "\xff", "\xe4\xb8", "\xc3", "\ufffd", ""}
	for i := 0; i < 20000; i++ {
		s := randomText(rng, rng.Intn(10), words, []string{""})
		want := strings.ReplaceAll(validText([]byte(s)), "\r\n", "\n")
		if got := textWithoutCR([]byte(s)); got != want {
			t.Fatalf("textWithoutCR(%q) = %q, want %q", s, got, want)
		}
		if got, want := validString(s), validText([]byte(s)); got != want {
			t.Fatalf("validString(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestFindRelativeDayMatchesRegexp checks findRelativeDay against
// relativeDay.FindString on generated notes full of near misses.
func TestFindRelativeDayMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"next", "this", "coming", "monday", "tuesday", "wednesday", "thursday", "friday",
		"saturday", "sunday", "tomorrow", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "tom", "morning",
		"afternoon", "evening", "at", "around", "after", "before", "3", "10:30", "3pm", "4 p.m.", "11am", "a.m.",
		"pm", "friend", "month", "Monday's", "_mon", "xmon", "2mon", "nexts", "thisfri", "tues", "thurs",
		"satur", "ſat", "thiſ", "ſunday", "Kelvin", "día", "lunes", "понедельник", "é", "_", "next_", "mond",
		"\xff", "tomorrowx", "next\u00a0", "", "12:00", "99:99", "1:5"}
	seps := []string{" ", "  ", "\t", "\n", "\r\n", "\f", "\v", ", ", ".", "-", "_", "", "'", "(", ")", "\u00a0", "é", ":"}
	// findRelativeDay's word lists are the pattern's.
	for _, words := range [][]string{dayWords, nextWords} {
		if alt := "(?:" + strings.Join(words, "|") + ")"; !strings.Contains(relativeDay.String(), alt) {
			t.Fatalf("relativeDay has no %s", alt)
		}
	}
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, ParseRequest(readFixture(t, name), testParseOptions).BodyText)
	}
	for i := 0; i < 40000; i++ {
		texts = append(texts, randomText(rng, 1+rng.Intn(12), words, seps))
	}
	for _, s := range texts {
		if got, want := findRelativeDay(s), relativeDay.FindString(s); got != want {
			t.Fatalf("findRelativeDay(%q) = %q, relativeDay finds %q", s, got, want)
		}
	}
}

// TestIsAutomatedLocalMatchesRegexp checks isAutomatedLocal against
// automatedLocal on generated local parts.
func TestIsAutomatedLocalMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"no", "reply", "do", "not", "donotreply", "notification", "notifications", "notify",
		"form", "forms", "submission", "submissions", "mailer", "daemon", "bounce", "bounces", "bouncess",
		"wordpress", "postmaster", "calendar", "scheduling", "appointment", "appointments", "booking",
		"bookings", "support", "system", "alert", "alerts", "ann", "x", "ſupport", "booKings", "é", "\xff", "1"}
	seps := []string{"", "", "", "-", "+", ".", "_", "--", "\n", " ", "@", "é", "ſ"}
	for i := 0; i < 40000; i++ {
		s := randomText(rng, 1+rng.Intn(4), words, seps)
		if got, want := isAutomatedLocal(s), automatedLocal.MatchString(s); got != want {
			t.Fatalf("isAutomatedLocal(%q) = %v, automatedLocal says %v", s, got, want)
		}
	}
	for _, w := range automatedLocalWords {
		if !automatedLocal.MatchString(w) || !isAutomatedLocal(strings.ToUpper(w)+"+x") {
			t.Errorf("%q is not read as automated", w)
		}
	}
}

// TestReadMessageMatchesGoMessage checks readMessage against
// message.ReadWithOptions on generated headers: keys in any case, odd and
// invalid keys, continuation lines, LF, CRLF and stray CRs, lines without
// a colon or longer than bufio's buffer, no blank line, and bodies.
func TestReadMessageMatchesGoMessage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	keys := []string{"From", "from", "FROM", "Reply-To", "reply-to", "Subject", "SUBJECT", "Date", "Message-ID",
		"Message-Id", "message-id", "Content-Type", "content-type", "Content-Transfer-Encoding",
		"Content-Disposition", "Received", "X-Foo", "DKIM-Signature", "To", "", " From", "From ", "Fr om",
		"Fröm", "From\x7f", "Fr(om", "From\t", "\tFrom", "Content-Type2", "ContentType", "Subjec", "_"}
	values := []string{"", " ", "Ann <ann@example.com>", "=?utf-8?Q?Ana_G=C3=B3mez?= <a@b.c>", "text/plain; charset=utf-8",
		"multipart/mixed; boundary=b1", "base64", "quoted-printable", "x-bogus", "attachment; filename=a.txt",
		"Tue, 24 Nov 2026 09:12:44 -0800", "<id@x>", "a:b:c", "\xff\xfe", "\x00", strings.Repeat("v", 5000), "text/plain; charset=x-unknown"}
	eols := []string{"\r\n", "\n", "\r\r\n", "\r", "\n\r"}
	bodies := []string{"", "Hello\r\n", "--b1\r\nContent-Type: text/plain\r\n\r\nPart\r\n--b1--\r\n", "SGVsbG8=\r\n",
		"caf=C3=A9\r\n", "=ZZ\r\n", "\x00\xff"}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		eol := func() string {
			if rng.Intn(5) == 0 {
				return eols[rng.Intn(len(eols))]
			}
			return eols[i%2]
		}
		for n := rng.Intn(8); n > 0; n-- {
			switch rng.Intn(12) {
			case 0:
				b.WriteString("no colon here" + eol())
			case 1:
				b.WriteString(" continued" + eol())
			default:
				b.WriteString(keys[rng.Intn(len(keys))] + ":" + values[rng.Intn(len(values))] + eol())
				for rng.Intn(3) == 0 {
					b.WriteString([]string{" ", "\t", "  "}[rng.Intn(3)] + values[rng.Intn(len(values))] + eol())
				}
			}
		}
		if rng.Intn(6) != 0 {
			b.WriteString(eol())
		}
		b.WriteString(bodies[rng.Intn(len(bodies))])
		raw := []byte(b.String())
		compareReadMessage(t, raw)
	}
	for _, name := range fixtureNames(t) {
		compareReadMessage(t, readFixture(t, name))
	}
}

func fixtureNames(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatal("no fixtures", err)
	}
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	return files
}

func compareReadMessage(t *testing.T, raw []byte) {
	t.Helper()
	want, wantErr := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	got, top, gotErr := readMessage(raw)
	if (want == nil) != (got == nil) || fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
		t.Fatalf("%q: readMessage gives %v, %v; go-message %v, %v", raw, got != nil, gotErr, want != nil, wantErr)
	}
	if want == nil {
		return
	}
	for i, k := range topHeaderFields[:numTopFields] {
		if g, w := top[i], want.Header.Get(k); g != w {
			t.Fatalf("%q: %s = %q, go-message %q", raw, k, g, w)
		}
	}
	for _, k := range topHeaderFields[numTopFields:] {
		for _, kk := range []string{k, strings.ToLower(k)} {
			if g, w := got.Header.Values(kk), want.Header.Values(kk); !slices.Equal(g, w) {
				t.Fatalf("%q: %s = %q, go-message %q", raw, kk, g, w)
			}
			// Raw is not compared: readTopHeader keeps the values only
			// (nothing reads a field's raw bytes).
		}
	}
	gb, gErr := io.ReadAll(got.Body)
	wb, wErr := io.ReadAll(want.Body)
	if !bytes.Equal(gb, wb) || fmt.Sprint(gErr) != fmt.Sprint(wErr) {
		t.Fatalf("%q: body %q, %v; go-message %q, %v", raw, gb, gErr, wb, wErr)
	}
}

// TestSimpleAddressMatchesNetMail checks simpleAddress against
// go-message's ParseAddressList (net/mail), which h.AddressList uses, on
// generated address headers in common and odd forms.
func TestSimpleAddressMatchesNetMail(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"Ann", "Lee", "ann", "a.b", ".a", "a.", "a..b", "O'Neil", "J.", "Dr.", "x!#$%&'*+/=?^_`{|}~-",
		`"Ann Lee"`, `"Lee, Ann"`, `""`, `"a\"b"`, `"a\\b"`, `"(x)"`, `"Ann`, `"é"`, "é", "Ánn", "=?utf-8?q?a?=", "=?x",
		"(comment)", "<", ">", "@", ",", ";", ":", "[", "]", "\\", "\"", "\x01", "\x7f", "\xff", "a@b", "<a@b.c>",
		"<a.b@c.d>", "<.a@b.c>", "<a@b..c>", "<a@[1.2.3.4]>", "<\"a b\"@c.d>", "<a@b.c", "a@b.c>", "<>", "< a@b.c>",
		"<a@b.c >", "<a@ b.c>", "a@b.c", "a+tag@example.com", "A@B.C", "a@b", "a@-b.c", "a@b_c.d", "a@b.c.", "Group:"}
	seps := []string{" ", " ", "", "  ", "\t", ", ", ",", " (c) "}
	ok := 0
	for i := 0; i < 60000; i++ {
		v := randomText(rng, 1+rng.Intn(4), words, seps)
		if i%2 == 0 {
			// Mostly well-formed: a display name and an address.
			v = randomText(rng, rng.Intn(4), words[:14], []string{" ", " ", "", "\t", "  "}) +
				words[38+rng.Intn(len(words)-38)] + seps[rng.Intn(3)]
		}
		if rng.Intn(4) == 0 {
			v = strings.TrimSpace(v)
		}
		name, addr, fast := simpleAddress(v)
		if !fast {
			continue
		}
		ok++
		list, err := gomail.ParseAddressList(v)
		if err != nil || len(list) == 0 {
			t.Fatalf("simpleAddress(%q) = %q, %q; net/mail: %v, %v", v, name, addr, list, err)
		}
		if list[0].Name != name || list[0].Address != addr {
			t.Fatalf("simpleAddress(%q) = %q, %q; net/mail %q, %q", v, name, addr, list[0].Name, list[0].Address)
		}
	}
	t.Logf("%d took the shortcut", ok)
	if ok < 5000 {
		t.Errorf("only %d of the generated headers took the shortcut", ok)
	}
	for _, v := range []string{"ann@example.com", "Ann Lee <ann@example.com>", `"Lee, Ann" <ann@example.com>`,
		"<ann@example.com>", `"" <a@b.c>`, "Ann<a@b.c>"} {
		if _, _, fast := simpleAddress(v); !fast {
			t.Errorf("%q does not take the shortcut", v)
		}
	}
}

// domainInPlain is domainIn as it was first written: the address
// lower-cased, then each domain and "."+domain compared.
func domainInPlain(addr string, domains []string) bool {
	_, d, ok := strings.Cut(strings.ToLower(addr), "@")
	if !ok {
		return false
	}
	for _, s := range domains {
		if d == s || strings.HasSuffix(d, "."+s) {
			return true
		}
	}
	return false
}

// TestDomainInMatchesSlowPath checks domainIn against domainInPlain on
// generated addresses: the listed domains in any case, as subdomains and
// near misses, several "@", and letters that lower-case to ASCII.
func TestDomainInMatchesSlowPath(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var words []string
	for _, d := range append(append([]string{}, schedulingDomains...), formDomains...) {
		words = append(words, d, strings.TrimSuffix(d, ".com"), d[1:], "x"+d)
	}
	words = append(words, "@", "@", ".", ".", "com", "me", "calendly", "example", "a", "-", "\u212a", "ſ", "İ", "é",
		"\xff", "CALENDLY", "ᴄ", "")
	in := 0
	for i := 0; i < 100000; i++ {
		s := randomText(rng, 1+rng.Intn(6), words, []string{"", "", "", ".", "@"})
		for _, list := range [][]string{schedulingDomains, formDomains} {
			got, want := domainIn(s, list), domainInPlain(s, list)
			if got != want {
				t.Fatalf("domainIn(%q) = %v, the plain way %v", s, got, want)
			}
			if got {
				in++
			}
		}
	}
	if in < 1000 {
		t.Errorf("only %d generated addresses are in a list", in)
	}
	for _, s := range []string{"a@calendly.com", "A@MAIL.CALENDLY.COM", "a@bookſy.com", "a@boo\u212asy.com", "a@x@calendly.com"} {
		if got, want := domainIn(s, schedulingDomains), domainInPlain(s, schedulingDomains); got != want {
			t.Errorf("domainIn(%q) = %v, the plain way %v", s, got, want)
		}
	}
}

// TestStartTimeMatchesDateTime checks startTime against go-ical's
// Prop.DateTime on generated DTSTART properties: values of every length
// DateTime tells apart, VALUE parameters, known and unknown TZIDs.
func TestStartTimeMatchesDateTime(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	values := []string{"20261207T100000", "20261207T100000Z", "20261207", "20261307T100000", "20261207T250000",
		"2026-12-07T10:00", "20261207T1000", "", "x", "20261207t100000", "20260308T023000", "20261101T013000"}
	zones := []string{"", "America/Los_Angeles", "Europe/Madrid", "Asia/Ho_Chi_Minh", "UTC", "Local", "utc",
		"Pacific Standard Time", "Nowhere/City", "../etc/passwd", "America/New_York"}
	types := []string{"", "", "DATE-TIME", "DATE", "TEXT", "date-time"}
	locs := []*time.Location{time.UTC, nil, time.FixedZone("X", 3600)}
	for i := 0; i < 5000; i++ {
		prop := ical.NewProp(ical.PropDateTimeStart)
		prop.Value = values[rng.Intn(len(values))]
		if z := zones[rng.Intn(len(zones))]; z != "" {
			prop.Params.Set(ical.ParamTimezoneID, z)
		}
		if v := types[rng.Intn(len(types))]; v != "" {
			prop.Params.Set(ical.ParamValue, v)
		}
		loc := locs[rng.Intn(len(locs))]
		got, gotErr := startTime(prop, loc)
		want, wantErr := prop.DateTime(loc)
		if !got.Equal(want) || got.Location().String() != want.Location().String() || got.String() != want.String() ||
			fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("%s %v in %v: startTime %v, %v; DateTime %v, %v", prop.Value, prop.Params, loc, got, gotErr, want, wantErr)
		}
	}
}

// TestIsReplyAttributionMatchesRegexp checks isReplyAttribution against
// replyAttribution on generated lines: attributions in each language,
// middles of 3, 4, 200 and 201 characters in several scripts, near misses.
func TestIsReplyAttributionMatchesRegexp(t *testing.T) {
	t.Parallel() // long, and it shares nothing with other tests
	rng := rand.New(rand.NewSource(1))
	words := []string{"On", "on", "ON", "oN", "el", "le", "am", "vào", "wrote:", "WROTE:", "Wrote", "wrote", "wrote :",
		"escribió:", "a écrit", "a écrit :", "schrieb:", "đã viết:", "пишет:", "Mon, 1 Dec 2026", "Ann <a@b.c>", "x", "é",
		"预约", "\xff", "\r", "\n", "\t", " ", ":", "-----", "original message", "_____", "__________", "ſ", "\u212a",
		strings.Repeat("a", 195), strings.Repeat("é", 196), strings.Repeat("b", 197), "Onwrote:", "on wrote:"}
	seps := []string{" ", " ", "", "  ", "\t", ", ", "\n", "\u00a0"}
	matched := 0
	for i := 0; i < 60000; i++ {
		s := randomText(rng, 1+rng.Intn(6), words, seps)
		if rng.Intn(2) == 0 {
			s = strings.TrimSpace(s)
		}
		got, want := isReplyAttribution(s), replyAttribution.MatchString(s)
		if got != want {
			t.Fatalf("isReplyAttribution(%q) = %v, replyAttribution says %v", s, got, want)
		}
		if got {
			matched++
		}
	}
	for n := 0; n < 205; n++ {
		for _, c := range []string{"a", "é", "预", "\xff", "\r"} {
			s := "On " + strings.Repeat(c, n) + "wrote:"
			if got, want := isReplyAttribution(s), replyAttribution.MatchString(s); got != want {
				t.Fatalf("isReplyAttribution(%q) = %v, replyAttribution says %v", s, got, want)
			}
		}
	}
	if matched < 500 {
		t.Errorf("only %d generated lines are attributions", matched)
	}
}

// TestDatePatternsMayMatch checks that a date pattern datePatternsMayMatch
// rules out does not match, on generated dates, times and near misses.
func TestDatePatternsMayMatch(t *testing.T) {
	t.Parallel() // long, and it shares nothing with other tests
	rng := rand.New(rand.NewSource(1))
	words := []string{"1", "12", "123", "2026", "20261", "05", "7", "1970", "99", "年", "月", "日", "-", "/", ".", ":", "h",
		"March", "de", "marzo", "st", "nd", "Dec", "dic.", "pm", "a.m.", "٣", "２", "２０２６", "点", "时", "下午", "é", "\xff", "Kelvin"}
	seps := []string{"", "", "", " ", "  ", ", ", "\t", "\n", "-", "/", "."}
	counts := make([]int, 5)
	for i := 0; i < 100000; i++ {
		s := randomText(rng, 1+rng.Intn(8), words, seps)
		if i%2 == 0 {
			// A date's shape, each part drawn from words.
			nums := []string{"1", "12", "123", "2026", "20261", "05", "7", "1970", "99", "٣", "２０２６", "x", "12th", "3rd"}
			names := []string{"March", "marzo", "Dec.", "dic", "de", "xy", "Décembre", "декабря", "3"}
			num := func() string { return nums[rng.Intn(len(nums))] }
			name := func() string { return names[rng.Intn(len(names))] }
			sep := func() string { return []string{"-", "/", ".", " ", "", "-", "/", "."}[rng.Intn(8)] }
			switch rng.Intn(4) {
			case 0:
				s = num() + "年" + num() + "月" + num() + "日"
			case 1:
				s = num() + sep() + num() + sep() + num()
			case 2:
				s = name() + " " + num() + []string{"", ",", " "}[rng.Intn(3)] + " " + num()
			default:
				s = num() + " de " + name() + " de " + num()
			}
			s = randomText(rng, rng.Intn(3), words, seps) + s + randomText(rng, rng.Intn(3), words, seps)
		}
		han, iso, year, numeric := datePatternsMayMatch(s)
		for j, c := range []struct {
			re *regexp.Regexp
			ok bool
		}{{hanDate, han}, {isoDate, iso}, {monthFirst, year && mayHoldMonthName(s)}, {dayFirst, year && mayHoldMonthName(s)},
			{numericDate, numeric}} {
			if c.re.MatchString(s) {
				counts[j]++
				if !c.ok {
					t.Fatalf("%q: datePatternsMayMatch rules out %v, which matches", s, c.re)
				}
			}
		}
	}
	for j, n := range counts {
		if n < 100 {
			t.Errorf("pattern %d matched only %d generated texts", j, n)
		}
	}
}

// TestWriteFieldsMatchesFields checks textBuf.writeFields and hasNonSpace
// against strings.Fields on generated text with ASCII and Unicode spaces
// and invalid bytes.
func TestWriteFieldsMatchesFields(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"a", "Ana", "é", "预约", "\xff", "\xe4\xb8", "\u00a0", "\u0085", "\u2003", "\u3000", "\v", "\f",
		"\r", "\n", "\t", " ", "  ", "&nbsp;", "\u200b", ""}
	for i := 0; i < 50000; i++ {
		s := randomText(rng, rng.Intn(8), words, []string{"", "", " ", "\n", "\u00a0"})
		want := strings.Join(strings.Fields(s), " ")
		var b textBuf
		b.WriteString("x")
		b.writeFields([]byte(s))
		if got := string(b.buf); got != "x"+want {
			t.Fatalf("writeFields(%q) wrote %q, want %q", s, got[1:], want)
		}
		if got := hasNonSpace([]byte(s)); got != (want != "") {
			t.Fatalf("hasNonSpace(%q) = %v", s, got)
		}
	}
}

// TestForwardMarkerNeedsDashesOrForwarded checks what findForwarded's
// first test assumes: forwardMarker does not match a text with neither
// "--" nor, lower-cased, "forwarded".
func TestForwardMarkerNeedsDashesOrForwarded(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"-", "--", "---", "—", "Forwarded", "FORWARDED", "forwarded", "forward", "message", "meſſage",
		"Begin", "begin", "Message:", "message:", ":", "original", "Mensaje", "reenviado", "пересылаемое", "сообщение",
		"перенаправленное", "转发的邮件", "Weitergeleitete", "Nachricht", "transféré", ">", "x", "\u212a", "ſ"}
	seps := []string{" ", " ", "", "\n", "\t", "\r\n", " -", "- "}
	matched := 0
	for i := 0; i < 60000; i++ {
		s := randomText(rng, 1+rng.Intn(7), words, seps)
		if i%2 == 0 {
			// A marker's shape, each part drawn from near misses.
			pick := func(l ...string) string { return l[rng.Intn(len(l))] }
			dash := func() string { return pick("-", "--", "---", "—", "- -", "") }
			line := pick("", " ", ">", "> ", "\t") + dash() + pick("", " ", "  ") +
				pick("forwarded message", "Forwarded Message", "FORWARDED meſſage", "original message", "Original Meſſage",
					"mensaje reenviado", "message transféré", "пересылаемое сообщение", "转发的邮件",
					"weitergeleitete nachricht", "перенаправленное сообщение") + pick("", " ", "  ") + dash() + pick("", " ", "\t")
			if rng.Intn(4) == 0 {
				line = pick("", ">") + pick("begin forwarded message:", "Begin Forwarded Message:", "BEGIN FORWARDED MEſſAGE:",
					"begin forwarded message", "Begin forward message:")
			}
			s = randomText(rng, rng.Intn(3), words, seps) + "\n" + line + "\n" + randomText(rng, rng.Intn(3), words, seps)
		}
		if !forwardMarker.MatchString(s) {
			continue
		}
		matched++
		if !strings.Contains(s, "--") && !strings.Contains(strings.ToLower(s), "forwarded") {
			t.Fatalf("forwardMarker matches %q, with neither -- nor forwarded", s)
		}
	}
	if matched < 200 {
		t.Errorf("only %d generated texts hold a marker", matched)
	}
}

// TestFindForwardMarkerMatchesRegexp checks findForwardMarker against
// forwardMarker.FindStringIndex on the fixtures' texts and on generated
// text with markers and near misses on lines of their own, inside lines,
// after quote marks and blanks, and across line breaks.
func TestFindForwardMarkerMatchesRegexp(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, ParseRequest(readFixture(t, name), testParseOptions).BodyText)
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"-", "--", "---", "—", "Forwarded", "forwarded", "message", "meſſage", "Begin", "begin",
		"BEGIN", "Message:", ":", "original", "Original", "Mensaje", "reenviado", "пересылаемое", "сообщение",
		"перенаправленное", "转发的邮件", "Weitergeleitete", "Nachricht", "transféré", ">", "x", "b", "B", "\u212a", "ſ"}
	seps := []string{" ", " ", "", "\n", "\t", "\r\n", " -", "- ", "\n>", "\n ", "\n--"}
	matched := 0
	for i := 0; i < 60000; i++ {
		s := randomText(rng, 1+rng.Intn(7), words, seps)
		if i%2 == 0 {
			pick := func(l ...string) string { return l[rng.Intn(len(l))] }
			dash := func() string { return pick("-", "--", "---", "—", "- -", "", "--\n", "-- ") }
			line := pick("", " ", ">", "> ", "\t", " >\t", "x") + dash() + pick("", " ", "  ", "\n") +
				pick("forwarded message", "Forwarded Message", "FORWARDED meſſage", "original message", "Original Meſſage",
					"mensaje reenviado", "message transféré", "пересылаемое сообщение", "转发的邮件",
					"weitergeleitete nachricht", "перенаправленное сообщение") + pick("", " ", "  ") + dash() + pick("", " ", "\t", "x")
			if rng.Intn(4) == 0 {
				line = pick("", ">", " > ", "x") + pick("begin forwarded message:", "Begin Forwarded Message:", "BEGIN FORWARDED MEſſAGE:",
					"begin forwarded message", "Begin forward message:")
			}
			s = randomText(rng, rng.Intn(3), words, seps) + pick("\n", "", " ") + line + pick("\n", "", "\r\n") +
				randomText(rng, rng.Intn(3), words, seps)
		}
		texts = append(texts, s)
	}
	for _, s := range texts {
		got, want := findForwardMarker(s), forwardMarker.FindStringIndex(s)
		if !slices.Equal(got, want) {
			t.Fatalf("findForwardMarker(%q) = %v, forwardMarker finds %v", s, got, want)
		}
		if want != nil {
			matched++
		}
	}
	if matched < 200 {
		t.Errorf("only %d texts hold a marker", matched)
	}
}

// TestMonthNameMayStart checks that monthFirst, dayFirst, isoDate and
// numericDate, anchored, match no text their mayStart rules out: at every
// byte of generated text, of dates written with letter runs of every
// length, stops and spaces before the day, letters that only fold to
// letters, and of numeric dates with digit runs of every length, day
// suffixes (also with "ſ") and each separator.
func TestMonthNameMayStart(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	pick := func(l ...string) string { return l[rng.Intn(len(l))] }
	words := []string{"December", "dec", "Dec.", "MARZO", "März", "ſep", "\u212aa", "\u0345", "ab", "abc",
		"abcdefghij", "abcdefghijk", "1", "12", "2026", "st", "x", "é", "\xff"}
	seps := []string{"", " ", "  ", "\t", "\n", "\f", "\r", "\v", ".", ". ", "..", ",", "\u00a0", "_", "-"}
	checked, kept := 0, 0
	for i := 0; i < 60000; i++ {
		s := randomText(rng, 1+rng.Intn(6), words, seps)
		if i%2 == 0 {
			s = pick("", "x", "é", "1") + pick("ab", "abc", "Dec", "December", "Decembers", "Decemberss", "ſep", "de\u0345",
				"\u212aab", "mär") + pick("", ".", "..", ",") + pick("", " ", "\t\n", "\v", "\u00a0") + pick("1", "05", "3rd", "x") +
				pick("", ",") + pick(" ", "") + pick("2026", "20261", "26")
		}
		if i%4 == 1 {
			s = pick("", "x", "1", " ") + pick("1", "05", "123", "2026", "20261", "3rd", "4TH", "21ſt", "1st.", "2nd", "12x") +
				pick("", ".", "-", "/", ":", " ", "\t", "é", "ſ") + pick("", " ", "de ", "\n") +
				pick("12", "3", "marzo", "Dec", "2026") + pick("", "-", "/", ".", " ") + pick("2026", "26", "05", "1")
		}
		for p := 0; p < len(s); p++ {
			for _, a := range []*startAnchored{monthFirstAt, dayFirstAt} {
				checked++
				if a.mayStart(s[p:]) {
					kept++
					continue
				}
				if m := a.at.FindStringSubmatch(s[p:]); m != nil {
					t.Fatalf("%s: mayStart(%q) = false, the pattern matches %q", a.re, s[p:], m[0])
				}
			}
		}
	}
	if kept == 0 || kept == checked {
		t.Errorf("mayStart kept %d of %d places", kept, checked)
	}
}

// TestDateMatchersMatchRegexp checks matchISODate and matchNumericDate
// against isoDate and numericDate anchored, at every byte of the fixtures'
// lines and of generated dates with digit runs of every length, each
// separator and near misses, and replaceDates against ReplaceAllString.
func TestDateMatchersMatchRegexp(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, strings.Split(ParseRequest(readFixture(t, name), testParseOptions).BodyText, "\n")...)
	}
	rng := rand.New(rand.NewSource(1))
	pick := func(l ...string) string { return l[rng.Intn(len(l))] }
	run := func() string { return pick("", "1", "05", "12", "123", "2026", "20261", "26", "7") }
	sep := func() string { return pick("-", "/", ".", ":", " ", "", "_", "é") }
	for i := 0; i < 60000; i++ {
		s := pick("", "x", "_", " ", "1", "é", "a1") + run() + sep() + run() + sep() + run() +
			pick("", " ", "x", "_", "1", ".", "-", "/", "é", "th", " 10:30") + pick("", run()+sep()+run()+sep()+run())
		texts = append(texts, s)
	}
	matched := map[*startAnchored]int{}
	for _, s := range texts {
		for _, a := range []*startAnchored{isoDateAt, numericDateAt} {
			for p := 0; p <= len(s); p++ {
				got, want := a.match(s[p:]), a.at.FindStringSubmatch(s[p:])
				if !slices.Equal(got, want) {
					t.Fatalf("%s: match(%q) = %q, the regexp %q", a.re, s[p:], got, want)
				}
				if want != nil {
					matched[a]++
				}
			}
			if got, want := replaceDates(s, a), a.re.ReplaceAllString(s, " "); got != want {
				t.Fatalf("%s: replaceDates(%q) = %q, ReplaceAllString %q", a.re, s, got, want)
			}
		}
	}
	if matched[isoDateAt] < 1000 || matched[numericDateAt] < 1000 {
		t.Errorf("only %d ISO and %d numeric dates", matched[isoDateAt], matched[numericDateAt])
	}
}

// TestFindClockTimeMatchesRegexp checks findClockTime against
// clockTime.FindStringSubmatch, submatches and all, on the fixtures'
// lines and on generated text dense in digits, separators, meridiems in
// every case and spacing, word bytes on either side, "ſ", the Kelvin sign,
// other letters and invalid UTF-8 after them, and Chinese times.
func TestFindClockTimeMatchesRegexp(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, strings.Split(ParseRequest(readFixture(t, name), testParseOptions).BodyText, "\n")...)
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"1", "10", "123", "2", "2026", "05", ":", ".", "h", "H", "a", "A", "p", "P", "m", "M", "am", "pm",
		"a.m.", "P.M", "p m", "a.m", "x", "_", "é", "ſ", "\u212a", "\xff", "点", "时", "下午", "30", "3:30", "10h30",
		"7.15", "12:00", "9点", "9点30", "at", "-", ",", "(", "２"}
	seps := []string{"", "", "", " ", "  ", "\t", "\n", ".", ":", "_", "é", "-"}
	for i := 0; i < 100000; i++ {
		texts = append(texts, randomText(rng, 1+rng.Intn(7), words, seps))
	}
	matched := 0
	for _, s := range texts {
		got, want := findClockTime(s), clockTime.FindStringSubmatch(s)
		if !slices.Equal(got, want) {
			t.Fatalf("findClockTime(%q) = %q, clockTime finds %q", s, got, want)
		}
		if want != nil {
			matched++
		}
	}
	if matched < 10000 {
		t.Errorf("only %d texts hold a time", matched)
	}
}

// TestFindThisIsMatchesRegexp checks findThisIs against namePatterns[1]
// on the fixtures' texts and generated text: "this is" in every case, with
// "ſ", split across lines and tabs, before capitals, small letters,
// non-ASCII letters and other bytes, after greetings or inside words.
func TestFindThisIsMatchesRegexp(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, ParseRequest(readFixture(t, name), testParseOptions).BodyText)
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"this is", "This is", "THIS IS", "this  is", "thiſ iſ", "this\tis", "this", "is", "Hi,", "hello",
		"Dear Ann,", "hola!", "Ann", "ann", "Lee", "O'Neil", "Ánh", "Éva", "ölaf", "Иван", "李", "'", "-", "x", "\xff",
		"3", "_", "\u212a", "sthis is"}
	seps := []string{" ", " ", "\t", "  ", "\n", "\r\n", "", ",", ", ", "!", "\u00a0"}
	for i := 0; i < 40000; i++ {
		texts = append(texts, randomText(rng, 1+rng.Intn(8), words, seps))
	}
	matched := 0
	for _, s := range texts {
		got, want := findThisIs(s), namePatterns[1].FindStringSubmatch(s)
		if !slices.Equal(got, want) {
			t.Fatalf("findThisIs(%q) = %q, namePatterns[1] finds %q", s, got, want)
		}
		if want != nil {
			matched++
		}
	}
	if matched < 1000 {
		t.Errorf("only %d texts hold a name", matched)
	}
}

// TestLowerRuneMatchesToLower checks lowerRune against unicode.ToLower for
// every rune, and below zero and past the last.
func TestLowerRuneMatchesToLower(t *testing.T) {
	for r := rune(-1); r <= unicode.MaxRune+1; r++ {
		if got, want := lowerRune(r), unicode.ToLower(r); got != want {
			t.Fatalf("lowerRune(%U) = %U, unicode.ToLower %U", r, got, want)
		}
	}
}

// lookupLabelOld is lookupLabel as it was, with strings.ToLower for a
// label that is long or not ASCII.
func lookupLabelOld(label string) field {
	l := strings.Trim(strings.TrimSpace(label), "*_ ")
	if l == "" || !startsLikeWord(l) {
		return fieldNone
	}
	l = strings.ToLower(l)
	l = strings.TrimSuffix(l, "(optional)")
	l = strings.TrimSuffix(l, "*")
	l = strings.TrimSpace(l)
	return labels[l]
}

// TestLookupLabelMatchesToLower checks lookupLabel, which lower-cases on
// the stack, against strings.ToLower: on every known label in other cases
// and with its decorations, on the fixtures' lines and their labels, and on
// generated labels with letters that lower-case to other lengths (the
// Kelvin sign, "İ"), invalid UTF-8 and labels longer than the buffer.
func TestLookupLabelMatchesToLower(t *testing.T) {
	var inputs []string
	for l := range labels {
		inputs = append(inputs, l, strings.ToUpper(l), strings.ToTitle(l), " *"+l+" (Optional) ", "_"+l+"*:", l+" *")
	}
	for _, name := range fixtureNames(t) {
		for _, line := range strings.Split(ParseRequest(readFixture(t, name), testParseOptions).BodyText, "\n") {
			inputs = append(inputs, line)
			if label, _, ok := splitLabel(line); ok {
				inputs = append(inputs, label)
			}
		}
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"name", "NAME", "Full", "phone", "Телефон", "ФИО", "Số", "điện", "thoại", "姓名", "\u212aelvin",
		"İ", "ſ", "(optional)", "(OPTIONAL)", "*", "_", " ", "\t", "\xff", "\xe4\xb8", "é", "É", "x", strings.Repeat("Ab", 40)}
	for i := 0; i < 40000; i++ {
		inputs = append(inputs, randomText(rng, 1+rng.Intn(5), words, []string{"", " ", "  ", "*", "\t"}))
	}
	found := 0
	for _, s := range inputs {
		got, want := lookupLabel(s), lookupLabelOld(s)
		if got != want {
			t.Fatalf("lookupLabel(%q) = %v, with strings.ToLower %v", s, got, want)
		}
		if got != fieldNone {
			found++
		}
	}
	if found < 1000 {
		t.Errorf("only %d inputs name a field", found)
	}
}

// TestIsClosingLineMatchesRegexp checks isClosingLine against closingLine
// on generated lines: every closing in any case with trailing spaces and
// punctuation, near misses, and lines with non-ASCII letters.
func TestIsClosingLineMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"thanks", "thank", "you", "many", "regards", "best", "kind", "warm", "sincerely", "cheers", "again",
		"gracias", "muchas", "saludos", "atentamente", "un", "saludo", "cordialement", "merci", "cảm ơn", "xin", "trân trọng",
		"спасибо", "с уважением", "谢谢", "此致", "thankſ", "\u212aind", "x", ",", ".", "!", "?", "-", "é", "\xff", ""}
	seps := []string{" ", " ", "", "  ", "\t", ",", ".", "!", "\n", "\v", "\r", ", ", "!!"}
	matched := 0
	for i := 0; i < 100000; i++ {
		s := randomText(rng, 1+rng.Intn(3), words, seps)
		got, want := isClosingLine(s), closingLine.MatchString(s)
		if got != want {
			t.Fatalf("isClosingLine(%q) = %v, closingLine says %v", s, got, want)
		}
		if got {
			matched++
		}
	}
	for w := range closingWords {
		if !isClosingLine(strings.ToUpper(w)+" ,.!") || !closingLine.MatchString(w) {
			t.Errorf("%q is not read as a closing", w)
		}
	}
	if matched < 2000 {
		t.Errorf("only %d generated lines are closings", matched)
	}
}

// TestStripQuotedLines checks that the lines stripQuoted returns are
// strings.Split of the text it returns, on generated replies.
func TestStripQuotedLines(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"Hi", "> quoted", ">", "On Mon, 1 Dec 2026 Ann <a@b.c> wrote:", "On Mon, 1 Dec 2026", "wrote:", "", " ",
		"-----Original Message-----", "text", "\r", "Ann пишет:"}
	for i := 0; i < 20000; i++ {
		s := randomText(rng, rng.Intn(8), words, []string{"\n", "\n", " ", ""})
		kept, lines := stripQuoted(s)
		if want := strings.Split(kept, "\n"); !slices.Equal(lines, want) {
			t.Fatalf("stripQuoted(%q) = %q, lines %q; want %q", s, kept, lines, want)
		}
	}
}

// TestFindEmailMatchesRegexp checks findEmail against
// emailPattern.FindString on generated text full of addresses, near
// misses and characters outside the pattern's classes.
func TestFindEmailMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"ann", "Ann.Lee", "a_b", "a%b", "a+tag", "-", ".", "..", "@", "@", "@@", "example", "com", "co", "c", "uk",
		"x1", "1", "b-c", "é", "\xff", "预约", "<", ">", "(", ")", ",", ";", ":", "\n", "_", "%", "+", "ORG", "c0m", ""}
	seps := []string{"", "", "", ".", " ", "@", "-"}
	found := 0
	for i := 0; i < 100000; i++ {
		s := randomText(rng, 1+rng.Intn(9), words, seps)
		if i%2 == 0 {
			// An address's shape, each part drawn from words.
			part := func() string { return words[rng.Intn(len(words))] }
			s = randomText(rng, rng.Intn(3), words, seps) + part() + part() + "@" + part() + part() + "." + part() +
				randomText(rng, rng.Intn(3), words, seps)
		}
		got, want := findEmail(s), emailPattern.FindString(s)
		if got != want {
			t.Fatalf("findEmail(%q) = %q, emailPattern finds %q", s, got, want)
		}
		if got != "" {
			found++
		}
	}
	if found < 2000 {
		t.Errorf("only %d generated texts hold an address", found)
	}
}

// TestIsoDayMatchesFormat checks isoDay against time.Format.
func TestIsoDayMatchesFormat(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		y := rng.Intn(10200) - 100
		if i < 400 {
			y = 1890 + i
		}
		d := time.Date(y, time.Month(1+rng.Intn(12)), 1+rng.Intn(31), 0, 0, 0, 0, time.UTC)
		if got, want := isoDay(d), d.Format("2006-01-02"); got != want {
			t.Fatalf("isoDay(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestSingleSpacedMatchesFields checks singleSpaced against strings.Fields,
// splitName and cleanName against their plain forms, and familyNameFirst
// against the scripts' tables for every rune up to U+FFFF and beyond.
func TestSingleSpacedMatchesFields(t *testing.T) {
	splitNamePlain := func(name string) (string, string) {
		if f, g, ok := strings.Cut(name, ","); ok {
			return strings.TrimSpace(g), strings.TrimSpace(f)
		}
		words := strings.Fields(name)
		if len(words) < 2 {
			return "", ""
		}
		if familyNameFirst(name) {
			return strings.Join(words[1:], " "), words[0]
		}
		return strings.Join(words[:len(words)-1], " "), words[len(words)-1]
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"Ann", "Lee", "a", "O'Neil", "é", "王", "\xff", "\u00a0", "\u0085", "\u2003", "\u3000", "\v", "\f",
		"\r", "\n", "\t", " ", "  ", ",", ".", "\"", "", "Nguyễn", "Văn", "Иван", "山田", "花子", "Lucía", "\u200b",
		"\u2028", "\u1680", "\xc3", "\x85"}
	spaced, joined := 0, 0
	// Half the names are words of any script a space apart, with now and
	// then white space or a byte that is not UTF-8.
	names := []string{"Ann", "Lee", "é", "王", "Nguyễn", "Văn", "Иван", "山田", "花子", "Lucía", "\u200b", "\xc3", "\u00a0", "\u3000"}
	for i := 0; i < 50000; i++ {
		s := randomText(rng, rng.Intn(6), words, []string{"", " ", " ", " ", "  ", "\t"})
		if i%2 == 1 {
			s = strings.TrimSuffix(randomText(rng, 1+rng.Intn(4), names[:10+rng.Intn(5)], []string{" "}), " ")
		}
		fields := strings.Join(strings.Fields(s), " ")
		if singleSpaced(s) {
			spaced++
			if fields != s {
				t.Fatalf("singleSpaced(%q), but its fields are %q", s, fields)
			}
		}
		if fieldsJoined(s) != (fields == s) {
			t.Fatalf("fieldsJoined(%q) = %v, but its fields are %q", s, fieldsJoined(s), fields)
		}
		if fields == s && !singleSpaced(s) {
			joined++
		}
		g, f := splitName(s)
		if wg, wf := splitNamePlain(s); g != wg || f != wf {
			t.Fatalf("splitName(%q) = %q, %q; want %q, %q", s, g, f, wg, wf)
		}
		if got, want := cleanName(s), capString(strings.Trim(fields, `"'.,;: `), 200); got != want {
			t.Fatalf("cleanName(%q) = %q, want %q", s, got, want)
		}
	}
	if spaced < 3000 || joined < 3000 {
		t.Errorf("only %d generated names are single-spaced ASCII, %d in other scripts", spaced, joined)
	}
	for r := rune(0); r < 0x20000; r++ {
		if got, want := familyNameFirst(string(r)), unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul); got != want {
			t.Fatalf("familyNameFirst(%U) = %v", r, got)
		}
	}
}

// TestSubjectNamesFormMatchesToLower checks subjectNamesForm and
// isHTMLStub's ASCII way against strings.ToLower, and findClockTime
// against clockTime, on generated text.
func TestSubjectNamesFormMatchesToLower(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"Form", "submission", "FORMULARIO", "solicitud", "заявка", "表单", "html", "HTML", "View", "enable",
		"supPort", "x", "é", "\xff", "İ", "K", "ſ", "fo", "rm", "10", "3", "2:30", "pm", "A.M.", "h", "点", "时", "_", ":", "下午",
		"10h30", "a1", "２"}
	seps := []string{"", " ", "  ", ",", ".", "\n", ":", "-"}
	stubs, forms, clocks := 0, 0, 0
	for i := 0; i < 10000; i++ {
		s := randomText(rng, rng.Intn(8), words, seps)
		l := strings.ToLower(s)
		if got, want := subjectNamesForm(s), containsAny(l, formSubjectWords); got != want {
			t.Fatalf("subjectNamesForm(%q) = %v", s, got)
		} else if got {
			forms++
		}
		want := len(s) <= 200 && strings.Contains(l, "html") &&
			(strings.Contains(l, "view") || strings.Contains(l, "enable") || strings.Contains(l, "support"))
		if got := isHTMLStub(s); got != want {
			t.Fatalf("isHTMLStub(%q) = %v", s, got)
		} else if got {
			stubs++
		}
		got, wantM := findClockTime(s), clockTime.FindStringSubmatch(s)
		if !slices.Equal(got, wantM) {
			t.Fatalf("findClockTime(%q) = %q, clockTime finds %q", s, got, wantM)
		}
		if got != nil {
			clocks++
		}
	}
	if stubs < 150 || forms < 1000 || clocks < 1000 {
		t.Errorf("only %d stubs, %d form subjects, %d clocks generated", stubs, forms, clocks)
	} else if testing.Verbose() {
		t.Logf("%d stubs, %d form subjects, %d clocks generated", stubs, forms, clocks)
	}
}

// TestSplitLinesMatchesSplit checks splitLines, into a reused buffer,
// against strings.Split.
func TestSplitLinesMatchesSplit(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"", "a", "line", "\r", "\n", "\n\n", "é", "\xff"}
	var buf []string
	for i := 0; i < 20000; i++ {
		s := randomText(rng, rng.Intn(10), words, []string{"", "\n", " "})
		buf = splitLines(buf, s)
		if want := strings.Split(s, "\n"); !slices.Equal(buf, want) {
			t.Fatalf("splitLines(%q) = %q, want %q", s, buf, want)
		}
	}
}

// readHeaderFromHeader is readHeader as it was before topFields: it read
// the message's header through the methods of gomail.Header. It is the
// reference for TestReadHeaderMatchesGoMessage.
func (p *parser) readHeaderFromHeader(h *gomail.Header) {
	r := &p.req
	r.MessageID = headerMessageID(h)
	if s, err := h.Subject(); err == nil {
		r.Subject = capString(validString(s), maxHeaderValue)
	} else {
		r.Subject = capString(validString(h.Get("Subject")), maxHeaderValue)
		if message.IsUnknownCharset(err) {
			p.problem("The subject uses an unknown character set; some letters may show wrongly.")
		}
	}
	firstAddressAndName := func(key string) (addr, name string) {
		if name, addr, ok := simpleAddress(h.Get(key)); ok {
			return strings.ToLower(addr), strings.TrimSpace(name)
		}
		list, err := h.AddressList(key)
		if err == nil && len(list) > 0 {
			return strings.ToLower(list[0].Address), strings.TrimSpace(list[0].Name)
		}
		v := h.Get(key)
		if v == "" {
			return "", ""
		}
		if m := emailPattern.FindString(capString(v, maxHeaderValue)); m != "" {
			return strings.ToLower(m), ""
		}
		return "", ""
	}
	var fromName, replyToName string
	r.From, fromName = firstAddressAndName("From")
	r.ReplyTo, replyToName = firstAddressAndName("Reply-To")
	p.senderName = cleanName(validString(fromName))
	p.replyToName = cleanName(validString(replyToName))
	if r.From == "" && h.Get("From") != "" {
		p.problem("The sender address could not be read.")
	}
	if t, err := h.Date(); err == nil {
		r.Received = t
	}
}

// TestReadHeaderMatchesGoMessage checks readHeader, given the topFields
// readTopHeader finds, against readHeaderFromHeader on the header
// go-message reads: addresses, subjects, dates and Message-IDs usual and
// odd (encoded words, unknown charsets, comments, brackets, non-ASCII,
// empty), fields repeated, keys in any case, folded lines.
func TestReadHeaderMatchesGoMessage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	values := map[string][]string{
		"From": {"Ann Lee <ann@example.com>", "ann@example.com", `"Lee, Ann" <ann@example.com>`, "=?utf-8?Q?Ana_G=C3=B3mez?= <ana@example.es>",
			"=?x-unknown?Q?Ana?= <ana@example.es>", "Group: a@b.com, c@d.com;", "ann@example.com (Ann Lee)", "Ann Lee", "<>", "",
			" ", "Ann <ann@exa mple.com>", "a@b.c, d@e.f", "Ánn <ann@example.com>", "bad <<a@b.c>>", "no address at all x@y"},
		"Subject": {"Appointment", "", "=?utf-8?Q?Cita_ma=C3=B1ana?=", "=?x-unknown?Q?Cita?=", "=?utf-8?B?0JfQsNC/0LjRgdGM?=",
			"=?utf-8?Q?broken", "a =?iso-8859-1?q?caf=E9?= b", "=?", "\xff\xfe", "Re: =?windows-1251?B?7+j4?="},
		"Date": {"Tue, 24 Nov 2026 09:12:44 -0800", "24 Nov 2026 09:12 -0500", "Tue, 24 Nov 2026 09:12:44 -0800 (PST)", "garbage", "",
			"Tue, 24 Nov 2026 09:12:44 +0000", " Tue, 24 Nov 2026 09:12:44 -0800"},
		"Message-Id": {"<id@x>", "<CAB+x=y_z.1@mail.gmail.com>", "<a.b@c.d>", "<.a..b.@c>", "id@x", "<id@x> (comment)", " <id@x>",
			"(c) <id@x>", "<id@[1.2.3.4]>", "<i d@x>", "<id@x", "<@x>", "<id@>", "<id>", "<>", "", "<ïd@x>", "<id@x><id2@y>",
			"<a@b@c>", "<a\"b@c>", "<a\\b@c>", "<a,b@c>", "<a:b@c>", "<a;b@c>", "<a(b@c>", "<a]b@c>", "<a>b@c>", "<a<b@c>"},
	}
	values["Reply-To"] = values["From"]
	keys := []string{"From", "Reply-To", "Subject", "Date", "Message-Id"}
	eols := []string{"\r\n", "\n"}
	for i := 0; i < 20000; i++ {
		eol := eols[i%2]
		var b strings.Builder
		for n := rng.Intn(8); n > 0; n-- {
			k := keys[rng.Intn(len(keys))]
			vs := values[k]
			v := vs[rng.Intn(len(vs))]
			switch rng.Intn(6) {
			case 0:
				k = strings.ToUpper(k)
			case 1:
				k = strings.ToLower(k)
			}
			if rng.Intn(8) == 0 {
				if sp := strings.IndexByte(v, ' '); sp > 0 {
					v = v[:sp] + eol + " " + v[sp+1:] // folded
				}
			}
			b.WriteString(k + ":" + []string{" ", "", "  "}[rng.Intn(3)] + v + eol)
		}
		b.WriteString(eol + "Hello" + eol)
		raw := []byte(b.String())
		_, top, _, ok := readTopHeader(raw)
		if !ok {
			continue
		}
		e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
		if e == nil {
			t.Fatalf("%q: go-message cannot read it: %v", raw, err)
		}
		got := &parser{opts: testParseOptions.withDefaults()}
		got.readHeader(&top)
		want := &parser{opts: testParseOptions.withDefaults()}
		want.readHeaderFromHeader(&gomail.Header{Header: e.Header})
		if !reflect.DeepEqual(got.req, want.req) || got.senderName != want.senderName || got.replyToName != want.replyToName {
			t.Fatalf("%q:\nreadHeader          %+v %q %q\nthrough gomail.Header %+v %q %q", raw,
				got.req, got.senderName, got.replyToName, want.req, want.senderName, want.replyToName)
		}
	}
}

// TestAppendLowerMatchesToLower checks appendLower against strings.ToLower
// on the fixtures' texts and on generated text: ASCII, letters whose lower
// case is longer or shorter in UTF-8 ("Ⱥ", "İ", the Kelvin sign), U+FFFD
// itself, bytes that are not UTF-8 and cut runes, appended to a buffer
// already holding bytes.
func TestAppendLowerMatchesToLower(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		raw := readFixture(t, name)
		texts = append(texts, string(raw), ParseRequest(raw, testParseOptions).BodyText)
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"Hello", "WORLD", "a", "Z", "@", "[", "`", "{", "Ⱥ", "ȺȺ", "İ", "\u212a", "ẞ", "Σ", "ΣΑΣ", "Ña",
		"ПРИВЕТ", "预约", "\ufffd", "\xff", "\xe2\x82", "\xed\xa0\x80", "\x00", "Tên TÔI", "ǅ", "\U0001D400", "ſ"}
	seps := []string{"", " ", "\n", "\t"}
	for i := 0; i < 20000; i++ {
		texts = append(texts, randomText(rng, rng.Intn(8), words, seps))
	}
	buf := []byte("prefix")
	for _, s := range texts {
		buf = appendLower(buf[:6], s)
		if got, want := string(buf[6:]), strings.ToLower(s); got != want || string(buf[:6]) != "prefix" {
			t.Fatalf("appendLower(%q) = %q, strings.ToLower %q", s, got, want)
		}
	}
}

// TestFindNameIsMatchesRegexp checks findNameIs against namePatterns[0] on
// fixture text and generated text: every phrase in lower, upper and title
// case and with letters in their other (?i) forms ("ſ", "ẞ", the Kelvin
// sign), names in several scripts, phrases cut short or run together,
// line breaks between the phrase and the name, bytes that are not UTF-8.
func TestFindNameIsMatchesRegexp(t *testing.T) {
	if !strings.Contains(namePatterns[0].String(), "(?i:"+strings.Join(namePhrases, "|")+")") {
		t.Fatal("namePatterns[0] does not read namePhrases")
	}
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, ParseRequest(readFixture(t, name), testParseOptions).BodyText)
	}
	rng := rand.New(rand.NewSource(1))
	words := append([]string{"Ann", "Lee", "O'Brien", "Núñez-Ruiz", "Văn", "Иван", "Петров", "ann", "X", "Ａnn", "3",
		"my", "name", "is", "my name iſ", "ICH HEIẞE", "je ſuis", "TÊN TÔI LÀ", "МЕНЯ ЗОВУТ", "Me Llamo", "tôi", "là",
		"\u212a", "\xff", "\xd0", "’", "-", "", "myname is", "mmy name is"}, namePhrases...)
	seps := []string{" ", " ", "  ", "\t", "\n", "\r\n", "", ", ", ".", " \t ", "\u00a0"}
	for i := 0; i < 40000; i++ {
		texts = append(texts, randomText(rng, 1+rng.Intn(10), words, seps))
	}
	matched := 0
	for _, s := range texts {
		got, want := findNameIs(s), namePatterns[0].FindStringSubmatch(s)
		if !slices.Equal(got, want) {
			t.Fatalf("findNameIs(%q) = %q, namePatterns[0] finds %q", s, got, want)
		}
		if want != nil {
			matched++
		}
	}
	if matched < 1000 {
		t.Errorf("only %d texts hold a name", matched)
	}
}

// oldSplitLabel is splitLabel as it was first written, the oracle of
// TestSplitLabelMatchesOld.
func oldSplitLabel(line string) (label, value string, ok bool) {
	head := line
	if len(head) > 80+len("：") {
		head = head[:80+len("：")]
	}
	i := strings.IndexAny(head, ":\t")
	if j := strings.Index(head, "："); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i <= 0 || i > 80 {
		return "", "", false
	}
	label = strings.TrimLeft(line[:i], " \t>*•·-")
	label = strings.TrimSpace(strings.Trim(label, "*_ "))
	if label == "" {
		return "", "", false
	}
	_, size := utf8.DecodeRuneInString(line[i:])
	return label, strings.TrimSpace(line[i+size:]), true
}

// TestSplitLabelMatchesOld checks splitLabel against oldSplitLabel on the
// fixtures' lines and generated lines: colons, tabs and full-width colons
// in either order, near byte 80 and cut by it, bullets and quote marks
// before the label, "•" and "·" cut short, bytes that are not UTF-8.
func TestSplitLabelMatchesOld(t *testing.T) {
	var lines []string
	for _, name := range fixtureNames(t) {
		lines = append(lines, strings.Split(ParseRequest(readFixture(t, name), testParseOptions).BodyText, "\n")...)
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"Name", "Phone", "名字", "x", ":", "：", "\t", "•", "·", ">", "*", "-", "_", " ", "\xe2\x80", "\xc2",
		"\xef\xbc", "\xff", strings.Repeat("a", 40), strings.Repeat("b", 77), strings.Repeat("é", 20), "Ann Lee", ""}
	seps := []string{"", "", " ", "\t", ":", "：", "*", "• ", "· "}
	for i := 0; i < 60000; i++ {
		lines = append(lines, randomText(rng, 1+rng.Intn(8), words, seps))
	}
	for _, l := range lines {
		gl, gv, gok := splitLabel(l)
		wl, wv, wok := oldSplitLabel(l)
		if gl != wl || gv != wv || gok != wok {
			t.Fatalf("splitLabel(%q) = %q, %q, %v; was %q, %q, %v", l, gl, gv, gok, wl, wv, wok)
		}
	}
}

// TestTagNameMatchesTokenizer checks tagName against the tokenizer's
// TagName for every tag of the fixtures' HTML and of generated HTML: names
// in any case, ended by each kind of white space, "/" and ">", end tags,
// self-closing tags, raw-text elements, tags cut by the end of the text,
// NUL and non-ASCII bytes in names. TagName makes a NUL U+FFFD, which
// tagName leaves as it is (no name htmlToText looks for holds either).
func TestTagNameMatchesTokenizer(t *testing.T) {
	var docs []string
	for _, name := range fixtureNames(t) {
		raw := string(readFixture(t, name))
		if i := strings.Index(strings.ToLower(raw), "<html"); i >= 0 {
			docs = append(docs, raw[i:])
		}
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"<p>", "<P>", "</p>", "<br/>", "<BR />", "<br\n>", "<td\tclass=x>", "</TD >", "<div\r\nid=a>",
		"<li\f>", "<script>", "</script>", "<style>x</style>", "<title>t</title>", "<a href='/x'>", "</a>", "<h1>",
		"<tAbLe>", "<x\x00y>", "<é>", "<br", "</", "<", ">", "<!-- c -->", "<!doctype html>", "text", " ", "\n",
		"<textarea>", "</textarea>", "<b/>", "</br>", "<p/x>", "< p>", "</ p>", "<1>", "<a\xffb>"}
	for i := 0; i < 20000; i++ {
		docs = append(docs, randomText(rng, 1+rng.Intn(12), words, []string{"", "", " ", "x"}))
	}
	tags := 0
	for _, doc := range docs {
		z := html.NewTokenizer(strings.NewReader(doc))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.EndTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			got := bytes.ReplaceAll(tagName(z, nil), []byte{0}, []byte("\ufffd"))
			want, _ := z.TagName()
			if !bytes.Equal(got, want) {
				t.Fatalf("%q: tag %q: tagName %q, TagName %q", doc, z.Raw(), got, want)
			}
			tags++
		}
	}
	if tags < 20000 {
		t.Errorf("only %d tags", tags)
	}
}

// TestStartAnchoredMatchesRegexp checks each startAnchored pattern's find
// against its regexp's FindStringSubmatch on fixture text, requested
// dates written by the golden inputs' forms, and generated text: dates in
// every form findDate reads, month names in several scripts and cases
// (with "ſ" and the Kelvin sign), ordinals, times, digits and letters run
// together with words (where \b does or does not hold), non-ASCII letters
// right after ASCII ones, bytes that are not UTF-8.
func TestStartAnchoredMatchesRegexp(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, strings.Split(ParseRequest(readFixture(t, name), testParseOptions).BodyText, "\n")...)
	}
	rng := rand.New(rand.NewSource(1))
	words := []string{"1", "05", "12", "123", "2026", "1970", "20261", "3", "30", "December", "dec", "Dec.", "DECEMBER",
		"marzo", "MARZO", "März", "décembre", "декабря", "ДЕКАБРЯ", "août", "septembre", "ſeptember", "\u212a", "of", "de",
		"Thursday", "st", "nd", "RD", "th", "1st", "2nd", "3rd", "4th", "2:30", "10:30", "9.15", "10h30", "3pm", "4 p.m.",
		"11 AM", "a.m.", "pm", "点", "时", "10点30", "下午", "年", "月", "日", "2026年12月7日", "x", "_", "é", "éx", "xé",
		"a1", "1a", "\xff", "\xe2\x82", "２", "05.09.1970", "12/03/2026", "1984-06-02", "2026-12-14", "03/15/79"}
	seps := []string{"", "", " ", "  ", "\t", "\n", ", ", ",", ".", "-", "/", ":", "_", "\u00a0", "é"}
	for i := 0; i < 40000; i++ {
		texts = append(texts, randomText(rng, 1+rng.Intn(8), words, seps))
	}
	// Dates written out, month first and day first, among other words.
	pick := func(l ...string) string { return l[rng.Intn(len(l))] }
	for i := 0; i < 20000; i++ {
		month := pick("December", "dec", "Dec.", "MARZO", "März", "décembre", "декабря", "ſeptember", "Thursday", "xmarzo", "ab",
			"Septembers", "Septemberss", "Decembré", "\u0345\u0345\u0345", "jan\u212a", "Dec..", "Dec:")
		day := pick("1", "05", "12", "123", "3rd", "4TH", "21st")
		year := pick("2026", "1970", "20261", "26", "2026x", "2026é")
		sp := func() string { return pick(" ", "  ", "\t", "\n", "", " de ", "\u00a0") }
		date := month + pick("", ".", ",") + sp() + day + pick("", ",", ".") + sp() + year
		if rng.Intn(2) == 0 {
			date = day + pick("", ".") + sp() + month + pick("", ".", ",") + sp() + year
		}
		texts = append(texts, randomText(rng, rng.Intn(3), words, seps)+pick("", " ", "x", "é", "1")+date+
			pick("", " ", "x", ".", " 3pm")+randomText(rng, rng.Intn(3), words, seps))
	}
	for _, a := range []*startAnchored{isoDateAt, numericDateAt, monthFirstAt, dayFirstAt,
		newStartAnchored(clockTime, false, false)} { // clockTime tests boundary false
		matched := 0
		for _, s := range texts {
			got, want := a.find(s), a.re.FindStringSubmatch(s)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: find(%q) = %q, FindStringSubmatch %q", a.re, s, got, want)
			}
			if want != nil {
				matched++
			}
		}
		if matched < 300 {
			t.Errorf("%s: only %d texts match", a.re, matched)
		}
	}
}

// TestAppendLowerASCIIWords checks appendLower's eight-bytes-at-a-time way
// against strings.ToLower: every ASCII byte at every place of a word (and
// of the tail after it), and random text of all ASCII bytes with non-ASCII
// runes and bytes that are not UTF-8 at random places, so that words start
// at every offset from them.
func TestAppendLowerASCIIWords(t *testing.T) {
	var texts []string
	for c := 0; c < 0x80; c++ {
		for at := 0; at < 11; at++ {
			b := []byte("aZ@[`{mQ0z~")
			b[at] = byte(c)
			texts = append(texts, string(b))
		}
	}
	rng := rand.New(rand.NewSource(4))
	others := []string{"É", "Σ", "İ", "\u212a", "预", "\xff", "\xe2\x82", "ẞ"}
	for i := 0; i < 30000; i++ {
		b := make([]byte, 0, 48)
		for n := rng.Intn(40); len(b) < n; {
			if rng.Intn(12) == 0 {
				b = append(b, others[rng.Intn(len(others))]...)
			} else {
				b = append(b, byte(rng.Intn(0x80)))
			}
		}
		texts = append(texts, string(b))
	}
	buf := []byte("pre")
	for _, s := range texts {
		buf = appendLower(buf[:3], s)
		if got, want := string(buf[3:]), strings.ToLower(s); got != want || string(buf[:3]) != "pre" {
			t.Fatalf("appendLower(%q) = %q, strings.ToLower %q", s, got, want)
		}
	}
}

// TestForwardedAddressMatchesParseAddress checks forwardedAddress against
// parseAddress (net/mail, then the email pattern) on the "From:" values of
// the fixtures' forwards and on generated ones: names plain, quoted,
// dotted, not ASCII or encoded, addresses bare, in brackets or broken,
// comments, lists and groups, white space of every kind around them.
func TestForwardedAddressMatchesParseAddress(t *testing.T) {
	values := []string{"Olga Ivanova <olga.ivanova@example.ru>", " Sarah Kim <sarah.kim@example.com> ",
		"sarah@example.com", "\u00a0Ann <a@b.c>\u2003", "Ann <A@B.C>", "=?utf-8?q?Ann?= <a@b.c>", "<a@b.c>", ""}
	rng := rand.New(rand.NewSource(6))
	words := []string{"Ann", "Lee", "ann", "a.b", ".a", "a.", "O'Neil", "J.", "Dr.", "x!#$%&'*+/=?^_`{|}~-",
		`"Ann Lee"`, `"Lee, Ann"`, `""`, `"a\"b"`, `"(x)"`, `"Ann`, `"é"`, "é", "Ánn", "Иван", "=?utf-8?q?a?=", "=?x",
		"(comment)", "<", ">", "@", ",", ";", ":", "[", "]", "\\", "\"", "\x01", "\x7f", "\xff", "a@b", "<a@b.c>",
		"<A.B@C.D>", "<.a@b.c>", "<a@b..c>", "<a@[1.2.3.4]>", "<\"a b\"@c.d>", "<a@b.c", "a@b.c>", "<>", "< a@b.c>",
		"<a@b.c >", "a@b.c", "Ann+Tag@Example.com", "a@b", "a@-b.c", "Group:"}
	seps := []string{" ", " ", "", "  ", "\t", ", ", "\u00a0", " (c) ", "\r"}
	addrs := []string{"<a@b.c>", "<A.B@C.D>", "<ann+tag@example.com>", "a@b.c", "<a@b..c>", "<a@b.c", "<>"}
	for i := 0; i < 30000; i++ {
		v := randomText(rng, 1+rng.Intn(4), words, seps)
		if i%2 == 0 {
			// Mostly well-formed: a display name and an address.
			v = seps[rng.Intn(7)] + randomText(rng, rng.Intn(4), words[:20], []string{" ", " ", "", "\t"}) +
				addrs[rng.Intn(len(addrs))] + seps[rng.Intn(7)]
		}
		values = append(values, v)
	}
	fast := 0
	for _, v := range values {
		name, addr := forwardedAddress(v)
		wantName, wantAddr := parseAddress(v)
		if name != wantName || addr != wantAddr {
			t.Fatalf("forwardedAddress(%q) = %q, %q; parseAddress %q, %q", v, name, addr, wantName, wantAddr)
		}
		if _, _, ok := simpleAddress(strings.TrimSpace(v)); ok && !strings.Contains(v, "=?") {
			fast++
		}
	}
	t.Logf("%d of %d took the shortcut", fast, len(values))
	if fast < 3000 {
		t.Errorf("only %d of the values took the shortcut", fast)
	}
}

// tidyTextPlain is tidyText as it was first written, over a string.
func tidyTextPlain(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(strings.TrimSpace(l), "\t")
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// TestTidyTextMatchesSplitJoin checks tidyText, which works in place,
// against tidyTextPlain on the fixtures' HTML made text and on generated
// text: lines of words, blank lines in runs, white space of every kind
// (tabs, CRs, no-break and ideographic spaces) at their ends, bytes that
// are not UTF-8, text that starts or ends with a line break.
func TestTidyTextMatchesSplitJoin(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, string(readFixture(t, name)))
	}
	rng := rand.New(rand.NewSource(7))
	words := []string{"Name", "Ana", "é", "预约", "-", "\t", " ", "  ", "\n", "\n", "\n\n", "\r", "\u00a0", "\u3000",
		"\u0085", "\u2028", "\xff", "\xc2", "\v", ""}
	for i := 0; i < 30000; i++ {
		texts = append(texts, randomText(rng, rng.Intn(12), words, []string{"", " ", "\n", "\t", "\n \n"}))
	}
	for _, s := range texts {
		buf := []byte(s)
		if got, want := tidyText(buf), tidyTextPlain(s); got != want {
			t.Fatalf("tidyText(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestTrimMarksMatchesTrim checks trimMarks against strings.Trim with its
// two cutsets on generated text: marks, spaces and other bytes at both
// ends and inside, text of marks only, runes that are not ASCII.
func TestTrimMarksMatchesTrim(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	words := []string{"*", "_", " ", "**", "__", "\t", "Name", "a", "é", "\u00a0", "\xff", "-", ""}
	for i := 0; i < 30000; i++ {
		s := randomText(rng, rng.Intn(8), words, []string{"", "", " ", "*"})
		if got, want := trimMarks(s, true), strings.Trim(s, "*_ "); got != want {
			t.Fatalf("trimMarks(%q, true) = %q, want %q", s, got, want)
		}
		if got, want := trimMarks(s, false), strings.Trim(s, "*_"); got != want {
			t.Fatalf("trimMarks(%q, false) = %q, want %q", s, got, want)
		}
	}
}

// TestJoinMessageMatchesJoin checks joinMessage against the concatenation
// and join it replaces, on generated values and lines: empty ones, white
// space of every kind at their ends, none or many lines.
func TestJoinMessageMatchesJoin(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	words := []string{"Lower", "back", "pain", "é", "预约", " ", "\t", "\n", "\u00a0", "\u3000", "\xff", ""}
	for i := 0; i < 30000; i++ {
		value := randomText(rng, rng.Intn(4), words, []string{"", " "})
		var more []string
		for n := rng.Intn(4) * rng.Intn(8); len(more) < n; {
			more = append(more, randomText(rng, rng.Intn(4), words, []string{"", " "}))
		}
		if got, want := joinMessage(value, more), strings.TrimSpace(value+"\n"+strings.Join(more, "\n")); got != want {
			t.Fatalf("joinMessage(%q, %q) = %q, want %q", value, more, got, want)
		}
	}
}

// mayBeAttributionPlain is mayBeAttribution as it was first written, with
// strings.ToLower.
func mayBeAttributionPlain(t string) bool {
	switch {
	case strings.HasSuffix(t, ":"):
		tail := t
		if len(tail) > 32 {
			tail = tail[len(tail)-32:]
		}
		tail = strings.TrimRight(strings.TrimSuffix(strings.ToLower(tail), ":"), " \t\n\f\r")
		for _, w := range attributionWords {
			if strings.HasSuffix(tail, w) {
				return true
			}
		}
		return false
	case strings.HasPrefix(t, "__"):
		return true
	case strings.HasPrefix(t, "--"):
		return strings.Contains(strings.ToLower(t), "original")
	}
	return false
}

// TestMayBeAttributionMatchesToLower checks mayBeAttribution against
// mayBeAttributionPlain on generated lines: attribution words in any case
// and script (ESCRIBIÓ, ПИШЕТ, VIẾT), long lines whose last 32 bytes start
// inside a character, white space and colons before the end, bytes that
// are not UTF-8, label lines.
func TestMayBeAttributionMatchesToLower(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	words := append([]string{"On", "Mon", "Ann", "<a@b.c>", "Name", "Message", "ÉCRIT", "ESCRIBIÓ", "ПИШЕТ", "VIẾT",
		"WROTE", "Schrieb", "é", "预约", "\xff", "\xe2\x82", " ", "\t", "\f", ":", "::", "__", "--", "Original", "ORİGINAL"},
		attributionWords...)
	trues := 0
	for i := 0; i < 30000; i++ {
		s := randomText(rng, rng.Intn(10), words, []string{"", " ", " ", "\t"})
		if rng.Intn(2) == 0 {
			s += []string{":", " :", "\t:", "::", ": "}[rng.Intn(5)]
		}
		got, want := mayBeAttribution(s), mayBeAttributionPlain(s)
		if got != want {
			t.Fatalf("mayBeAttribution(%q) = %v, want %v", s, got, want)
		}
		if got {
			trues++
		}
	}
	if trues < 2000 {
		t.Errorf("only %d generated lines may be attributions", trues)
	}
}

// findForwardedPlain is findForwarded as it was first written: keys
// lower-cased by strings.ToLower, the body's lines collected and joined,
// the sender read by parseAddress.
func findForwardedPlain(text string, lower []byte, subject string) (forwardedBlock, bool) {
	// forwardMarker matches only a line of dashes around words, or "Begin
	// forwarded message:" ("forwarded" has no letter with a case variant
	// outside ASCII): a text with neither "--" nor "forwarded" has none,
	// and two searches rule that out sooner than the triggers' eight.
	if !strings.Contains(text, "--") && !bytes.Contains(lower, []byte("forwarded")) {
		return forwardedBlock{}, false
	}
	if !containsAnyBytes(lower, forwardTriggers) {
		return forwardedBlock{}, false
	}
	loc := findForwardMarker(text)
	if loc == nil {
		return forwardedBlock{}, false
	}
	marker := strings.ToLower(text[loc[0]:loc[1]])
	if strings.Contains(marker, "original message") && !forwardSubject.MatchString(subject) {
		return forwardedBlock{}, false // a reply's quoted history, not a forward
	}
	rest := strings.TrimLeft(text[loc[1]:], "\r\n")
	lines := strings.Split(rest, "\n")
	var fb forwardedBlock
	i := 0
	for ; i < len(lines) && i < 30; i++ {
		line := strings.TrimSpace(strings.TrimLeft(lines[i], "> "))
		if line == "" {
			if fb.email != "" || fb.name != "" {
				i++
				break
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			break
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "from", "de", "von", "от", "发件人", "từ", "expéditeur":
			fb.name, fb.email = parseAddress(v)
		}
	}
	if i > len(lines) {
		i = len(lines)
	}
	var body []string
	for _, l := range lines[i:] {
		body = append(body, strings.TrimPrefix(strings.TrimPrefix(l, ">"), " "))
	}
	fb.body = strings.Join(body, "\n")
	return fb, fb.email != "" || fb.name != ""
}

// TestFindForwardedMatchesPlain checks findForwarded against
// findForwardedPlain on the fixtures' texts and on generated forwards:
// markers of each language, header keys in any case and script, quoted
// and blank lines between and after them, bodies of none to many lines.
func TestFindForwardedMatchesPlain(t *testing.T) {
	var texts []string
	for _, name := range fixtureNames(t) {
		texts = append(texts, ParseRequest(readFixture(t, name), testParseOptions).BodyText)
	}
	rng := rand.New(rand.NewSource(11))
	markers := []string{"---------- Forwarded message ---------", "Begin forwarded message:", "-----Original Message-----",
		"-------- Mensaje reenviado --------", "-------- Message transféré --------", "-------- Пересылаемое сообщение --------",
		"---- 转发的邮件 ----", "-------- Weitergeleitete Nachricht --------", "-- not a marker --", ""}
	keys := []string{"From", "FROM", "from", "De", "Von", "От", "ОТ", "发件人", "Từ", "TỪ", "Expéditeur", "EXPÉDITEUR",
		"Date", "Subject", "To", "Fecha", "> From", " From ", "Frоm", strings.Repeat("K", 70), "İ"}
	values := []string{"Ann Lee <ann@example.com>", "ann@example.com", `"Lee, Ann" <A@B.C>`, "Mon, 7 Dec 2026", "Hi",
		"=?utf-8?q?Ann?= <a@b.c>", "", "x:y"}
	bodyLines := []string{"Hello", "> quoted", ">> deep", "> ", ">", "", "Name: Ann", "  indented", "é预约", "\xff"}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		b.WriteString(randomText(rng, rng.Intn(3), bodyLines, []string{"\n"}))
		b.WriteString(markers[rng.Intn(len(markers))] + []string{"\n", "\r\n", "\n\n", ""}[rng.Intn(4)])
		for n := rng.Intn(6); n > 0; n-- {
			prefix := []string{"", "> ", ">", " "}[rng.Intn(4)]
			b.WriteString(prefix + keys[rng.Intn(len(keys))] + ":" + []string{" ", "", "  "}[rng.Intn(3)] +
				values[rng.Intn(len(values))] + "\n")
			if rng.Intn(5) == 0 {
				b.WriteString("\n")
			}
		}
		b.WriteString(randomText(rng, rng.Intn(8), bodyLines, []string{"\n", "\n", "\r\n"}))
		texts = append(texts, b.String())
	}
	found := 0
	for i, text := range texts {
		lower := appendLower(nil, text)
		// A forward's subject, or a reply's ("original message" markers
		// are forwards only under the first).
		for _, subject := range []string{[]string{"Fwd: visit", "Re: visit"}[i%2]} {
			got, gotOK := findForwarded(text, lower, subject)
			want, wantOK := findForwardedPlain(text, lower, subject)
			if got != want || gotOK != wantOK {
				t.Fatalf("findForwarded(%q, %q) = %+v, %v; want %+v, %v", text, subject, got, gotOK, want, wantOK)
			}
			if gotOK {
				found++
			}
		}
	}
	if found < 3000 {
		t.Errorf("only %d generated texts were forwards", found)
	}
}

// stripQuoted removes quoted reply history: lines starting with ">" and
// everything after an "On … wrote:" attribution. It returns the text left
// and its lines (strings.Split(kept, "\n"), which it has at hand).
func stripQuoted(text string) (kept string, lines []string) {
	return stripQuotedLines(text, splitLines(nil, text))
}
