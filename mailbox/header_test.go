package mailbox

import (
	"fmt"
	"math/rand"
	"net/mail"
	"strings"
	"testing"
	"time"

	message "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
)

// sameTime reports whether a and b are the same instant in the same
// Location: equal wall and zone (name and offset), and either the same
// *Location or both fixed zones of that name and offset (FixedZone makes
// a new one per call for offsets that are not whole hours).
func sameTime(a, b time.Time) bool {
	if a == b {
		return true
	}
	an, ao := a.Zone()
	bn, bo := b.Zone()
	return a.Equal(b) && an == bn && ao == bo && a.Location().String() == b.Location().String() &&
		a.Location() != time.Local && b.Location() != time.Local &&
		a.Location() != time.UTC && b.Location() != time.UTC
}

// TestUsualDateMatchesParseDate checks usualDate against mail.ParseDate
// (what dateOf gives for a non-empty value), under several local zones
// (time.Parse gives the local Location when its offset matches), on
// generated dates: every weekday and month, names in other cases, one- and
// two-digit days, two- and four-digit years, missing seconds, out-of-range
// fields, numeric and obsolete zones, comments, odd spacing and folding.
func TestUsualDateMatchesParseDate(t *testing.T) {
	locals := []*time.Location{time.UTC, time.FixedZone("PST", -8*3600), time.FixedZone("IST", 5*3600+1800)}
	if la, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		locals = append(locals, la)
	}
	if la, err := time.LoadLocation("Europe/London"); err == nil {
		locals = append(locals, la)
	}
	saved := time.Local
	defer func() { time.Local = saved }()

	rng := rand.New(rand.NewSource(1))
	days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "mon", "TUE", "Xyz", "Monday"}
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "jan", "DEC", "Foo", "June"}
	zones := []string{"+0000", "-0000", "-0700", "-0800", "+0100", "+0530", "+0545", "-0930", "+1400", "-1200", "+2400",
		"+0060", "+2359", "-07", "+07:00", "UT", "UTC", "GMT", "EST", "PDT", "Z", "A", "0000", "+00000"}
	tails := []string{"", "", "", " ", "\t", " (UTC)", " (PST)", "  (Pacific Standard Time)  ", "(UTC)", " (a(b)c)",
		" (a\\)b)", " (unclosed", " x", " GMT", " ()", " (é)", "\r\n (UTC)", " (\x01)"}
	// pick draws from list, from its first good entries three times in four.
	pick := func(list []string, good int) string {
		if rng.Intn(4) != 0 {
			return list[rng.Intn(good)]
		}
		return list[rng.Intn(len(list))]
	}
	var values []string
	for i := 0; i < 20000; i++ {
		d := fmt.Sprint(rng.Intn(33))
		switch rng.Intn(8) {
		case 0:
			d = fmt.Sprintf("%02s", d)
		case 1:
			d = fmt.Sprintf("%03s", d)
		}
		var y string
		switch rng.Intn(20) {
		case 0:
			y = fmt.Sprintf("%02d", rng.Intn(100))
		case 1:
			y = fmt.Sprint(rng.Intn(10000))
		default:
			y = fmt.Sprint(1896 + rng.Intn(210))
		}
		clock := fmt.Sprintf("%02d:%02d", rng.Intn(25), rng.Intn(61))
		if rng.Intn(6) != 0 {
			clock += fmt.Sprintf(":%02d", rng.Intn(61))
		}
		switch rng.Intn(40) {
		case 0:
			clock = strings.TrimPrefix(clock, "0")
		case 1:
			clock += ".5"
		}
		v := d + " " + pick(months, 12) + " " + y + " " + clock + " " + pick(zones, 10) +
			pick(tails, 8)
		if rng.Intn(5) != 0 {
			v = pick(days, 7) + ", " + v
		}
		switch rng.Intn(24) {
		case 0:
			v = " " + v
		case 1:
			v = "\t" + v
		case 2:
			v = strings.Replace(v, " ", "  ", 1+rng.Intn(3))
		case 3:
			v = strings.Replace(v, " ", "\r\n ", 1)
		case 4:
			v = strings.Replace(v, ", ", ",", 1)
		}
		values = append(values, v)
	}
	values = append(values, "", " ", "garbage", "Tue, 24 Nov 2026 09:00:00 +0000", "Mon, 29 Feb 2027 09:00:00 +0000",
		"Tue, 29 Feb 2028 09:00:00 -0800", "Sun, 30 Feb 2028 09:00:00 +0000", "31 Apr 2026 10:00 +0000",
		"Sun, 8 Mar 2026 02:30:00 -0800", "Sun, 1 Nov 2026 01:30:00 -0800", "Sun, 1 Nov 2026 01:30:00 -0700")
	for _, loc := range locals {
		time.Local = loc
		fast := 0
		for _, v := range values {
			got, ok := usualDate(v)
			if !ok {
				continue
			}
			fast++
			want, err := mail.ParseDate(v)
			if err != nil || !sameTime(got, want) {
				t.Fatalf("local %s: usualDate(%q) = %v (%p); ParseDate = %v (%p), %v",
					loc, v, got, got.Location(), want, want.Location(), err)
			}
			if old, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", v); err == nil && !sameTime(got, old) {
				t.Fatalf("local %s: usualDate(%q) = %v; time.Parse = %v", loc, v, got, old)
			}
		}
		t.Logf("local %s: %d of %d took the shortcut", loc, fast, len(values))
		if fast < 3000 {
			t.Errorf("local %s: only %d took the shortcut", loc, fast)
		}
	}
	time.Local = saved
	for _, v := range []string{"Mon, 2 Jan 2006 15:04:05 -0700", "2 Jan 2006 15:04 +0000", "Tue, 24 Nov 2026 09:00:00 +0000 (UTC)",
		"Wed, 09 Dec 2026 10:30:00 +0530", " Thu, 1 Oct 2026 00:00:00 -0000  "} {
		if _, ok := usualDate(v); !ok {
			t.Errorf("%q does not take the shortcut", v)
		}
	}
}

// TestSimpleAddressNamesMatchNetMail checks simpleAddress against
// go-message's ParseAddressList (net/mail) on generated address headers
// whose names are not ASCII: encoded words in several charsets and
// encodings, next to each other, to plain words and quoted strings, empty,
// malformed or in unknown charsets; UTF-8 in atoms and quoted strings,
// invalid UTF-8, non-breaking spaces and U+FFFD.
func TestSimpleAddressNamesMatchNetMail(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	words := []string{"Ann", "Lee", "Dr.", "O'Neil", "Lucía", "Fernández", "Ánn", "Иван", "山田", "a\u00a0b", "\ufffd",
		`"Lucía Fernández"`, `"Lee, Ann"`, `""`, `"é, ü"`, `"a=?b"`, `"=?utf-8?q?a?="`,
		"=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?=", "=?utf-8?q?Luc=C3=ADa?=", "=?UTF-8?Q?Ann_Lee?=", "=?utf-8?b?THVjw61h?=",
		"=?windows-1251?B?yOLg7SDP5fLw7uI=?=", "=?ISO-2022-JP?B?GyRCOzNFRDJWO1IbKEI=?=", "=?GB2312?B?1KTUvA==?=",
		"=?iso-8859-1?q?J=F6rg?=", "=?utf-8?q??=", "=?utf-8?b??=", "=?x-klingon?Q?qapla?=", "=?utf-8?x?abc?=",
		"=?utf-8?q?a b?=", "=?utf-8?b?!!!?=", "=?utf-8?q?=ZZ?=", "=?utf-8?q?a?=b", "a=?utf-8?q?b?=", "=?", "=?utf-8?q?a",
		"=?utf-8*en?q?Ann?=", "=?UTF-8?Q?=E2=80=8B?=", "=?utf-8?q?=FF?=", "\xff", "a\xc3", "(c)", ",", "@", "<", "\x01"}
	addrs := []string{"<lucia@example.es>", "<a.b@c.d>", "<A@B.C>", "<a@b..c>", "<é@b.c>", "<a@b.c", "<a@[1.2.3.4]>"}
	seps := []string{" ", " ", " ", "", "  ", "\t", "\r\n "}
	fast := 0
	for i := 0; i < 60000; i++ {
		var b strings.Builder
		for n := rng.Intn(4); n > 0; n-- {
			w := words[rng.Intn(len(words))]
			if rng.Intn(3) != 0 {
				w = words[rng.Intn(31)] // mostly decodable
			}
			b.WriteString(w)
			b.WriteString(seps[rng.Intn(len(seps))])
		}
		a := addrs[0]
		if rng.Intn(4) == 0 {
			a = addrs[rng.Intn(len(addrs))]
		}
		v := b.String() + a
		if rng.Intn(6) == 0 {
			v = " " + v + " "
		}
		name, addr, ok := simpleAddress(v)
		if !ok {
			continue
		}
		fast++
		list, err := gomail.ParseAddressList(v)
		if err != nil || len(list) == 0 {
			t.Fatalf("simpleAddress(%q) = %q, %q; net/mail: %v, %v", v, name, addr, list, err)
		}
		if list[0].Name != name || list[0].Address != addr {
			t.Fatalf("simpleAddress(%q) = %q, %q; net/mail %q, %q", v, name, addr, list[0].Name, list[0].Address)
		}
	}
	t.Logf("%d took the shortcut", fast)
	if fast < 10000 {
		t.Errorf("only %d of the generated headers took the shortcut", fast)
	}
	for _, v := range []string{"=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <an.nguyen@example.vn>",
		"=?windows-1251?B?yOLg7SDP5fLw7uI=?= <ivan.petrov@example.ru>", `"Lucía Fernández" <lucia.fernandez@example.es>`,
		"Lucía Fernández <lucia@example.es>", "=?utf-8?q?Ann?= =?utf-8?q?_Lee?= <a@b.c>"} {
		if _, _, ok := simpleAddress(v); !ok {
			t.Errorf("%q does not take the shortcut", v)
		}
	}
}

// TestSubjectOfMatchesGoMessage checks subjectOf against go-message's
// Header.Subject() on generated subjects: encoded words in several
// charsets and encodings, next to each other and to plain text, empty,
// malformed or in unknown charsets, and plain UTF-8 and invalid bytes.
func TestSubjectOfMatchesGoMessage(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	words := []string{"Re:", "Fwd:", "appointment", "Lucía", "Иван", "(x)", "=?", "?=", "\xff",
		"=?UTF-8?B?xJDhurd0IGzhu4tjaCBraMOhbQ==?=", "=?UTF-8?Q?Nueva_solicitud_de_cita?=", "=?utf-8?q?a?=",
		"=?windows-1251?Q?=C7=E0=EF=E8=F1=FC_=ED=E0_=EF=F0=E8=B8=EC?=", "=?ISO-2022-JP?B?GyRCTT1McyROJCo0aiQkGyhC?=",
		"=?GB2312?B?1KTUvA==?=", "=?iso-8859-1?q?J=F6rg?=", "=?US-ASCII?Q?plain?=", "=?Windows-1252?Q?caf=E9?=",
		"=?x-klingon?Q?qapla?=", "=?utf-8?x?abc?=", "=?utf-8?b?!!!?=", "=?utf-8?q?=ZZ?=", "=?utf-8?q??=",
		"=?utf-8?q?a?=b", "a=?utf-8?q?b?=", "=?utf-8*en?q?Ann?=", "=?utf-8?q?a b?=", "=?koi8-r?B?7snLz8zByg==?="}
	seps := []string{" ", " ", "", "  ", "\t", "\r\n ", "\n"}
	decoded := 0
	for i := 0; i < 40000; i++ {
		var b strings.Builder
		for n := 1 + rng.Intn(4); n > 0; n-- {
			b.WriteString(words[rng.Intn(len(words))])
			b.WriteString(seps[rng.Intn(len(seps))])
		}
		v := b.String()
		if rng.Intn(3) == 0 {
			v = strings.TrimSpace(v)
		}
		got, gotErr := subjectOf(v)
		want, wantErr := oneFieldHeader("Subject", v).Subject()
		if got != want || (gotErr == nil) != (wantErr == nil) || message.IsUnknownCharset(gotErr) != message.IsUnknownCharset(wantErr) {
			t.Fatalf("subjectOf(%q) = %q, %v; Subject() = %q, %v", v, got, gotErr, want, wantErr)
		}
		if strings.Contains(v, "=?") && gotErr == nil {
			decoded++
		}
	}
	t.Logf("%d encoded subjects decoded", decoded)
	if decoded < 5000 {
		t.Errorf("only %d encoded subjects decoded", decoded)
	}
}

// TestProblemMatchesSprintf checks that problem notes what
// fmt.Sprintf(format, args...) gives, with and without arguments and with
// '%' in formats without arguments, once each.
func TestProblemMatchesSprintf(t *testing.T) {
	cases := []struct {
		format string
		args   []any
	}{
		{"The sender address could not be read.", nil},
		{"A very long text part was cut at %d KiB.", []any{256}},
		{"100% sure", nil},
		{"%d%%", nil},
		{"50%% off", nil},
		{"%s", []any{"x"}},
		{"", nil},
		{"plain é", nil},
	}
	var p parser
	for _, c := range cases {
		p.problem(c.format, c.args...)
		p.problem(c.format, c.args...)
	}
	var want []string
	for _, c := range cases {
		want = append(want, fmt.Sprintf(c.format, c.args...))
	}
	if fmt.Sprint(p.req.Problems) != fmt.Sprint(want) || len(p.req.Problems) != len(want) {
		t.Errorf("problems %q, want %q", p.req.Problems, want)
	}
}
