package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The import writes thousands of booking requests per batch, and
// encoding/json's reflection was about a quarter of the store's CPU there.
// appendRequestJSON and appendRequestKeyJSON write the same bytes
// json.Marshal writes for a BookingRequest and a requestKey (field order,
// omitempty and omitzero as tagged, HTML-safe string escaping, time.Time as
// Time.MarshalJSON), without reflection. requestjson_test.go holds them to
// json.Marshal byte for byte. Reading still uses json.Unmarshal, and the
// stored format is unchanged.
//
// Keep them in step with the struct tags: a new field of BookingRequest
// must be added here too (the test fails until it is).

// appendRequestJSON appends r as json.Marshal would write it. The error is
// json.Marshal's for a time it cannot write (a year outside 0–9999, a zone
// offset of 24 hours or more).
func appendRequestJSON(b []byte, r *BookingRequest) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, r.ID, 10)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(r.Status))
	if r.PatientID != 0 {
		b = append(b, `,"patient_id":`...)
		b = strconv.AppendUint(b, r.PatientID, 10)
	}
	b = append(b, `,"message_id":`...)
	b = appendJSONString(b, r.MessageID)
	b = appendOmitEmptyString(b, `,"subject":`, r.Subject)
	b = appendOmitEmptyString(b, `,"from":`, r.From)
	b = appendOmitEmptyString(b, `,"reply_to":`, r.ReplyTo)
	if !r.Received.IsZero() {
		b = append(b, `,"received":`...)
		if b, err = appendJSONTime(b, r.Received); err != nil {
			return nil, err
		}
	}
	b = appendOmitEmptyString(b, `,"source":`, r.Source)
	b = appendOmitEmptyString(b, `,"name":`, r.Name)
	b = appendOmitEmptyString(b, `,"given_name":`, r.GivenName)
	b = appendOmitEmptyString(b, `,"family_name":`, r.FamilyName)
	b = appendOmitEmptyString(b, `,"email":`, r.Email)
	b = appendOmitEmptyString(b, `,"phone":`, r.Phone)
	b = appendOmitEmptyString(b, `,"date_of_birth":`, r.DateOfBirth)
	if !r.Requested.IsZero() {
		b = append(b, `,"requested":`...)
		if b, err = appendJSONTime(b, r.Requested); err != nil {
			return nil, err
		}
	}
	b = appendOmitEmptyString(b, `,"requested_text":`, r.RequestedText)
	b = appendOmitEmptyString(b, `,"message":`, r.Message)
	b = appendOmitEmptyString(b, `,"body_text":`, r.BodyText)
	if len(r.Problems) != 0 {
		b = append(b, `,"problems":[`...)
		for i, p := range r.Problems {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p)
		}
		b = append(b, ']')
	}
	b = appendOmitEmptyString(b, `,"folder":`, r.Folder)
	if r.UID != 0 {
		b = append(b, `,"uid":`...)
		b = strconv.AppendUint(b, uint64(r.UID), 10)
	}
	if r.UIDValidity != 0 {
		b = append(b, `,"uid_validity":`...)
		b = strconv.AppendUint(b, uint64(r.UIDValidity), 10)
	}
	if r.Demo {
		b = append(b, `,"demo":true`...)
	}
	b = append(b, `,"imported_at":`...)
	if b, err = appendJSONTime(b, r.ImportedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendJSONTime(b, r.UpdatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, r.Version, 10)
	return append(b, '}'), nil
}

// requestJSONSize is a guess at the length of r's JSON, enough in the usual
// case that appendRequestJSON does not grow its buffer.
func requestJSONSize(r *BookingRequest) int {
	n := 512 + len(r.Status) + len(r.MessageID) + len(r.Subject) + len(r.From) + len(r.ReplyTo) + len(r.Source) +
		len(r.Name) + len(r.GivenName) + len(r.FamilyName) + len(r.Email) + len(r.Phone) + len(r.DateOfBirth) +
		len(r.RequestedText) + len(r.Message) + len(r.BodyText) + len(r.Folder)
	for _, p := range r.Problems {
		n += len(p) + 3
	}
	return n + n/16 // room for some escapes
}

// marshalRequest is json.Marshal(r) without reflection.
func marshalRequest(r *BookingRequest) ([]byte, error) {
	return appendRequestJSON(make([]byte, 0, requestJSONSize(r)), r)
}

// appendRequestKeyJSON appends k as json.Marshal would write it.
func appendRequestKeyJSON(b []byte, k requestKey) []byte {
	b = append(b, `{"m":`...)
	b = appendJSONString(b, k.MessageID)
	b = append(b, `,"s":`...)
	b = appendJSONString(b, string(k.Status))
	return append(b, '}')
}

// marshalRequestKey is json.Marshal(k) without reflection.
func marshalRequestKey(k requestKey) []byte {
	return appendRequestKeyJSON(make([]byte, 0, requestKeyJSONSize(k.MessageID, k.Status)), k)
}

// requestKeyJSONSize is a guess at the length of a requestKey's JSON.
func requestKeyJSONSize(messageID string, status RequestStatus) int {
	return 16 + len(messageID) + len(status) + 8
}

func appendOmitEmptyString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

// timeType is what json.Marshal's error names for a time it cannot write.
var timeType = reflect.TypeFor[time.Time]()

// appendJSONTime appends t as Time.MarshalJSON writes it, quoted RFC 3339
// with nanoseconds. For a time that has no such form it returns the error
// json.Marshal returns.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	n0 := len(b)
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	// The checks of Time.MarshalJSON (appendStrictRFC3339): the year must
	// be exactly 4 digits, the zone's hours below 24.
	bad := b[n0+1+len("9999")] != '-'
	if !bad && b[len(b)-1] != 'Z' {
		z := b[len(b)-len("07:00"):]
		c := b[len(b)-len("Z07:00")]
		bad = ('0' <= c && c <= '9') || 10*(z[0]-'0')+(z[1]-'0') >= 24
	}
	if bad {
		_, err := t.MarshalJSON()
		if err == nil { // cannot happen: the checks above are MarshalJSON's
			err = errors.New("Time.MarshalJSON: cannot write " + t.String())
		}
		return nil, &json.MarshalerError{Type: timeType, Err: err}
	}
	return append(b, '"'), nil
}

// jsonSafe[c] reports whether the byte c is ASCII that stands for itself in
// a JSON string as json.Marshal writes it (HTML-safe: <, > and & are
// escaped). Bytes of 0x80 and up are false: they start UTF-8 sequences.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// jsonEscape[c] is the escape json.Marshal writes for the ASCII byte c, as
// a little-endian word: the escape in the low bytes, its length (2 or 6)
// in the top byte. It is 0 for a byte that stands for itself, and for the
// bytes from 0x80, which appendJSONString copies as they are. Writing an
// escape is then one 8-byte store where there is room, not a switch and
// an append.
var jsonEscape = func() (t [256]uint64) {
	for c := range utf8.RuneSelf {
		var e string
		switch {
		case jsonSafe[c]:
			continue
		case c == '\\' || c == '"':
			e = `\` + string(rune(c))
		case c == '\b':
			e = `\b`
		case c == '\f':
			e = `\f`
		case c == '\n':
			e = `\n`
		case c == '\r':
			e = `\r`
		case c == '\t':
			e = `\t`
		default:
			e = `\u00` + string(lowerHex[c>>4]) + string(lowerHex[c&0xF])
		}
		var w uint64
		for k := range len(e) {
			w |= uint64(e[k]) << (8 * k)
		}
		t[c] = w | uint64(len(e))<<56
	}
	return t
}()

const lowerHex = "0123456789abcdef"

const (
	lo8 = 0x0101010101010101 // 0x01 in each byte
	lo7 = 0x7f7f7f7f7f7f7f7f // 0x7f in each byte
	hi8 = 0x8080808080808080 // 0x80 in each byte
)

// escapeMask sets the high bit of each byte of x that jsonEscape escapes:
// below 0x20, or one of " \ < > &. Bytes from 0x80 are not flagged. It is
// exact in every byte, so its lowest flag is the first such byte: each sum
// is of a byte below 0x80 and one of at most 0x7f, so nothing carries into
// the next byte (a borrow would, in the usual x - 0x20*lo8). "Not < or >"
// is one test, as < and > differ only in bit 1; so is "not " or &" (bit 2).
func escapeMask(x uint64) uint64 {
	t := x & lo7
	ok := (t + (0x80-0x20)*lo8) & // 0x20 and up
		((t ^ '\\'*lo8) + lo7) & // not \
		(((t | 0x02*lo8) ^ '>'*lo8) + lo7) & // not < or >
		(((t | 0x04*lo8) ^ '&'*lo8) + lo7) // not " or &
	return ^(ok | x) & hi8
}

// load64 is s[i:i+8] as a little-endian word (the compiler makes it one
// load).
func load64(s string, i int) uint64 {
	w := s[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// appendJSONString appends s quoted as json.Marshal writes a string:
// ", \ and the control characters escaped (\b \f \n \r \t, the others as
// \u00XX), <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029 as
// \u2028 and \u2029, and each byte of invalid UTF-8 as \ufffd.
//
// It copies 8 bytes at a time, storing each word into b's spare capacity
// before it looks at it, and then moves the end of the output only up to
// the first byte that needs an escape, if any: no append or memmove per
// run of text, which counts in bodies with a newline every line. For that
// it keeps room for the rest of s and the closing quote, and it may
// overwrite bytes of b's spare capacity past what it appends.
//
// Bytes from 0x80 need no look either when s is valid UTF-8 with no U+2028
// or U+2029, as nearly every string the import writes is. At the first
// such byte it checks the rest of s for that once (utf8.ValidString and a
// search for E2 80, both fast), and from then on copies them like letters:
// Cyrillic and CJK bodies are escaped about 3 times as fast as decoding
// rune by rune. ASCII strings, most fields, skip the check. Other strings
// go on in appendJSONStringRest.
func appendJSONString(b []byte, s string) []byte {
	out := slices.Grow(b, 1+len(s)+1)
	n := len(out)
	out = out[:cap(out)]
	out[n] = '"'
	n++
	high := uint64(hi8) // flag bytes from 0x80 too, until the check
	for i := 0; i < len(s); {
		var c byte
		if i+8 <= len(s) {
			// With 8 bytes of s left, the store stays in the room kept.
			x := load64(s, i)
			binary.LittleEndian.PutUint64(out[n:], x)
			m := escapeMask(x) | x&high
			if m == 0 {
				i += 8
				n += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3 // the lowest byte of x is s[i]
			i += k
			n += k
			c = s[i]
		} else if c = s[i]; jsonEscape[c] == 0 && c&byte(high) == 0 {
			out[n] = c
			n++
			i++
			continue
		}
		e := jsonEscape[c]
		if e == 0 { // the first byte from 0x80; s[:i] is ASCII
			if rest := s[i:]; !utf8.ValidString(rest) || hasLineSeparator(rest) {
				return appendJSONStringRest(out[:n], s, i)
			}
			high = 0
			continue
		}
		// c is escaped: up to 5 bytes more than c, and the store writes 8.
		// Growing, make some room for later escapes too.
		if rest := len(s) - i; len(out)-n < rest+7 {
			out = slices.Grow(out[:n], rest+7+rest/8)
			out = out[:cap(out)]
		}
		binary.LittleEndian.PutUint64(out[n:], e)
		n += int(e >> 56)
		i++
	}
	out[n] = '"'
	return out[:n+1]
}

// hasLineSeparator reports whether s holds U+2028 or U+2029 (E2 80 A8 and
// E2 80 A9 in UTF-8). One search for their first two bytes, not one for
// each: E2 80 also starts the dashes and curly quotes of a lot of mail,
// but strings.Index is quick even so.
func hasLineSeparator(s string) bool {
	for {
		i := strings.Index(s, "\xe2\x80")
		if i < 0 {
			return false
		}
		if i+2 < len(s) && s[i+2]&^1 == 0xa8 {
			return true
		}
		s = s[i+2:]
	}
}

// appendJSONStringRest is the end of appendJSONString for s that is not
// valid UTF-8 or holds U+2028 or U+2029: b ends with the opening quote and
// s[:i] escaped, and it appends the rest of s, decoding each rune from
// 0x80, and the closing quote.
func appendJSONStringRest(b []byte, s string, i int) []byte {
	start := i
	for i < len(s) {
		// Skip 8 safe bytes at a time. In a chunk with any byte that is not
		// (from 0x80, below 0x20, " \ < > &), go straight to the first
		// one: a body's text has a newline every line, and trying the
		// chunk again byte by byte cost more than the rest of the string.
		for i+8 <= len(s) {
			x := load64(s, i)
			if m := x&hi8 | escapeMask(x); m != 0 {
				i += bits.TrailingZeros64(m) >> 3 // the lowest byte of x is s[i]
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
