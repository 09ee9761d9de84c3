package mailbox

import (
	"bytes"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// htmlToText turns an HTML mail body into plain text a receptionist can
// read: blocks and <br> become line breaks, table cells are separated by a
// tab (so "Name | Ana" rows read as label-value lines), list items get a
// dash, scripts and styles are dropped. Output is capped at max bytes.
func htmlToText(src string, max int) string {
	z := html.NewTokenizer(strings.NewReader(src))
	z.SetMaxBuf(1 << 20)
	// The text is written into a pooled buffer and tidied in place there:
	// only the tidy text is made a string.
	pooled := htmlTextPool.Get().(*[]byte)
	b := &textBuf{buf: (*pooled)[:0]}
	defer func() {
		if cap(b.buf) <= maxPooledHTMLText {
			*pooled = b.buf[:0]
			htmlTextPool.Put(pooled)
		}
	}()
	skip := 0 // inside <script>, <style>, <head>
	var nameBuf [16]byte
	newline := func() {
		if n := len(b.buf); n > 0 && b.buf[n-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	for b.Len() < max {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyText(b.buf)
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := z.Text()
			if !hasNonSpace(text) {
				// Keep a space between inline words split by markup.
				if b.Len() > 0 && !b.endsWithSpace() {
					b.WriteByte(' ')
				}
				continue
			}
			raw := z.Raw()
			if len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\n' || raw[0] == '\t') &&
				b.Len() > 0 && !b.endsWithSpace() {
				b.WriteByte(' ')
			}
			b.writeFields(text)
			if last := raw[len(raw)-1]; last == ' ' || last == '\n' || last == '\t' {
				b.WriteByte(' ')
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name := tagName(z, nameBuf[:0])
			switch string(name) { // compared, not copied
			case "script", "style", "head", "title", "noscript", "template":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br":
				b.trimSpace()
				b.WriteByte('\n')
			case "p", "div", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
				"blockquote", "section", "article", "header", "footer", "hr", "dl", "pre", "center":
				b.trimSpace()
				newline()
			case "li", "dt":
				b.trimSpace()
				newline()
				if tt == html.StartTagToken && string(name) == "li" {
					b.WriteString("- ")
				}
			case "dd":
				if tt == html.StartTagToken {
					b.trimSpace()
					b.WriteByte('\t')
				}
			case "td", "th":
				if tt == html.EndTagToken {
					b.trimSpace()
					b.WriteByte('\t')
				}
			}
		}
	}
	return tidyText(b.buf)
}

// htmlTextPool holds the buffers htmlToText writes text into; one that grew
// beyond maxPooledHTMLText is left to the garbage collector.
var htmlTextPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledHTMLText = 256 << 10

// tagName appends to buf the name z.TagName() gives for the tag token just
// read, and returns it. TagName copies every name (bytes.ReplaceAll of NUL
// makes a copy even when there is none) before lower-casing it; the name
// is read here from the token's raw bytes instead: after "<" or "</", up
// to the white space, "/" or ">" that ends it (readTagName), ASCII
// lower-cased as TagName does. A NUL in it stays a NUL, not U+FFFD: no
// name htmlToText looks for holds either. A token not shaped so takes
// TagName's way. TestTagNameMatchesTokenizer checks it.
func tagName(z *html.Tokenizer, buf []byte) []byte {
	raw := z.Raw()
	start := 1
	if len(raw) > 1 && raw[1] == '/' {
		start = 2
	}
	if len(raw) <= start || raw[0] != '<' {
		name, _ := z.TagName()
		return name
	}
	for _, c := range raw[start:] {
		switch c {
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			return buf
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// textBuf is a byte buffer whose trailing spaces can be dropped cheaply.
type textBuf struct{ buf []byte }

func (t *textBuf) WriteByte(c byte) error { t.buf = append(t.buf, c); return nil }
func (t *textBuf) WriteString(s string)   { t.buf = append(t.buf, s...) }
func (t *textBuf) Len() int               { return len(t.buf) }
func (t *textBuf) endsWithSpace() bool {
	n := len(t.buf)
	return n > 0 && (t.buf[n-1] == ' ' || t.buf[n-1] == '\n' || t.buf[n-1] == '\t')
}
func (t *textBuf) trimSpace() {
	for len(t.buf) > 0 && t.buf[len(t.buf)-1] == ' ' {
		t.buf = t.buf[:len(t.buf)-1]
	}
}

// writeFields writes the words of text (as strings.Fields splits it, at
// runs of white space) with one space between them: what
// strings.Join(strings.Fields(string(text)), " ") is, without the copies.
// TestWriteFieldsMatchesFields checks it.
func (t *textBuf) writeFields(text []byte) {
	first := true
	for i := 0; i < len(text); {
		// Skip the spaces before a word, then copy the word.
		// The ASCII test is written out here, not left to spaceAt: a
		// call per byte (spaceAt is not inlined) costs as much again.
		for i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				if !asciiSpace[c] {
					break
				}
				i++
				continue
			}
			space, size := spaceAt(text, i)
			if !space {
				break
			}
			i += size
		}
		start := i
		for i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				if asciiSpace[c] {
					break
				}
				i++
				continue
			}
			space, size := spaceAt(text, i)
			if space {
				break
			}
			i += size
		}
		if i > start {
			if !first {
				t.buf = append(t.buf, ' ')
			}
			t.buf = append(t.buf, text[start:i]...)
			first = false
		}
	}
}

// asciiSpace holds the ASCII bytes unicode.IsSpace calls white space.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// spaceAt reports whether the rune at text[i] is white space
// (unicode.IsSpace), and its length. An ASCII byte is looked up in
// asciiSpace: writeFields and hasNonSpace read every byte of a mail's
// HTML text, and unicode.IsSpace's call and switch cost as much as the
// rest of writeFields.
func spaceAt(text []byte, i int) (bool, int) {
	if c := text[i]; c < utf8.RuneSelf {
		return asciiSpace[c], 1
	}
	r, size := utf8.DecodeRune(text[i:])
	return unicode.IsSpace(r), size
}

// hasNonSpace reports whether text has a word, as strings.Fields reads it.
func hasNonSpace(text []byte) bool {
	for i := 0; i < len(text); {
		space, size := spaceAt(text, i)
		if !space {
			return true
		}
		i += size
	}
	return false
}

// tidyText trims each line of s and collapses runs of blank lines: what
// strings.Split, trimming each line, strings.Join and strings.TrimSpace
// made of it, with only the result copied. s is rewritten in place: each
// kept line moves to where the lines kept before it end, never past where
// it starts. TestTidyTextMatchesSplitJoin checks it against the old way.
func tidyText(s []byte) string {
	w := 0 // s[:w] is the text kept so far
	blank := 0
	for i := 0; ; {
		end, next := len(s), -1
		if j := bytes.IndexByte(s[i:], '\n'); j >= 0 {
			end, next = i+j, i+j+1
		}
		// Trimmed with white space as strings.TrimSpace reads it; the
		// trailing tabs go with it.
		l := bytes.TrimSpace(s[i:end])
		if len(l) == 0 {
			blank++
		} else {
			blank = 0
		}
		if blank <= 1 {
			if i > 0 {
				s[w] = '\n' // w < i: the line break before this line
				w++
			}
			w += copy(s[w:], l)
		}
		if next < 0 {
			break
		}
		i = next
	}
	return string(bytes.TrimSpace(s[:w]))
}
