package mailbox

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestParsePhoneShortcut checks that parsePhone and isValidPhone, which
// skip most of phonenumbers' work for North American numbers, give what
// phonenumbers.Parse and IsValidNumber give, on many numbers written in
// many ways and read for several regions.
func TestParsePhoneShortcut(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	digits := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(byte('0' + rng.Intn(10)))
		}
		return b.String()
	}
	seps := []string{"", " ", "-", ".", "  ", " - ", "–", "\t", "(", ")", "((", ")-(", "..", "-.-", ") ("}
	sep := func() string { return seps[rng.Intn(len(seps))] }
	var inputs []string
	for i := 0; i < 6000; i++ {
		area, exch, line := digits(3), digits(3), digits(4)
		switch i % 10 {
		case 8:
			// A separator anywhere, even first or last.
			var b strings.Builder
			if rng.Intn(2) == 0 {
				b.WriteString("+1")
			}
			for _, c := range area + exch + line {
				b.WriteString(sep())
				b.WriteRune(c)
			}
			b.WriteString(sep())
			inputs = append(inputs, b.String())
		case 9:
			inputs = append(inputs, sep()+"+1"+sep()+area+exch+line+sep())
		case 0:
			inputs = append(inputs, area+exch+line)
		case 1:
			inputs = append(inputs, "("+area+") "+exch+"-"+line)
		case 2:
			inputs = append(inputs, "+1 "+area+sep()+exch+sep()+line)
		case 3:
			inputs = append(inputs, "+1"+sep()+"("+area+")"+sep()+exch+sep()+line)
		case 4:
			inputs = append(inputs, "1"+sep()+area+sep()+exch+sep()+line)
		case 5:
			inputs = append(inputs, "+"+digits(1+rng.Intn(3))+sep()+digits(6+rng.Intn(6)))
		case 6:
			inputs = append(inputs, sep()+digits(7+rng.Intn(8))+sep())
		default:
			inputs = append(inputs, area+sep()+exch+sep()+line+sep()+digits(rng.Intn(3)))
		}
	}
	inputs = append(inputs, "503-555-0142", "+1 (503) 555-0142", "(503) 555–0142", "+15035550142",
		"0035550142", "1035550142", "+1 0035550142", "+1 1035550142", "+2 503 555 0142", "011 503 555 0142",
		"2026-12-07", "+1 503 555 0142 x12", "503.555.0142;ext=7", "+1 (503) 555-0142 / 971-555-0100")
	for _, region := range []string{"US", "CA", "GB", "VN"} {
		for _, s := range inputs {
			want, wantErr := phonenumbers.Parse(s, region)
			got, gotErr := parsePhone(s, region)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("parsePhone(%q, %s) error %v, phonenumbers.Parse error %v", s, region, gotErr, wantErr)
			}
			if wantErr != nil {
				continue
			}
			if got.GetCountryCode() != want.GetCountryCode() || got.GetNationalNumber() != want.GetNationalNumber() ||
				got.GetItalianLeadingZero() != want.GetItalianLeadingZero() || got.GetExtension() != want.GetExtension() {
				t.Fatalf("parsePhone(%q, %s) = %v, phonenumbers.Parse = %v", s, region, got, want)
			}
			if g, w := isValidPhone(got), phonenumbers.IsValidNumber(want); g != w {
				t.Fatalf("isValidPhone(%q, %s) = %v, IsValidNumber = %v", s, region, g, w)
			}
			if g, w := phonenumbers.Format(got, phonenumbers.E164), phonenumbers.Format(want, phonenumbers.E164); g != w {
				t.Fatalf("E.164 of %q: %s, want %s", s, g, w)
			}
		}
	}
	// Valid numbers of other countries sharing +1 go the long way.
	for _, s := range []string{"+1 876 555 0142", "+1 416 555 0142", "+1 787 555 0142", "+1 268 464 1234"} {
		n, _ := phonenumbers.Parse(s, "US")
		if isValidPhone(n) != phonenumbers.IsValidNumber(n) {
			t.Errorf("isValidPhone(%s) differs from IsValidNumber", s)
		}
	}
}

func ExampleNormalizePhone() {
	fmt.Println(NormalizePhone("(503) 555-0142", "US"), NormalizePhone("+44 20 7946 0958", "US"))
	// Output: +15035550142 +442079460958
}
