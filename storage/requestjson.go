package storage

import (
	"encoding/json"
	"errors"
	"math/bits"
	"reflect"
	"strconv"
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

const lowerHex = "0123456789abcdef"

const (
	lo8 = 0x0101010101010101 // 0x01 in each byte
	hi8 = 0x8080808080808080 // 0x80 in each byte
)

// lessMask sets the high bit of each byte of x that is below n (n at most
// 0x80). It is exact up to the first byte below n or of 0x80 and up; above
// that, a borrow or a high byte may flag bytes wrongly.
func lessMask(x uint64, n byte) uint64 { return (x - uint64(n)*lo8) &^ x & hi8 }

// appendJSONString appends s quoted as json.Marshal writes a string:
// ", \ and the control characters escaped (\b \f \n \r \t, the others as
// \u00XX), <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029 as
// \u2028 and \u2029, and each byte of invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 safe bytes at a time. In a chunk with any byte that is not
		// (from 0x80, below 0x20, " \ < > &), go straight to the first
		// one: a body's text has a newline every line, and trying the
		// chunk again byte by byte cost more than the rest of the string.
		// The lowest byte the mask flags is the first unsafe one, as every
		// byte below it is plain ASCII, where no test misfires.
		for i+8 <= len(s) {
			w := s[i : i+8]
			x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
			m := x&hi8 | lessMask(x, 0x20) | lessMask(x^'"'*lo8, 1) | lessMask(x^'\\'*lo8, 1) |
				lessMask(x^'<'*lo8, 1) | lessMask(x^'>'*lo8, 1) | lessMask(x^'&'*lo8, 1)
			if m != 0 {
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
