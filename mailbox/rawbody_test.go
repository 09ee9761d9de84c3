package mailbox

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawBodyScaffoldedOld is what finish did before rawBodyScaffolded:
// rawBody, rawText, TrimSpace, then withoutMIMEScaffolding, each a pass
// of its own. It is the oracle for rawBodyScaffolded.
func (p *parser) rawBodyScaffoldedOld() (body, scan string, ok bool) {
	raw := p.rawBody()
	if len(bytes.TrimSpace(raw)) == 0 {
		return "", "", false
	}
	body = strings.TrimSpace(p.rawText(raw))
	return body, withoutMIMEScaffolding(body), true
}

func checkRawBodyScaffolded(t *testing.T, raw []byte, maxPart int) {
	t.Helper()
	orig := string(raw)
	p := &parser{opts: ParseOptions{MaxPartBytes: maxPart}, raw: raw}
	wb, ws, wok := p.rawBodyScaffoldedOld()
	p.release()
	p = &parser{opts: ParseOptions{MaxPartBytes: maxPart}, raw: raw}
	gb, gs, gok := p.rawBodyScaffolded()
	if gb != wb || gs != ws || gok != wok {
		t.Fatalf("rawBodyScaffolded(%q, cap %d)\n = %q, %q, %v\nwant %q, %q, %v", raw, maxPart, gb, gs, gok, wb, ws, wok)
	}
	// Nothing of the message is left in the pooled buffer.
	if p.scratch != nil && cap(*p.scratch) <= maxPooledScratch {
		s := p.scratch
		p.release()
		if bytes.ContainsFunc((*s)[:cap(*s)], func(r rune) bool { return r != 0 }) {
			t.Fatalf("rawBodyScaffolded(%q) left text in the pooled buffer", raw)
		}
	}
	if string(raw) != orig {
		t.Fatalf("rawBodyScaffolded changed the message: %q, was %q", raw, orig)
	}
}

// TestRawBodyScaffoldedMatchesOld compares rawBodyScaffolded with the
// passes it stands for, over the fixtures (as they are and with LF line
// ends) and generated messages: CRLF and LF mixes, lone CRs, NULs,
// invalid UTF-8, Unicode spaces, boundary-like and part-header lines,
// long lines, blank and empty bodies, small caps.
func TestRawBodyScaffoldedMatchesOld(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
		for _, m := range [][]byte{raw, lf, crlf} {
			for _, c := range []int{defaultMaxPartBytes, 100, 7} {
				checkRawBodyScaffolded(t, m, c)
			}
		}
	}
	rng := rand.New(rand.NewSource(7))
	words := []string{"a", "é", "Phone: 503-555-0177", " ", "\t", "\r", "\n", "\r\n", "\r\r\n", "\n\n", "\r\n\r\n",
		"\x00", "\xff", "\xe4\xb8", "\u00a0", "\u0085", "\u2028", "--b1", "--b1--", "--b1 ", "-- ", "--a=b'c",
		"Content-Type: text/plain", "content-transfer-encoding: 7bit", "MIME-Version: 1.0", " boundary=\"b2\"",
		"\tcont", "\u212Aontent-x", "MIME-VER\u017FION: 1.0", "mime-ver\u017Fion:", "Content-", "CONTENT_", "\u212Aontent-", strings.Repeat("x", 1000), "--" + strings.Repeat("b", 80)}
	lineEnds := []string{"\r\n", "\n", "\r\n", ""}
	headers := []string{"From: a@b.c\r\nSubject: s\r\n\r\n", "From: a@b.c\nSubject: s\n\n", "From: a@b.c\r\n\r\n",
		"From: a@b.c\r\nX: y\n\r\n\r\n", "From: a@b.c\r\n", "", "\r\n\r\n", "From: a@b.c\r\n\r\n\n"}
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		b.WriteString(headers[rng.Intn(len(headers))])
		for n := rng.Intn(14); n > 0; n-- {
			b.WriteString(words[rng.Intn(len(words))])
			if rng.Intn(3) > 0 {
				b.WriteString(lineEnds[rng.Intn(len(lineEnds))])
			}
		}
		maxPart := defaultMaxPartBytes
		if rng.Intn(3) == 0 {
			maxPart = 1 + rng.Intn(80)
		}
		checkRawBodyScaffolded(t, []byte(b.String()), maxPart)
	}
}

// TestHasPrefixFoldBytesMatchesEqualFold compares hasPrefixFoldBytes
// with hasPrefixFold (strings.EqualFold) over strings made of the
// prefixes' letters in both cases, other bytes, and the runes that fold
// to ASCII letters (K, ſ).
func TestHasPrefixFoldBytesMatchesEqualFold(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	pieces := []string{"c", "C", "o", "O", "n", "N", "t", "T", "e", "E", "-", "_", "m", "M", "i", "I", "v", "V",
		"r", "R", "s", "S", ":", "\u212A", "\u017F", "\r", "\x00", "\xff", "\xc5", "\x7f", "\x8d", "\x0d", "content-", "mime-version:"}
	for i := 0; i < 300000; i++ {
		var b strings.Builder
		for n := rng.Intn(16); n > 0; n-- {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		s := b.String()
		for _, prefix := range []string{"content-", "mime-version:"} {
			if got, want := hasPrefixFoldBytes([]byte(s), prefix), hasPrefixFold(s, prefix); got != want {
				t.Fatalf("hasPrefixFoldBytes(%q, %q) = %v, want %v", s, prefix, got, want)
			}
		}
	}
}
