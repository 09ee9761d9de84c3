package mailbox

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/emersion/go-message"
)

// TestReadMessageBodyRefusesAsGoMessage checks readMessageBody's shortcut
// for headers go-message refuses (scanHeaderRefusing): it gives no entity
// exactly when message.ReadWithOptions gives none, and otherwise what it
// gave before (go-message's error included), over the fixtures, every
// prefix of their headers, random byte edits of them and random headers
// with lines ReadHeader refuses.
func TestReadMessageBodyRefusesAsGoMessage(t *testing.T) {
	refused := 0
	check := func(raw []byte) {
		t.Helper()
		want, wantErr := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
		got, _, _, _, _, gotErr := readMessageBody(raw, nil)
		if (want == nil) != (got == nil) {
			t.Fatalf("%q: readMessageBody gives an entity %v (%v); go-message %v (%v)", raw, got != nil, gotErr, want != nil, wantErr)
		}
		if got == nil {
			refused++
		}
		if got == nil && wantErr == nil {
			t.Fatalf("%q: no entity and no error", raw)
		}
		if got != nil && fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Fatalf("%q: readMessageBody's error %v; go-message %v", raw, gotErr, wantErr)
		}
	}
	rng := rand.New(rand.NewSource(5))
	edits := []string{"\x00", "\xff", " ", "\t", ":", "\r", "\n", "\r\n", "\r\n ", "\n\t", "é", "\x7f", "!", "~", "(", "a b"}
	checked := 0
	for _, name := range fixtureNames(t) {
		fixture := readFixture(t, name)
		for _, prefix := range []string{"", "Message-ID: <bulk-1@frontdesk.test>\r\n"} {
			raw := append([]byte(prefix), fixture...)
			check(raw)
			headerEnd := bytes.Index(raw, []byte("\r\n\r\n"))
			if headerEnd < 0 || headerEnd > 3000 {
				headerEnd = min(len(raw), 3000)
			}
			for n := 0; n <= headerEnd+4 && n <= len(raw); n++ {
				check(raw[:n])
				checked++
			}
			for i := 0; i < 200; i++ {
				at := rng.Intn(headerEnd + 1)
				skip := min(rng.Intn(2), len(raw)-at) // the edit replaces a byte or goes in between
				edited := append(append(append([]byte{}, raw[:at]...), edits[rng.Intn(len(edits))]...), raw[at+skip:]...)
				check(edited)
				checked++
			}
		}
	}
	lines := []string{"From: Ann <ann@example.com>", "Subject: hi", "X-Foo: a:b", "no colon here", " continued", "\tcontinued",
		"Fr om: x", "Fröm: x", "From\x7f: x", "\x00\x01\x02 not a field", ": empty key", "  : spaces key", "From : x",
		"Content-Type: text/plain", "", "{\"json\": true}", "\xff\xffFrom: x", "a:b"}
	eols := []string{"\r\n", "\n", "\r", "\r\r\n", "\n\r"}
	for i := 0; i < 20000; i++ {
		var b bytes.Buffer
		for n := rng.Intn(7); n > 0; n-- {
			b.WriteString(lines[rng.Intn(len(lines))])
			b.WriteString(eols[rng.Intn(len(eols))])
		}
		if rng.Intn(2) == 0 {
			b.WriteString("\r\nbody\r\n")
		}
		check(b.Bytes())
		checked++
	}
	// Headers near and past go-message's size limit, which scanHeader
	// leaves to go-message: accepted below it, refused past it.
	for _, n := range []int{maxHeaderBytes/2 - 100, maxHeaderBytes/2 + 100, maxHeaderBytes - 100, maxHeaderBytes + 100} {
		long := "Subject: " + strings.Repeat("v", n) + "\r\n"
		for _, raw := range []string{long + "\r\nbody", long + "no colon\r\n\r\nbody", "Fr om: x\r\n" + long} {
			check([]byte(raw))
			checked++
		}
	}
	t.Logf("%d inputs, %d without an entity", checked, refused)
}
