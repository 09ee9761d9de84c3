package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The pieces random strings are made of: everything appendJSONString treats
// specially, and plain text around it.
var jsonTestPieces = func() []string {
	p := []string{
		"a", "Z", "0", " ", "hello", "Dr. Lee", "back pain", "+15035550100", "p@example.com", "~", "\x7f", "/", "'",
		"<", ">", "&", "<script>", "&amp;", `"`, `\`, `\"`, `\\`, `\u0041`,
		"\u2028", "\u2029", "\u2027", "\u202a", "\ufffd", "\ufeff", "\u00e9", "\u00a0", "\u0080", "\u07ff", "\u0800",
		"診療予約", "鍼", "한국어", "😀", "👩‍⚕️", "\U0010ffff",
		"\x80", "\xff", "\xfe", "\xc3", "\xc3(", "\xe2\x80", "\xe2\x80\xa8"[:2], "\xf0\x9f\x98", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xe2\x82",
		"\x00", "\x00\x00",
	}
	for c := 0; c < 0x20; c++ {
		p = append(p, string(rune(c)))
	}
	return p
}()

func randJSONString(rng *rand.Rand) string {
	switch rng.IntN(8) {
	case 0:
		return ""
	case 1: // a long run of plain text with an occasional special
		var sb strings.Builder
		for range rng.IntN(200) {
			if rng.IntN(20) == 0 {
				sb.WriteString(jsonTestPieces[rng.IntN(len(jsonTestPieces))])
			} else {
				sb.WriteByte(byte('a' + rng.IntN(26)))
			}
		}
		return sb.String()
	case 2: // random bytes
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	var sb strings.Builder
	for range rng.IntN(12) {
		sb.WriteString(jsonTestPieces[rng.IntN(len(jsonTestPieces))])
	}
	return sb.String()
}

func randJSONUint(rng *rand.Rand, max uint64) uint64 {
	switch rng.IntN(5) {
	case 0:
		return 0
	case 1:
		return max
	case 2:
		return 1 + rng.Uint64N(100)
	case 3:
		return max - rng.Uint64N(1000)
	}
	return rng.Uint64N(max) + 1
}

func jsonTestZones(t testing.TB) []*time.Location {
	zones := []*time.Location{
		time.UTC, time.Local,
		time.FixedZone("", 0), time.FixedZone("PST", -8*3600), time.FixedZone("IST", 5*3600+1800),
		time.FixedZone("", 14*3600), time.FixedZone("", -12*3600), time.FixedZone("", 23*3600+59*60),
		time.FixedZone("", -(23*3600 + 59*60 + 59)), time.FixedZone("odd", 3601), time.FixedZone("", -45),
	}
	for _, name := range []string{"America/Los_Angeles", "Asia/Tokyo", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		if loc, err := time.LoadLocation(name); err == nil {
			zones = append(zones, loc)
		} else {
			t.Logf("no zone %s: %v", name, err)
		}
	}
	return zones
}

func randJSONTime(rng *rand.Rand, zones []*time.Location) time.Time {
	loc := zones[rng.IntN(len(zones))]
	switch rng.IntN(10) {
	case 0:
		return time.Time{}
	case 1:
		return time.Time{}.In(loc) // zero instant, with a zone: omitzero still omits it
	case 2:
		return time.Now().In(loc) // with a monotonic reading when local
	case 3: // the edges of the years that can be written
		if rng.IntN(2) == 0 {
			return time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(48)) * time.Hour).In(loc)
		}
		return time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC).Add(-time.Duration(rng.IntN(48)) * time.Hour).In(loc)
	}
	ns := []int{0, rng.IntN(1e9), rng.IntN(1000) * 1e6, rng.IntN(1000) * 1e3, 1, 999999999, 100000000}[rng.IntN(7)]
	return time.Date(1+rng.IntN(9998), time.Month(1+rng.IntN(12)), 1+rng.IntN(31), rng.IntN(24), rng.IntN(60), rng.IntN(60), ns, loc)
}

func randBookingRequest(rng *rand.Rand, zones []*time.Location) BookingRequest {
	var problems []string
	switch rng.IntN(4) {
	case 0:
	case 1:
		problems = []string{}
	default:
		for range 1 + rng.IntN(5) {
			problems = append(problems, randJSONString(rng))
		}
	}
	status := RequestStatuses[rng.IntN(len(RequestStatuses))]
	if rng.IntN(4) == 0 {
		status = RequestStatus(randJSONString(rng))
	}
	return BookingRequest{
		ID: randJSONUint(rng, math.MaxUint64), Status: status, PatientID: randJSONUint(rng, math.MaxUint64),
		MessageID: randJSONString(rng), Subject: randJSONString(rng), From: randJSONString(rng), ReplyTo: randJSONString(rng),
		Received: randJSONTime(rng, zones), Source: randJSONString(rng),
		Name: randJSONString(rng), GivenName: randJSONString(rng), FamilyName: randJSONString(rng),
		Email: randJSONString(rng), Phone: randJSONString(rng), DateOfBirth: randJSONString(rng),
		Requested: randJSONTime(rng, zones), RequestedText: randJSONString(rng), Message: randJSONString(rng),
		BodyText: randJSONString(rng), Problems: problems,
		Folder: randJSONString(rng), UID: uint32(randJSONUint(rng, math.MaxUint32)), UIDValidity: uint32(randJSONUint(rng, math.MaxUint32)),
		Demo:       rng.IntN(2) == 0,
		ImportedAt: randJSONTime(rng, zones), UpdatedAt: randJSONTime(rng, zones), Version: randJSONUint(rng, math.MaxUint64),
	}
}

// TestRequestJSONMatchesMarshal holds the encoders to json.Marshal byte for
// byte on random requests and keys.
func TestRequestJSONMatchesMarshal(t *testing.T) {
	n := 60000
	if testing.Short() {
		n = 5000
	}
	rng := rand.New(rand.NewPCG(20261127, uint64(time.Now().UnixNano())))
	zones := jsonTestZones(t)
	failures, timeErrors := 0, 0
	for i := range n {
		r := randBookingRequest(rng, zones)
		want, wantErr := json.Marshal(&r)
		got, gotErr := marshalRequest(&r)
		if wantErr != nil {
			timeErrors++ // a random time near year 0 or 9999 that its zone takes out of range
		}
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Errorf("request %d %#v: error %v, json.Marshal's %v", i, r, gotErr, wantErr)
		} else if !bytes.Equal(got, want) {
			t.Errorf("request %d %#v:\n got %s\nwant %s", i, r, got, want)
		}
		k := requestKey{MessageID: r.MessageID, Status: r.Status}
		if i%2 == 0 {
			k.MessageID = randJSONString(rng)
		}
		want, _ = json.Marshal(k)
		if got := marshalRequestKey(k); !bytes.Equal(got, want) {
			t.Errorf("key %d %#v:\n got %s\nwant %s", i, k, got, want)
		}
		if t.Failed() {
			if failures++; failures >= 5 {
				t.FailNow()
			}
		}
	}
	t.Logf("%d requests, %d of them with a time json.Marshal cannot write", n, timeErrors)
	if timeErrors > n/10 {
		t.Errorf("%d of %d random requests cannot be written: too few compared", timeErrors, n)
	}
}

// TestRequestJSONStrings checks every string piece alone, and every byte,
// in a field that is always written.
func TestRequestJSONStrings(t *testing.T) {
	var all []string
	all = append(all, jsonTestPieces...)
	for c := range 256 {
		all = append(all, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
		for at := range 17 { // at every place of the 8-byte chunks appendJSONString skips
			b := []byte(strings.Repeat("abcdefgh", 3))
			b[at] = byte(c)
			all = append(all, string(b), string(b[:at+1]))
		}
	}
	for r := rune(0); r < 0x3000; r++ {
		all = append(all, string(r))
	}
	for _, s := range all {
		r := BookingRequest{MessageID: s, Problems: []string{s, ""}}
		want, _ := json.Marshal(&r)
		if got, _ := marshalRequest(&r); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	}
}

// TestRequestJSONTimeErrors: a time json.Marshal cannot write is an error
// here too, with the same message.
func TestRequestJSONTimeErrors(t *testing.T) {
	bad := []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC).In(time.FixedZone("", 2*3600)), // year 10000 in its zone
		time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).In(time.FixedZone("", -3600)), // year -1 in its zone
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", -99*3600)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 100*3600)),
		time.Date(123456, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i, tm := range bad {
		for field := range 4 {
			r := BookingRequest{ImportedAt: time.Now(), UpdatedAt: time.Now()}
			switch field {
			case 0:
				r.Received = tm
			case 1:
				r.Requested = tm
			case 2:
				r.ImportedAt = tm
			case 3:
				r.UpdatedAt = tm
			}
			_, wantErr := json.Marshal(&r)
			got, err := marshalRequest(&r)
			if wantErr == nil {
				t.Fatalf("time %d (%v): json.Marshal has no error", i, tm)
			}
			if err == nil || err.Error() != wantErr.Error() || got != nil {
				t.Errorf("time %d (%v) in field %d: %q, %v; json.Marshal's error %v", i, tm, field, got, err, wantErr)
			}
			var me *json.MarshalerError
			if !errors.As(err, &me) {
				t.Errorf("time %d: error %T, not a *json.MarshalerError", i, err)
			}
		}
	}
}

// TestRequestJSONFields fails when BookingRequest or requestKey gains,
// loses or renames a field: appendRequestJSON must follow.
func TestRequestJSONFields(t *testing.T) {
	tags := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			out = append(out, f.Name+" "+f.Type.String()+" "+f.Tag.Get("json"))
		}
		return out
	}
	want := []string{
		"ID uint64 id", "Status storage.RequestStatus status", "PatientID uint64 patient_id,omitempty",
		"MessageID string message_id", "Subject string subject,omitempty", "From string from,omitempty",
		"ReplyTo string reply_to,omitempty", "Received time.Time received,omitzero", "Source string source,omitempty",
		"Name string name,omitempty", "GivenName string given_name,omitempty", "FamilyName string family_name,omitempty",
		"Email string email,omitempty", "Phone string phone,omitempty", "DateOfBirth string date_of_birth,omitempty",
		"Requested time.Time requested,omitzero", "RequestedText string requested_text,omitempty",
		"Message string message,omitempty", "BodyText string body_text,omitempty", "Problems []string problems,omitempty",
		"Folder string folder,omitempty", "UID uint32 uid,omitempty", "UIDValidity uint32 uid_validity,omitempty",
		"Demo bool demo,omitempty", "ImportedAt time.Time imported_at", "UpdatedAt time.Time updated_at", "Version uint64 version",
	}
	if got := tags(reflect.TypeFor[BookingRequest]()); !slices.Equal(got, want) {
		t.Errorf("BookingRequest's fields changed; update appendRequestJSON and this list:\n%s", strings.Join(got, "\n"))
	}
	if got, want := tags(reflect.TypeFor[requestKey]()), []string{"MessageID string m", "Status storage.RequestStatus s"}; !slices.Equal(got, want) {
		t.Errorf("requestKey's fields changed; update appendRequestKeyJSON and this list:\n%s", strings.Join(got, "\n"))
	}
}

func BenchmarkRequestJSON(b *testing.B) {
	body := strings.Repeat("Hello, I would like an appointment for my low back pain.\n", 20)
	r := BookingRequest{ID: 12345, Status: RequestNew, MessageID: "m12345@x", Subject: "New form submission", From: "noreply@x.example",
		Received: time.Now(), Source: "web-form", Name: "Patient Number", Email: "p@example.com", Phone: "+15035550100",
		Message: "back pain", BodyText: body, Folder: "INBOX", UID: 12345, UIDValidity: 1,
		ImportedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC(), Version: 1}
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshalRequest", func(b *testing.B) {
		for b.Loop() {
			if _, err := marshalRequest(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The requests of BenchmarkImportBookingRequests: accented names, a
	// body of many short lines, < > & in the message.
	imports := importBenchRequests(100)
	var size int
	for _, in := range imports {
		j, _ := marshalRequest(&in.Request)
		size += len(j)
	}
	b.Run("marshalRequest/imports", func(b *testing.B) {
		b.SetBytes(int64(size / len(imports)))
		i := 0
		for b.Loop() {
			if _, err := marshalRequest(&imports[i%len(imports)].Request); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// jsonDecodedTexts are bodies as the import stores them, decoded to UTF-8:
// short lines, accents, Cyrillic, CJK and HTML. The raw fixtures of the
// mailbox package are nearly all ASCII.
var jsonDecodedTexts = map[string]string{
	"decoded-spanish": strings.Repeat("Hola, quisiera pedir una cita para acupuntura la próxima semana.\n"+
		"Tengo dolor de espalda desde hace un mes & no puedo dormir bien.\nGracias, José Martínez Ibáñez\n", 8),
	"decoded-russian": strings.Repeat("Здравствуйте! Хотела бы записаться на приём к врачу на следующей неделе.\n"+
		"Удобнее всего утром, до 11 часов. Спасибо, Ольга Иванова\n", 8),
	"decoded-chinese": strings.Repeat("您好，我想预约下周的针灸治疗。我的腰痛已经持续一个月了，晚上睡不好。\n"+
		"上午比较方便，谢谢！李明\n", 8),
	"decoded-vietnamese": strings.Repeat("Xin chào, tôi muốn đặt lịch hẹn châm cứu vào tuần tới.\n"+
		"Tôi bị đau lưng khoảng một tháng nay — buổi sáng thì tiện hơn. Cảm ơn, Nguyễn Văn Anh\n", 8),
	"decoded-html": strings.Repeat("<tr><td>Name</td><td>Zoë Müller</td></tr>\n<tr><td>Message</td><td>Back pain &amp; \"stiff\" neck</td></tr>\n", 8),
	"import-body":  importBenchRequests(1)[0].Request.BodyText,
}

// BenchmarkAppendJSONString escapes the mailbox fixtures, read as strings,
// and decoded bodies.
func BenchmarkAppendJSONString(b *testing.B) {
	files, err := filepath.Glob("../mailbox/testdata/*.eml")
	if err != nil || len(files) == 0 {
		b.Fatalf("no fixtures: %v", err)
	}
	type text struct{ name, s string }
	var texts []text
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, text{strings.TrimSuffix(filepath.Base(f), ".eml"), string(raw)})
	}
	for _, name := range slices.Sorted(maps.Keys(jsonDecodedTexts)) {
		texts = append(texts, text{name, jsonDecodedTexts[name]})
	}
	var all int
	for _, t := range texts {
		all += len(t.s)
	}
	var buf []byte
	b.Run("all", func(b *testing.B) {
		b.SetBytes(int64(all))
		for b.Loop() {
			for _, t := range texts {
				buf = appendJSONString(buf[:0], t.s)
			}
		}
	})
	for _, t := range texts {
		b.Run(t.name, func(b *testing.B) {
			b.SetBytes(int64(len(t.s)))
			for b.Loop() {
				buf = appendJSONString(buf[:0], t.s)
			}
		})
	}
}

// jsonStringCases are strings for appendJSONString's two paths and the
// edges of its 8-byte words: every fixture, line and paragraph separators,
// invalid UTF-8 of each kind, and every byte, alone and at each place of a
// word, among ASCII and among multibyte runes.
func jsonStringCases(t testing.TB) []string {
	var all []string
	files, err := filepath.Glob("../mailbox/testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, string(raw))
	}
	for _, name := range slices.Sorted(maps.Keys(jsonDecodedTexts)) {
		all = append(all, jsonDecodedTexts[name])
	}
	all = append(all, jsonTestPieces...)
	invalid := []string{
		"\xe2\x80", "\xe2", "\xf0\x9f\x98", "\xf0\x9f", "\xc3", // truncated
		"\x80", "\xbf", "\x80\x80\x80", // lone continuation bytes
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf", // overlong
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80", // surrogates
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff", // beyond U+10FFFF
		"\xe2\x80\xa8"[:2] + "a", "\xe2\x28\xa8", "\xe2\x80\x28",
	}
	all = append(all, invalid...)
	fills := []string{"abcdefgh", "\u00e9\u00e8\u00ea\u00eb", "診療予約", "\u2014\u2019\u201c\u2026"} // ASCII, 2-, 3-byte runes, other E2 80 runes
	specials := []string{"\u2028", "\u2029", "<", ">", "&", `"`, `\`, "\x00", "\x7f", "\n", "\r\n", "\t", "\u00e9", "診", "😀", "\u2027", "\u202a", "\ufffd"}
	specials = append(specials, invalid...)
	for _, fill := range fills {
		long := strings.Repeat(fill, 5)
		for _, sp := range specials {
			for at := 0; at <= 24; at++ {
				pre := long[:min(at, len(long))]
				all = append(all, pre+sp, pre+sp+long, sp+pre, pre+sp+sp+pre)
			}
		}
		for c := range 256 {
			for at := range 17 {
				b := []byte(long)
				b[at] = byte(c)
				all = append(all, string(b), string(b[:at+1]))
			}
		}
	}
	for c := range 256 {
		all = append(all, string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	var every []byte
	for c := range 256 {
		every = append(every, byte(c))
	}
	all = append(all, string(every), strings.Repeat("<&>", 20), strings.Repeat("\n", 40), strings.Repeat("\u2028", 9))
	return all
}

// TestAppendJSONStringMatchesMarshal holds appendJSONString to json.Marshal
// byte for byte, appending to buffers of every spare capacity from none to
// more than enough: appendJSONString writes past its end as it goes.
func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	failures := 0
	for _, s := range jsonStringCases(t) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		spares := []int{0, 1, 7, 8, 9, 15, 16, 2*len(s) + 30, 6*len(s) + 30}
		for k := -2; k <= 16; k++ {
			spares = append(spares, len(s)+k)
		}
		if len(s) <= 40 {
			for k := range 6*len(s) + 12 {
				spares = append(spares, k)
			}
		}
		for _, spare := range spares {
			spare = max(spare, 0)
			b := append(make([]byte, 0, 3+spare), "ab,"...)
			got := appendJSONString(b, s)
			if !bytes.Equal(got[:3], []byte("ab,")) || !bytes.Equal(got[3:], want) {
				t.Errorf("%q, spare capacity %d:\n got %s\nwant ab,%s", s, spare, got, want)
				if failures++; failures >= 5 {
					t.FailNow()
				}
				break
			}
		}
	}
}

// TestEscapeMask checks escapeMask against jsonEscape for every byte at
// every place of a word, among bytes of every kind, and on random words.
func TestEscapeMask(t *testing.T) {
	want := func(x uint64) (m uint64) {
		for k := range 8 {
			if jsonEscape[byte(x>>(8*k))] != 0 {
				m |= 0x80 << (8 * k)
			}
		}
		return m
	}
	for _, fill := range []uint64{0x6161616161616161, 0x2020202020202020, 0x8080808080808080, 0xffffffffffffffff, 0x0000000000000000, 0x3c3c3c3c3c3c3c3c, 0x7f7f7f7f7f7f7f7f} {
		for c := range 256 {
			for k := range 8 {
				x := fill&^(0xff<<(8*k)) | uint64(c)<<(8*k)
				if got := escapeMask(x); got != want(x) {
					t.Fatalf("escapeMask(%#016x) = %#016x, want %#016x", x, got, want(x))
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		x := rng.Uint64()
		if got := escapeMask(x); got != want(x) {
			t.Fatalf("escapeMask(%#016x) = %#016x, want %#016x", x, got, want(x))
		}
	}
}

// FuzzAppendJSONString holds appendJSONString to json.Marshal on any
// string, appended after a prefix with the given spare capacity.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonTestPieces {
		f.Add(s, uint8(0))
	}
	for _, s := range []string{"", "abcdefgh<", "abcdefg\u2028h", "\xe2\x80", "a\xed\xa0\x80b", "\u00e9\n\u00e9\n", "x\x00\x7f\xff"} {
		f.Add(s, uint8(3))
	}
	for i, name := range slices.Sorted(maps.Keys(jsonDecodedTexts)) {
		f.Add(jsonDecodedTexts[name], uint8(i*7))
	}
	f.Fuzz(func(t *testing.T, s string, spare uint8) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		b := append(make([]byte, 0, 2+int(spare)), "x:"...)
		got := appendJSONString(b, s)
		if string(got[:2]) != "x:" || !bytes.Equal(got[2:], want) {
			t.Errorf("%q:\n got %s\nwant x:%s", s, got, want)
		}
	})
}
