package mailbox

import (
	"encoding/base64"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// walkState is what walking a message leaves in the parser: all that
// finish reads of it.
type walkState struct {
	Plain, HTML, Cals []string
	Problems          []string
	Parts, TextLen    int
	Stopped           bool
	Embedded          any
}

// walkBothWays walks raw with the walk's shortcuts and without them.
func walkBothWays(raw []byte) (fast, slow walkState) {
	walk := func() walkState {
		p := &parser{opts: testParseOptions.withDefaults()}
		p.parse(raw)
		s := walkState{p.plain, p.html, p.cals, p.req.Problems, p.parts, p.textLen, p.stopped, nil}
		if p.embedded != nil {
			s.Embedded = p.embedded.Header.Map()
		}
		p.release()
		return s
	}
	fast = walk()
	walkShortcuts = false
	defer func() { walkShortcuts = true }()
	return fast, walk()
}

// multipartVariant is a multipart message, nested up to depth more
// levels, laid out as usual or with the mistakes and near misses that
// change how go-message reads it: boundaries quoted, long, holding "=?",
// prefixes of others or empty; preambles with delimiter-like lines or
// long lines, and epilogues; LF and CRLF, mixed; spaces after delimiters;
// delimiters missing, doubled or glued to data, closing delimiters
// missing or followed by junk; part headers folded, repeated, missing,
// broken or unterminated; text in charsets known and not, transfer
// encodings good, invalid or unknown; attachments, calendars, attached
// messages; data starting with the boundary or holding near-delimiters.
func multipartVariant(rng *rand.Rand, depth int, flawy bool) string {
	eol := []string{"\r\n", "\n"}[rng.Intn(2)]
	pick := func(s ...string) string { return s[rng.Intn(len(s))] }
	maybe := func(n int) bool { return rng.Intn(n) == 0 }
	flaw := func(n int) bool { return flawy && rng.Intn(n) == 0 } // one of the flaws, in flawy messages
	e := func() string {                                          // a line end, now and then the other one
		if flaw(20) {
			return pick("\r\n", "\n", "\r\r\n", "")
		}
		return eol
	}
	boundary := pick("b1", "b", "----=_Part_12_345.678", "=_abc", "0000000000001234abcd", strings.Repeat("z", 70),
		"a b c", "b1b", "x'()+_,-./:=?")
	if flaw(4) {
		boundary = pick("=?x?=", strings.Repeat("q", 230), "")
	}
	var ct string
	switch k := rng.Intn(12); {
	case k < 3 && !flaw(2):
		ct = "multipart/mixed; boundary=\"" + boundary + "\""
	case k == 0:
		ct = "multipart/alternative; boundary=\"" + boundary + "\""
	case k == 1:
		ct = "Multipart/Mixed; boundary=" + boundary
	case k == 2:
		ct = "multipart/mixed; boundary=" + boundary + "; charset=utf-8"
	case k == 3:
		ct = "multipart/mixed;boundary=\"" + boundary + "\""
	default:
		ct = "multipart/" + pick("mixed", "alternative", "related", "report") + "; boundary=" + boundary
		if strings.ContainsAny(boundary, " =?'()+,/:") {
			ct = "multipart/mixed; boundary=\"" + boundary + "\""
		}
	}
	var b strings.Builder
	b.WriteString("Content-Type: " + ct + e())
	if maybe(10) {
		b.WriteString("Content-Transfer-Encoding: " + pick("7bit", "quoted-printable", "base64") + e())
	}
	b.WriteString(e())
	if !maybe(3) {
		b.WriteString(pick("This is a multi-part message in MIME format.", "", "preamble", "-- "+boundary) + e())
	}
	if flaw(6) {
		b.WriteString(pick("--"+boundary+"x", "--"+boundary+"--", strings.Repeat("p", 1200)) + e())
	}
	delim := func() string {
		d := "--" + boundary
		if maybe(15) {
			d += pick(" ", "\t", "  \t")
		}
		if flaw(20) {
			d += pick("x", "--", "-")
		}
		return d + e()
	}
	n := 1 + rng.Intn(4)
	for i := 0; i < n; i++ {
		b.WriteString(delim())
		// The part's header.
		switch k := rng.Intn(20); {
		case k == 0: // none
		case k == 1 && flawy:
			b.WriteString(" folded first line" + e())
		case k == 2 && flawy:
			b.WriteString("no colon here" + e())
		default:
			for k := rng.Intn(4); k > 0; k-- {
				switch rng.Intn(4) {
				case 0, 1:
					b.WriteString(pick("Content-Type", "content-type", "Content-type ") + ": " + pick("text/plain", "text/html", "text/plain",
						"text/calendar", "image/png", "message/rfc822", "application/pdf; name=a.pdf", "TEXT/PLAIN", "text") +
						pick("", "", "; charset=utf-8", "; charset=\"iso-8859-1\"", "; charset=windows-1251", "; charset=x-unknown",
							"; format=flowed") + e())
				case 2:
					b.WriteString("Content-Transfer-Encoding: " + pick("quoted-printable", "base64", "7bit", "8bit", "x-bogus", "BASE64") + e())
				case 3:
					b.WriteString("Content-Disposition: " + pick("attachment; filename=a.txt", "inline", "attachment") + e())
				}
			}
			if maybe(6) {
				b.WriteString("X-Folded: one" + e() + "\ttwo" + e())
			}
		}
		if !flaw(15) {
			b.WriteString(e()) // the blank line ending the header
		}
		// The part's data.
		if depth > 0 && maybe(4) {
			b.WriteString(multipartVariant(rng, depth-1, flawy))
		} else {
			switch rng.Intn(12) {
			case 0:
				b.WriteString(base64.StdEncoding.EncodeToString([]byte("Name: Ann Lee"+eol+"Phone: 503-555-0142"+eol)) + e())
			case 1:
				b.WriteString("SGVsbG8!!" + e() + "=ZZ bad=" + e())
			case 2:
				b.WriteString("caf=C3=A9 =" + e() + "soft caf\xe9 \xcf\xf0\xe8" + e())
			case 3:
				if flawy {
					b.WriteString("--" + boundary + pick("", "x", " ", "--") + e() + "data" + e())
				}
			case 4:
				b.WriteString("text" + e() + "--" + boundary + "x not a delimiter" + e() + "more" + e())
			case 5:
				b.WriteString("From: Inner <inner@example.com>" + e() + "Subject: fwd" + e() + e() + "Inner text 503-555-0199" + e())
			case 6:
				b.WriteString("BEGIN:VCALENDAR" + e() + "BEGIN:VEVENT" + e() + "DTSTART:20261201T150000Z" + e() + "END:VEVENT" + e() + "END:VCALENDAR" + e())
			case 7: // empty
			default:
				b.WriteString("Hello, my name is Ann Lee, phone 503-555-0142." + e() + "I have back pain." + e())
			}
		}
		if maybe(30) {
			b.WriteString(e()) // an extra line end
		}
		if flaw(15) {
			continue // no line end before the delimiter: glued to the data
		}
		b.WriteString(pick(eol, eol, eol, eol, eol, "\r\n", "\n"))
	}
	switch k := rng.Intn(12); {
	case k == 0 && flawy: // no closing delimiter
	case k == 1:
		b.WriteString("--" + boundary + "--") // at the end, no line end
	case k == 2 && flawy:
		b.WriteString("--" + boundary + "--" + pick(" ", "x", "\r", "\t") + e())
	default:
		b.WriteString("--" + boundary + "--" + e())
		if maybe(3) {
			b.WriteString("epilogue" + e() + "--" + boundary + e())
		}
	}
	return b.String()
}

// TestMultipartPartsMatchGoMessage checks that walking multiparts with
// multipartParts leaves what go-message's multipart reader does: the
// text, problems, parts counted and attached message, and ParseRequest's
// request, on the fixtures, prefixes of them, and generated multiparts
// (multipartVariant), whole, cut anywhere, and with bytes dropped.
func TestMultipartPartsMatchGoMessage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	check := func(what string, raw []byte) {
		t.Helper()
		fast, slow := walkBothWays(raw)
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s %q:\nwith multipartParts %+v\nwith go-message     %+v", what, raw, fast, slow)
		}
	}
	for _, name := range fixtureNames(t) {
		raw := readFixture(t, name)
		check(name, raw)
		f, s := parseBothWays(raw)
		if !reflect.DeepEqual(f, s) {
			t.Fatalf("%s:\nwith multipartParts %+v\nwith go-message     %+v", name, f, s)
		}
		for k := 0; k < 20; k++ {
			check(name+" cut", raw[:rng.Intn(len(raw)+1)])
		}
	}
	// Past the part and depth limits, with multipartParts at every level.
	var many strings.Builder
	many.WriteString("From: Ann <ann@example.com>\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n")
	for i := 0; i < maxMIMEParts+20; i++ {
		fmt.Fprintf(&many, "--m\r\nContent-Type: text/plain\r\n\r\nPart %d, 503-555-0142.\r\n", i)
	}
	many.WriteString("--m--\r\n")
	deep := "Phone: 503-555-0177\r\n"
	for d := maxMIMEDepth + 3; d >= 0; d-- {
		deep = fmt.Sprintf("Content-Type: multipart/mixed; boundary=d%d\r\n\r\n--d%d\r\nContent-Type: text/plain\r\n\r\nLevel %d\r\n"+
			"--d%d\r\n%s\r\n--d%d--\r\n", d, d, d, d, deep, d)
	}
	for what, raw := range map[string]string{"too many parts": many.String(), "too deep": "From: Ann <ann@example.com>\r\n" + deep} {
		if e, _, _, body, _, _ := readMessageBody([]byte(raw), nil); e != nil {
			if _, ok := multipartParts(e.Header.Get("Content-Type"), body, nil); !ok {
				t.Errorf("%s: not split by multipartParts", what)
			}
		}
		check(what, []byte(raw))
		if fast, _ := walkBothWays([]byte(raw)); !fast.Stopped {
			t.Errorf("%s: the walk did not stop", what)
		}
	}

	hits := 0
	const n = 20000
	for i := 0; i < n; i++ {
		eol := []string{"\r\n", "\n"}[i%2]
		raw := "From: Ann <ann@example.com>" + eol + "Subject: hi" + eol + "MIME-Version: 1.0" + eol + multipartVariant(rng, 2, i%3 == 0)
		switch rng.Intn(8) {
		case 0:
			raw = raw[:rng.Intn(len(raw)+1)]
		case 1:
			k := rng.Intn(len(raw))
			raw = raw[:k] + raw[k+1:]
		}
		if e, _, _, body, fast, _ := readMessageBody([]byte(raw), nil); fast {
			if _, ok := multipartParts(e.Header.Get("Content-Type"), body, nil); ok {
				hits++
			}
		}
		check(fmt.Sprint(i), []byte(raw))
		if i%32 == 0 {
			f, s := parseBothWays([]byte(raw))
			if !reflect.DeepEqual(f, s) {
				t.Fatalf("%q:\nwith multipartParts %+v\nwith go-message     %+v", raw, f, s)
			}
		}
	}
	t.Logf("%d of %d multiparts split by multipartParts", hits, n)
	if hits < n/4 || hits > n*3/4 {
		t.Errorf("%d of %d multiparts were split by multipartParts: the test no longer tells", hits, n)
	}
}
