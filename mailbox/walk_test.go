package mailbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand"
	"mime"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	message "github.com/emersion/go-message"
)

// parseBothWays parses raw with the walk's shortcuts and without them.
func parseBothWays(raw []byte) (fast, slow Request) {
	fast = ParseRequest(raw, testParseOptions)
	walkShortcuts = false
	defer func() { walkShortcuts = true }()
	slow = ParseRequest(raw, testParseOptions)
	return fast, slow
}

// nestedVariant is a message nesting multiparts about as deep as the
// depth limit, each the first part of the one around it, with the
// mistakes and near misses that change how go-message reads it: LF and
// CRLF, boundaries that are prefixes of others or repeat, delimiter lines
// in preambles, part headers folded, odd or broken, text parts above the
// limit, unknown charsets and encodings below it, parts unterminated, and
// messages cut anywhere.
func nestedVariant(rng *rand.Rand) []byte {
	eol := []string{"\r\n", "\n"}[rng.Intn(2)]
	depth := maxMIMEDepth - 3 + rng.Intn(10)
	if rng.Intn(4) == 0 {
		depth += rng.Intn(40)
	}
	// Most levels are clean; a few (none in a third of the messages)
	// have one flaw each, at an odd spot of the level.
	flaws := map[[2]int]int{} // level and spot: flaw
	for k := rng.Intn(4); k > 0; k-- {
		flaws[[2]int{rng.Intn(depth + 1), rng.Intn(8)}] = rng.Intn(12)
	}
	flaw := func(level, spot int) int {
		if f, ok := flaws[[2]int{level, spot}]; ok {
			return f
		}
		return -1
	}
	nl := func(level int) string {
		switch flaw(level, 0) {
		case 0:
			return "\r\r\n"
		case 1:
			return " \r\n"
		case 2:
			return []string{"\r\n", "\n"}[rng.Intn(2)]
		}
		return eol
	}
	boundaries := make([]string, depth)
	for i := range boundaries {
		boundaries[i] = fmt.Sprintf("b%d", i)
		switch flaw(i, 1) {
		case -1:
		case 0, 1, 2:
			if i > 0 {
				boundaries[i] = boundaries[rng.Intn(i)] // an enclosing level's
			}
		default:
			boundaries[i] = []string{"b", "b1", "b10", "x", "=_Part_1", "a b", "----=_NextPart", "b1-", "b1 ", "é", "", "=?utf-8?q?b?="}[rng.Intn(12)]
		}
	}
	contentType := func(i int) string {
		b := boundaries[i]
		sub := []string{"mixed", "alternative", "related", "Mixed"}[rng.Intn(4)]
		switch flaw(i, 2) {
		case 0:
			return "Content-Type: text/plain; charset=utf-8"
		case 1:
			return "Content-Type: message/rfc822"
		case 2:
			return "Content-Type: multipart/mixed"
		case 3:
			return "Content-Type: multipart/mixed; boundary=\"" + b
		case 4:
			return "Content-Type: multipart/" + sub + ";" + nl(i) + "\tboundary=\"" + b + "\""
		case 5:
			return "Content-Type: Multipart/" + sub + "; boundary=" + b
		case 6:
			return "content-type:multipart/" + sub + "; boundary=\"" + b + "\"; charset=x-unknown"
		case 7:
			return "Content-Type: multipart/" + sub + "; boundary*=utf-8''" + b
		case 8:
			return "Content-Type: multipart/" + sub + "; boundary=\"=?utf-8?q?" + b + "?=\""
		case 9:
			return "Content-Type: multipart/" + sub + ";" + nl(i) + nl(i) + "\tboundary=\"" + b + "\""
		}
		return "Content-Type: multipart/" + sub + "; boundary=\"" + b + "\""
	}
	extraField := func(i, spot int) string {
		switch flaw(i, spot) {
		case 0:
			return "Content-Transfer-Encoding: base64" + nl(i)
		case 1:
			return "X-Note: a" + nl(i) + " b" + nl(i)
		case 2:
			return "no colon" + nl(i)
		case 3:
			return "Bad Key: x" + nl(i)
		case 4:
			return "Content-Type: text/plain" + nl(i) // a second one: the first counts
		case 5:
			return " folded first line" + nl(i)
		case 6:
			return ": no key" + nl(i)
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("From: Nest Ed <nest.ed@example.com>" + eol + "Subject: nested" + eol + "MIME-Version: 1.0" + eol)
	for i := 0; i < depth; i++ {
		b.WriteString(extraField(i, 3))
		b.WriteString(contentType(i) + nl(i))
		b.WriteString(extraField(i, 4))
		if flaw(i, 5) != 0 {
			b.WriteString(nl(i)) // the blank line ending the header
		}
		switch flaw(i, 6) {
		case 0, 1:
			b.WriteString("preamble " + fmt.Sprint(i) + nl(i))
		case 2, 3, 4, 5:
			b.WriteString("--" + boundaries[rng.Intn(i+1)] + []string{"", "--", "x", " ", "-"}[rng.Intn(5)] + nl(i))
		case 6:
			b.WriteString(strings.Repeat("p", []int{990, 1010, 4090, 4100, 5000}[rng.Intn(5)]) + nl(i))
		case 7:
			b.WriteString("x--" + boundaries[i] + nl(i))
		}
		b.WriteString("--" + boundaries[i] + []string{"", "", "", "", "", " ", "\t "}[rng.Intn(7)] + nl(i))
		if flaw(i, 7) == 0 {
			// A text part before the next level.
			b.WriteString("Content-Type: text/plain" + eol + eol + "Level text: 503-555-0100" + eol + "--" + boundaries[i] + eol)
		}
	}
	switch rng.Intn(6) {
	case 0:
		b.WriteString("Content-Type: text/plain; charset=x-unknown" + eol)
	case 1:
		b.WriteString("Content-Type: text/plain" + eol + "Content-Transfer-Encoding: x-bogus" + eol)
	case 2:
		b.WriteString("Content-Type: text/html; charset=iso-8859-1" + eol)
	case 3:
		b.WriteString("Content-Type: multipart/mixed; boundary=inner" + eol)
	default:
		b.WriteString("Content-Type: text/plain; charset=utf-8" + eol)
	}
	b.WriteString(eol + "Name: Nest Ed" + eol + "Phone: 503-555-0177" + eol)
	for i := depth - 1; i >= 0; i-- {
		if rng.Intn(8) == 0 {
			continue // unterminated
		}
		b.WriteString("--" + boundaries[i] + "--" + eol)
		if rng.Intn(5) == 0 {
			b.WriteString("epilogue" + eol)
		}
	}
	raw := b.String()
	switch rng.Intn(8) {
	case 0:
		raw = raw[:rng.Intn(len(raw)+1)]
	case 1:
		// A delimiter of some level somewhere.
		i := rng.Intn(len(raw) + 1)
		raw = raw[:i] + eol + "--" + boundaries[rng.Intn(depth)] + []string{"", "--", " ", "x"}[rng.Intn(4)] + eol + raw[i:]
	case 2:
		// Cut near the end of the deepest header.
		if i := strings.Index(raw, "Name: Nest Ed"); i >= 0 {
			raw = raw[:max(0, i-20+rng.Intn(60))]
		}
	}
	return []byte(raw)
}

// TestNestedTooDeeplyMatchesWalk checks that messages nested past the
// depth limit read the same with nestedTooDeeply as with the plain walk.
func TestNestedTooDeeplyMatchesWalk(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	hits := 0
	const n = 6000
	for i := 0; i < n; i++ {
		raw := nestedVariant(rng)
		if e, _, _, body, fast, _ := readMessageBody(raw, nil); fast {
			if _, ok := nestedTooDeeply(e.Header.Get("Content-Type"), body); ok {
				hits++
			}
		}
		fast, slow := parseBothWays(raw)
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nwith the shortcut    %+v\nwith the plain walk  %+v", raw, fast, slow)
		}
	}
	t.Logf("%d of %d took the shortcut", hits, n)
	if hits < n/10 || hits > n*9/10 {
		t.Errorf("%d of %d messages took the shortcut: the test no longer tells", hits, n)
	}
	if raw := nestedMessage(200, "Phone: 503-555-0177"); !tookShortcut(raw) {
		t.Errorf("200 levels do not take the shortcut")
	}
	if raw := readFixture(t, "hostile-nested.eml"); !tookShortcut(raw) {
		t.Errorf("hostile-nested.eml does not take the shortcut")
	}
	if raw := nestedMessage(maxMIMEDepth, "Phone: 503-555-0177"); tookShortcut(raw) {
		t.Errorf("a message as deep as the limit takes the shortcut")
	}
}

func tookShortcut(raw []byte) bool {
	e, _, _, body, fast, _ := readMessageBody(raw, nil)
	if !fast {
		return false
	}
	_, ok := nestedTooDeeply(e.Header.Get("Content-Type"), body)
	return ok
}

// withoutMIMEScaffoldingLineByLine is withoutMIMEScaffolding as it was
// first written, line by line into a growing builder: the reference for
// TestWithoutMIMEScaffoldingMatchesLineByLine.
func withoutMIMEScaffoldingLineByLine(body string) string {
	var b strings.Builder
	inHeader := false
	for len(body) > 0 {
		line := body
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = ""
		}
		t := strings.TrimRight(line, " \t\r")
		switch {
		case inHeader && t != "" && (t[0] == ' ' || t[0] == '\t'):
			continue // a part header's continuation
		case isBoundaryLine(t):
			inHeader = true // part headers follow a delimiter
			continue
		case inHeader && (hasPrefixFold(t, "content-") || hasPrefixFold(t, "mime-version:")):
			continue
		case t == "":
			inHeader = false
		}
		if inHeader {
			inHeader = false
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestWithoutMIMEScaffoldingMatchesLineByLine(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	lines := []string{"--b1", "--b1--", "--=_Part.1", "--a b", "--", "---", "-- ", "--" + strings.Repeat("x", 80),
		"Content-Type: text/plain", "content-transfer-encoding: 7bit", "CONTENT-", "MIME-Version: 1.0", "mime-version",
		" boundary=x", "\tcont", "", " ", "\t", "\r", "Phone: 503-555-0177", "Name: Ann", "text", "é", "\xff",
		"Content-Type: multipart/mixed;"}
	ends := []string{"\n", "\n", "\r\n", "\r\n", " \n", "\t\r\n", "\r\r\n"}
	for i := 0; i < 30000; i++ {
		var b strings.Builder
		for n := rng.Intn(12); n > 0; n-- {
			b.WriteString(lines[rng.Intn(len(lines))] + ends[rng.Intn(len(ends))])
		}
		if rng.Intn(3) == 0 {
			b.WriteString(lines[rng.Intn(len(lines))]) // a last line without a LF
		}
		in := b.String()
		if got, want := withoutMIMEScaffolding(in), withoutMIMEScaffoldingLineByLine(in); got != want {
			t.Fatalf("withoutMIMEScaffolding(%q)\n = %q\nwant %q", in, got, want)
		}
	}
	in := string(readFixture(t, "hostile-nested.eml"))
	if got, want := withoutMIMEScaffolding(in), withoutMIMEScaffoldingLineByLine(in); got != want {
		t.Fatalf("hostile-nested.eml: %q, want %q", got, want)
	}
}

// TestRawTextMatchesReplaceAll checks rawText against what it stands for,
// and that it leaves the message alone.
func TestRawTextMatchesReplaceAll(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"a", "é", "\r", "\n", "\r\n", "\r\r\n", "\x00", "\xff", "\xe4\xb8", "--b1", " "}
	p := &parser{}
	defer p.release()
	for i := 0; i < 20000; i++ {
		raw := []byte(randomText(rng, rng.Intn(40), words, []string{""}))
		orig := string(raw)
		p.opts.MaxPartBytes = 1 + rng.Intn(60)
		want := strings.ReplaceAll(validText(capBytes(raw, p.opts.MaxPartBytes)), "\r\n", "\n")
		if got := p.rawText(raw); got != want {
			t.Fatalf("rawText of %q (cap %d) = %q, want %q", raw, p.opts.MaxPartBytes, got, want)
		}
		if string(raw) != orig {
			t.Fatalf("rawText changed the message: %q, was %q", raw, orig)
		}
	}
}

// TestFieldValueMatchesGoMessage checks fieldValue against the value
// textproto gives a field, folded, with CRs, spaces and tabs anywhere.
func TestFieldValueMatchesGoMessage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"multipart/mixed;", "boundary=\"b1\"", "a", "é", " ", "  ", "\t", "\r", ":", ";", "\xff"}
	eols := []string{"\r\n", "\n", "\r\r\n"}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		b.WriteString([]string{"Content-Type:", "content-type :", "Content-Type:  "}[rng.Intn(3)])
		for n := rng.Intn(4); n >= 0; n-- {
			b.WriteString(randomText(rng, rng.Intn(4), words, []string{"", " "}))
			b.WriteString(eols[rng.Intn(len(eols))])
			if n > 0 {
				b.WriteString([]string{" ", "\t", "  "}[rng.Intn(3)]) // a continuation line
			}
		}
		field := b.String()
		h, _, _, ok := readTopHeader([]byte(field + "\r\n"))
		if !ok {
			continue
		}
		if got, want := string(fieldValue(nil, []byte(field))), h.Get("Content-Type"); got != want {
			t.Fatalf("fieldValue(%q) = %q, textproto %q", field, got, want)
		}
	}
}

// TestPartTypeMatchesContentType checks partType against go-message's
// ContentType on generated Content-Type values, usual and odd.
func TestPartTypeMatchesContentType(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	types := []string{"text/plain", "text/html", "Text/Plain", "TEXT/HTML", "text/calendar", "application/ics",
		"message/rfc822", "multipart/alternative", "image/png", "application/vnd.ms-excel", "text/x-vcard",
		"text+x/a.b", "text", "text/", "/plain", "text /plain", "text/pl ain", "text/plain/x", "tëxt/plain", "",
		"text/plain;", "a/b(c)", "text/plain\x00"}
	params := []string{"", "; charset=utf-8", ";charset=utf-8", "; charset=UTF-8", "; charset=\"utf-8\"",
		"; charset=iso-8859-1", "; charset=windows-1251", "; charset=x_mac.roman", "; charset=", "; charset=\"\"",
		"; charset=\"utf-8", "; charset=utf-8\"", "; charset=utf 8", "; charset=a:b", "; charset=\"a:b\"",
		"; charset=\"a b\"", "; charset=\"a\\\"b\"", "; CHARSET=utf-8", "; charset =utf-8", ";  charset=utf-8",
		"; charset*=utf-8''x", "; charset==?utf-8?q?x?=", "; format=flowed", "; charset=utf-8; format=flowed",
		"; charset=utf-8;", "; charset=utf-8 ", "; boundary=\"b1\"", "; charset=é", "; charset=utf-8; charset=x"}
	fast := 0
	for i := 0; i < 20000; i++ {
		v := types[rng.Intn(len(types))] + params[rng.Intn(len(params))]
		var h message.Header
		h.Set("Content-Type", v)
		wantType, wantParams, err := h.ContentType()
		if err != nil && wantType == "" {
			wantType = "text/plain"
		}
		gotType, gotCharset := partType(&h)
		if gotType != wantType || gotCharset != wantParams["charset"] {
			t.Fatalf("partType(%q) = %q, %q; ContentType %q, %q", v, gotType, gotCharset, wantType, wantParams["charset"])
		}
		if _, _, ok := simpleContentType(h.Get("Content-Type")); ok {
			fast++
		}
	}
	if fast < 2000 {
		t.Errorf("only %d of the values were read by simpleContentType", fast)
	}
}

// TestSimpleMultipartBoundaryMatchesMime checks simpleMultipartBoundary
// against mime.ParseMediaType on generated Content-Type values, usual and
// odd: whenever it reads one, ParseMediaType reads a multipart type with
// the same boundary.
func TestSimpleMultipartBoundaryMatchesMime(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	types := []string{"multipart/mixed", "multipart/alternative", "multipart/x.y+z-1", "Multipart/Mixed",
		"multipart/", "multipart", "multipart/mixed/x", "multipart/mi xed", "text/plain", "multipart/mixé", ""}
	seps := []string{";", "; ", ";  ", " ;", ";\t", "", ";;"}
	keys := []string{"boundary=", "Boundary=", "boundary =", "boundary= ", "charset=", "boundary"}
	read := 0
	words := []string{"b1", "=_Part_1", "----=_NextPart_000_0012", "a b", "a\"b", "a\\b", "a\\\"b", "x;y", "é",
		"\t", "'()+_,-./:=?", "a@b", "x*", "{}", "\x7f", "", "="}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		// Mostly the usual forms (the first of each list), with odd ones mixed in.
		pick := func(list []string, usual int) string {
			if rng.Intn(3) != 0 {
				return list[rng.Intn(usual)]
			}
			return list[rng.Intn(len(list))]
		}
		b.WriteString(pick(types, 3))
		b.WriteString(pick(seps, 2))
		b.WriteString(pick(keys, 1))
		value := randomText(rng, 1+rng.Intn(3), words, []string{""})
		switch rng.Intn(4) {
		case 0, 1:
			value = `"` + value + `"`
		case 2:
			value = `"` + value
		}
		b.WriteString(value)
		if rng.Intn(5) == 0 {
			b.WriteString([]string{" ", ";", "; charset=utf-8", "\"", "; boundary=x"}[rng.Intn(5)])
		}
		v := b.String()
		gotBytes, ok := simpleMultipartBoundary([]byte(v))
		got := string(gotBytes)
		if !ok {
			continue
		}
		read++
		mediaType, params, err := mime.ParseMediaType(v)
		if err != nil || !strings.HasPrefix(mediaType, "multipart/") || params["boundary"] != got {
			t.Fatalf("simpleMultipartBoundary(%q) = %q; ParseMediaType %q %q %v", v, got, mediaType, params, err)
		}
	}
	if _, ok := simpleMultipartBoundary([]byte(`multipart/mixed; boundary="b1"`)); !ok || read < 1000 {
		t.Errorf("the usual form is not read, or too few values were (%d)", read)
	}
}

// scribbler is a reader that uses all of the slice it is given as scratch
// space, as io.Reader allows, and hands on one byte per Read.
type scribbler struct{ n int }

func (s *scribbler) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = 'x'
	}
	s.n--
	return 1, nil
}

// TestReleaseLeavesNoText checks that the scratch buffer goes back to the
// pool all zeros although release clears only what the message may have
// written (scratchUsed), and the lines slice without a string pointing
// anywhere (empty lines too): parts of every transfer encoding and size, a
// buffer grown and then reused by a shorter message, undecoded bodies,
// and a reader that scribbles over all of the slice it is given.
func TestReleaseLeavesNoText(t *testing.T) {
	buf := make([]byte, 0, 8<<10)
	checked := 0   // messages read with a buffer grown past its first size
	qpChecked := 0 // messages read through a qpBody
	check := func(what string, p *parser) {
		t.Helper()
		s, lines, qp := p.scratch, p.lines, p.qp
		p.release()
		if qp != nil {
			// bufio keeps its buffer unexported: reflect reads it.
			buf := reflect.ValueOf(qp.br).Elem().FieldByName("buf").Bytes()
			if len(buf) != qpBufferSize {
				t.Fatalf("%s: the pooled qpBody's buffer is %d bytes", what, len(buf))
			}
			if i := bytes.IndexFunc(buf, func(r rune) bool { return r != 0 }); i >= 0 {
				t.Fatalf("%s: the pooled qpBody's buffer holds text at %d", what, i)
			}
			if qp.body.Len() != 0 {
				t.Fatalf("%s: the pooled qpBody still reads %d bytes", what, qp.body.Len())
			}
			qpChecked++
		}
		if lines != nil && cap(*lines) <= maxPooledLines {
			for i, l := range (*lines)[:cap(*lines)] {
				if unsafe.StringData(l) != nil {
					t.Fatalf("%s: the pooled lines (%d) keep text alive at %d: %q", what, cap(*lines), i, l)
				}
			}
		}
		if s == nil {
			return
		}
		if cap(*s) > maxPooledScratch {
			buf = make([]byte, 0, 8<<10) // not pooled: the next message gets a new one
			return
		}
		if i := bytes.IndexFunc((*s)[:cap(*s)], func(r rune) bool { return r != 0 }); i >= 0 {
			t.Fatalf("%s: the pooled buffer (%d bytes) holds text at %d", what, cap(*s), i)
		}
		if cap(*s) > 8<<10 {
			checked++
		}
		buf = (*s)[:0] // the next message gets the same buffer, as from the pool
	}
	parse := func(what string, raw []byte) {
		t.Helper()
		p := &parser{opts: testParseOptions.withDefaults(), scratch: &buf}
		p.parse(raw)
		p.finish()
		check(what, p)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		size := []int{10, 3000, 4095, 4097, 9000, 40000, 70000}[rng.Intn(7)]
		text := strings.Repeat("Call me at 503-555-0142, thanks é.\r\n", size/36+1)[:size]
		var body string
		switch rng.Intn(4) {
		case 0:
			body = "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + strings.ReplaceAll(text, "é", "=C3=A9")
		case 1:
			body = "Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(text))
		case 2:
			body = "Content-Transfer-Encoding: x-bogus\r\n\r\n" + text // shown undecoded
		default:
			body = "\r\n" + text
		}
		raw := "From: Ann <ann@example.com>\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
			"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n" + body + "\r\n--b1--\r\n"
		if i%2 == 1 { // a message of one part (singlePartEntity)
			raw = "From: Ann <ann@example.com>\r\nSubject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n" + body
		}
		parse(fmt.Sprintf("part of %d bytes, %d", size, i), []byte(raw))
	}
	for _, name := range fixtureNames(t) {
		parse(name, readFixture(t, name))
	}
	for _, n := range []int{1, 5000, 9000} {
		p := &parser{opts: testParseOptions.withDefaults(), scratch: &buf}
		if _, err := p.readAll(&scribbler{n: n}, 1<<20); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("scribbler of %d", n), p)
	}
	if checked < 50 {
		t.Errorf("only %d messages were read with a grown buffer", checked)
	}
	if qpChecked < 30 {
		t.Errorf("only %d messages were read through a qpBody", qpChecked)
	}
}

// TestSinglePartEntityMatchesGoMessage checks the entity readMessageBody
// makes against the one message.New makes from the whole header
// (readMessage): media type, charset and attachment as walk reads them,
// whether it is a multipart, the error, and the decoded body and its
// read error, on generated headers (Content-Type, transfer encoding and
// disposition usual, odd, repeated or missing) and bodies (quoted-printable
// and base64 good and broken, 8-bit bytes, longer than the 4 KiB
// charsetReader converts at once).
func TestSinglePartEntityMatchesGoMessage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	types := []string{"text/plain", "text/html", "TEXT/PLAIN", "text/calendar", "application/ics", "message/rfc822",
		"image/png", "multipart/mixed", "multipart/mixed; boundary=b1", "text/plain; format=flowed", "text/plain;",
		"text", "", "application/octet-stream; name=a.bin"}
	charsets := []string{"", "; charset=utf-8", "; charset=UTF-8", "; charset=us-ascii", "; charset=\"iso-8859-1\"",
		"; charset=windows-1251", "; charset=x-unknown", "; charset=GB18030", "; charset=ISO-2022-JP", "; charset=ascii"}
	encodings := []string{"", "7bit", "8bit", "binary", "quoted-printable", "Quoted-Printable", "base64", "BASE64", "x-bogus", "uuencode"}
	dispositions := []string{"", "attachment", "ATTACHMENT", "inline", "attachment; filename=a.txt", "attachment;",
		"attachment; filename=\"a b", "inline; filename=a.txt", "form-data", "x y"}
	bodies := []string{"Hello, 503-555-0142.\r\n", "caf=C3=A9 =\r\nsoft\r\n", "=ZZ bad\r\n", "caf\xe9 \xcf\xf0\xe8\r\n",
		"SGVsbG8g\r\nd29ybGQ=\r\n", "SGVs bG8g\td29y\r\nbGQ=\r\n", "SGVsbG8!!\r\n", "", "\x1b$B$3$s$K$A$O\x1b(B\r\n",
		strings.Repeat("Long line of text =C3=A9 caf\xe9 SGVsbG8g\r\n", 200)}
	fast := 0
	const n = 20000
	for i := 0; i < n; i++ {
		eol := []string{"\r\n", "\n"}[i%2]
		var b strings.Builder
		b.WriteString("From: Ann <ann@example.com>" + eol + "Subject: hi" + eol)
		for k := rng.Intn(5); k > 0; k-- {
			switch rng.Intn(3) {
			case 0:
				ct := types[rng.Intn(len(types))]
				if rng.Intn(2) == 0 {
					ct += charsets[rng.Intn(len(charsets))]
				}
				b.WriteString([]string{"Content-Type", "content-type"}[rng.Intn(2)] + ": " + ct + eol)
			case 1:
				b.WriteString("Content-Transfer-Encoding: " + encodings[rng.Intn(len(encodings))] + eol)
			case 2:
				b.WriteString("Content-Disposition: " + dispositions[rng.Intn(len(dispositions))] + eol)
			}
		}
		b.WriteString(eol + bodies[rng.Intn(len(bodies))])
		raw := []byte(b.String())

		want, _, wantErr := readMessage(raw)
		var p *parser // odd messages: with the parser's buffers (qpSource)
		if i%2 == 1 {
			p = &parser{}
		}
		got, typ, _, _, _, gotErr := readMessageBody(raw, p)
		if (want == nil) != (got == nil) || fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Fatalf("%q: readMessageBody gives %v, %v; message.New %v, %v", raw, got != nil, gotErr, want != nil, wantErr)
		}
		if want == nil {
			continue
		}
		wantType, wantCharset := partType(&want.Header)
		disposition, _, _ := want.Header.ContentDisposition()
		wantAttachment := strings.EqualFold(disposition, "attachment")
		if typ == nil {
			// Read by message.New: the header made from the fields
			// (entityFields.header) must be readTopHeader's.
			for _, k := range topHeaderFields[numTopFields:] {
				if g, w := got.Header.Values(k), want.Header.Values(k); !slices.Equal(g, w) {
					t.Fatalf("%q: %s = %q, readTopHeader %q", raw, k, g, w)
				}
			}
		} else {
			fast++
			if typ.mediaType != wantType || typ.charset != wantCharset || typ.attachment != wantAttachment {
				t.Fatalf("%q: %+v; from the header %q %q %v", raw, *typ, wantType, wantCharset, wantAttachment)
			}
			if got.MultipartReader() != nil || want.MultipartReader() != nil {
				t.Fatalf("%q: a multipart read as one part", raw)
			}
		}
		gb, gErr := io.ReadAll(got.Body)
		wb, wErr := io.ReadAll(want.Body)
		if !bytes.Equal(gb, wb) || fmt.Sprint(gErr) != fmt.Sprint(wErr) {
			t.Fatalf("%q: body %q, %v; message.New %q, %v", raw, gb, gErr, wb, wErr)
		}
		if p != nil {
			p.release()
		}
	}
	t.Logf("%d of %d made without a header", fast, n)
	if fast < n/4 || fast > n*9/10 {
		t.Errorf("%d of %d messages were made without a header: the test no longer tells", fast, n)
	}
}

// readMessageBody is readTopMessage's results as the tests read them: the
// entity, what walk reads of its header (t, for a message of one part
// with a usual header), the top fields, and the raw body (the bytes
// after the header) when the header was read here (fast). When the
// header is one textproto.ReadHeader refuses, e is nil and err is
// errHeaderRefused. p, when not nil, lends singlePartEntity its buffers.
func readMessageBody(raw []byte, p *parser) (e *message.Entity, t *entityType, top topFields, body []byte, fast bool, err error) {
	m, _ := readTopMessage(raw, p, nil)
	return m.e, m.t, m.top, m.body, m.fast, m.err
}

// readMessage is message.ReadWithOptions(raw) with a header of only
// topHeaderFields, those of topFields given apart (ParseRequest reads
// messages with readMessageBody, which makes the entity without a header
// when it can). go-message reads a header field by field into fresh
// memory (a 256-byte line, the value, the key, a 4 KiB bufio buffer for
// the message), a tenth of all the parsing time, for the dozens of
// Received, DKIM and ARC fields real mail has and nothing reads. The
// fields are found here in raw as textproto.ReadHeader finds them (lines
// end in LF or CRLF, a line starting with a space or tab continues the
// field, a blank line or the end ends the header), and those wanted are
// added last first, as ReadHeader lists them, each with the value
// ReadHeader gives it (see readTopHeader). A header ReadHeader would
// refuse, or near its size limit, is left to go-message itself.
// TestReadMessageMatchesGoMessage compares the two. Only the tests read
// whole messages this way: ParseRequest reads them with readTopMessage.
func readMessage(raw []byte) (*message.Entity, topFields, error) {
	h, top, body, ok := readTopHeader(raw)
	if !ok {
		e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
		if e != nil {
			top = topFieldsOf(&e.Header.Header)
		}
		return e, top, err
	}
	e, err := message.New(message.Header{Header: h}, bytes.NewReader(body))
	return e, top, err
}
