package mailbox

import (
	"fmt"
	"math/rand"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	gomail "github.com/emersion/go-message/mail"
	"github.com/nyaruka/phonenumbers"
)

// TestParsePhoneShortcut checks that parsePhone and isValidPhone, which
// skip most of phonenumbers' work for North American numbers, give what
// phonenumbers.Parse and IsValidNumber give, on many numbers written in
// many ways and read for several regions.
func TestParsePhoneShortcut(t *testing.T) {
	t.Parallel() // long, and it shares nothing with other tests
	rng := rand.New(rand.NewSource(1))
	digits := func(n int) string { return randomDigits(rng, n) }
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
		"2026-12-07", "+1 503 555 0142 x12", "503.555.0142;ext=7", "+1 (503) 555-0142 / 971-555-0100",
		"+1 876 555 0142", "+1 416 555 0142", "+1 787 555 0142", "+1 268 464 1234", "(416) 555-0142",
		"876 555 0142", "+1 800 555 0142", "+1 900 555 0142", "+1 555 555 0142", "+1 2015550123")
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
			// normalizePhone as a whole, with its own E.164 for +1.
			wantE, wantOK := "", false
			if nd := strings.Count(strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return 'd'
				}
				return -1
			}, s), "d"); nd >= 7 && nd <= 15 && phonenumbers.IsValidNumber(want) {
				wantE, wantOK = phonenumbers.Format(want, phonenumbers.E164), true
			}
			if gotE, gotOK := normalizePhone(s, region); gotE != wantE || gotOK != wantOK {
				t.Fatalf("normalizePhone(%q, %s) = %q, %v; phonenumbers gives %q, %v", s, region, gotE, gotOK, wantE, wantOK)
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

// TestHeaderDateShortcut checks that headerDate reads Date headers as
// Header.Date (net/mail.ParseDate) does, in the usual form it reads itself
// and in others it leaves to ParseDate.
func TestHeaderDateShortcut(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	zones := []string{"+0000", "-0700", "+0530", "-0000", "+1400", "UT", "GMT", "EST", "PDT", "+0000 (UTC)", "-0800 (PST)"}
	days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz"}
	months := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo", "jan"}
	var values []string
	for i := 0; i < 3000; i++ {
		d := fmt.Sprintf("%d", 1+rng.Intn(31))
		if rng.Intn(2) == 0 && len(d) == 1 {
			d = "0" + d
		}
		y := fmt.Sprintf("%d", 1990+rng.Intn(50))
		if rng.Intn(8) == 0 {
			y = y[2:]
		}
		clock := fmt.Sprintf("%02d:%02d:%02d", rng.Intn(25), rng.Intn(61), rng.Intn(61))
		if rng.Intn(8) == 0 {
			clock = clock[:5]
		}
		v := fmt.Sprintf("%s %s %s %s", d, months[rng.Intn(len(months))], y, clock)
		if rng.Intn(6) != 0 {
			v = days[rng.Intn(len(days))] + ", " + v
		}
		v += " " + zones[rng.Intn(len(zones))]
		switch rng.Intn(10) {
		case 0:
			v = " " + v
		case 1:
			v += " "
		case 2:
			v = strings.Replace(v, " ", "  ", 1)
		case 3:
			v = strings.Replace(v, " ", "\r\n ", 1)
		}
		values = append(values, v)
	}
	values = append(values, "", "Tue, 24 Nov 2026 09:00:00 +0000", "24 Nov 2026 09:00 -0500", "garbage", "Tue, 24 Nov 2026 09:00:00 +00000")
	for _, v := range values {
		var h gomail.Header
		h.Set("Date", v)
		got, gotErr := headerDate(&h)
		want, wantErr := h.Date()
		if v != "" {
			if _, err := mail.ParseDate(v); (err == nil) != (wantErr == nil) {
				t.Fatalf("go-message and net/mail differ on %q", v)
			}
		}
		if (gotErr == nil) != (wantErr == nil) || !got.Equal(want) || got.Location().String() != want.Location().String() {
			t.Fatalf("headerDate(%q) = %v, %v; ParseDate = %v, %v", v, got, gotErr, want, wantErr)
		}
		gz, gOff := got.Zone()
		wz, wOff := want.Zone()
		if gz != wz || gOff != wOff {
			t.Fatalf("headerDate(%q) zone %s %d, ParseDate %s %d", v, gz, gOff, wz, wOff)
		}
	}
}

// TestValidUSMatchesPhonenumbers checks validUS against
// phonenumbers.IsValidNumberForRegion(n, "US") for every area code.
func TestValidUSMatchesPhonenumbers(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for area := 0; area < 1000; area++ {
		for k := 0; k < 12; k++ {
			nsn := fmt.Sprintf("%03d%03d%04d", area, rng.Intn(1000), rng.Intn(10000))
			if k == 0 {
				nsn = fmt.Sprintf("%03d5550142", area)
			}
			var n phonenumbers.PhoneNumber
			cc, nn := int32(1), uint64(0)
			fmt.Sscan(nsn, &nn)
			n.CountryCode, n.NationalNumber = &cc, &nn
			if got, want := validUS(phonenumbers.GetNationalSignificantNumber(&n)), phonenumbers.IsValidNumberForRegion(&n, "US"); got != want {
				t.Fatalf("validUS(%s) = %v, IsValidNumberForRegion = %v", nsn, got, want)
			}
		}
	}
	for _, nsn := range []string{"", "1", "503555014", "50355501420", "8005550142", "9005550142"} {
		n, err := phonenumbers.Parse("+1"+nsn, "US")
		if err != nil {
			continue
		}
		if got, want := validUS(phonenumbers.GetNationalSignificantNumber(n)), phonenumbers.IsValidNumberForRegion(n, "US"); got != want {
			t.Errorf("validUS(%s) = %v, IsValidNumberForRegion = %v", nsn, got, want)
		}
	}
}

// samePhoneNumber reports whether two parsed numbers have the same fields.
func samePhoneNumber(a, b *phonenumbers.PhoneNumber) bool {
	return a.GetCountryCode() == b.GetCountryCode() && a.GetNationalNumber() == b.GetNationalNumber() &&
		(a.ItalianLeadingZero == nil) == (b.ItalianLeadingZero == nil) && a.GetItalianLeadingZero() == b.GetItalianLeadingZero() &&
		(a.NumberOfLeadingZeros == nil) == (b.NumberOfLeadingZeros == nil) && a.GetNumberOfLeadingZeros() == b.GetNumberOfLeadingZeros() &&
		a.Extension == nil && b.Extension == nil && a.RawInput == nil && b.RawInput == nil &&
		a.CountryCodeSource == nil && b.CountryCodeSource == nil && a.PreferredDomesticCarrierCode == nil &&
		b.PreferredDomesticCarrierCode == nil
}

// TestIntlNumberMatchesParse checks intlNumber against phonenumbers.Parse
// for every country code phonenumbers knows: national numbers of every
// length from 0 to 18 digits, starting with every pair of digits and with
// the country's national prefix, written with the separators findPhone
// accepts and with others, and the numbers a prefix is stripped from.
func TestIntlNumberMatchesParse(t *testing.T) {
	t.Parallel() // long, and it shares nothing with other tests
	rng := rand.New(rand.NewSource(1))
	digits := func(n int) string { return randomDigits(rng, n) }
	seps := []string{"", "", "", " ", "-", ".", "(", ")", "–", " - ", "\t", "/", "x", "#", ",", "\u2011", "+", "*"}
	write := func(ds string) string {
		var b strings.Builder
		for _, c := range ds {
			if rng.Intn(3) == 0 {
				b.WriteString(seps[rng.Intn(len(seps))])
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	prefixes := map[int][]string{}
	for _, md := range coll.GetMetadata() {
		cc := int(md.GetCountryCode())
		prefixes[cc] = append(prefixes[cc], md.GetNationalPrefix(), md.GetNationalPrefixForParsing())
	}
	fast, slow := 0, 0
	check := func(s string) {
		got, ok := intlNumber(s)
		if !ok {
			slow++
			return
		}
		fast++
		for _, region := range []string{"US", "GB", "", "ZZ"} {
			want, err := phonenumbers.Parse(s, region)
			if err != nil || !samePhoneNumber(got, want) {
				t.Fatalf("intlNumber(%q) = %v; phonenumbers.Parse(%q, %q) = %v, %v", s, got, s, region, want, err)
			}
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		c := strconv.Itoa(cc)
		for lead := 0; lead < 100; lead++ {
			for k := 0; k < 3; k++ {
				check("+" + c + " " + fmt.Sprintf("%02d", lead) + digits(rng.Intn(16)))
			}
		}
		for n := 0; n <= 18; n++ {
			for k := 0; k < 4; k++ {
				check("+" + write(c+digits(n)))
			}
		}
		for _, p := range prefixes[cc] {
			if p == "" || strings.ContainsAny(p, "()[]|?*\\{") {
				continue
			}
			for k := 0; k < 6; k++ {
				check("+" + c + " " + p + digits(4+rng.Intn(10)))
			}
		}
	}
	for _, s := range []string{"+7 916 123-45-67", "+34 612 345 678", "+84 912 345 678", "+7 8916 123 45 67", "+39 06 1234 5678",
		"+39 0000 1234", "+44 (0) 20 7946 0958", "+44 20 7946 0958", "+49 30 12345678", "+800 1234 5678", "+882 1234 5678"} {
		check(s)
	}
	t.Logf("%d numbers took the shortcut, %d Parse's way", fast, slow)
	if fast < 50000 {
		t.Errorf("only %d numbers took the shortcut", fast)
	}
}

// TestIsValidPhoneMatchesPhonenumbers checks isValidPhone against
// phonenumbers.IsValidNumber for every country code: each region's example
// numbers of every type, those with a digit changed, dropped or added,
// random national numbers of 2 to 17 digits, and numbers with leading zeros.
func TestIsValidPhoneMatchesPhonenumbers(t *testing.T) {
	t.Parallel() // long, and it shares nothing with other tests
	rng := rand.New(rand.NewSource(1))
	check := func(n *phonenumbers.PhoneNumber) {
		if got, want := nationalSignificantNumber(n), phonenumbers.GetNationalSignificantNumber(n); got != want {
			t.Fatalf("nationalSignificantNumber(%v) = %s, want %s", n, got, want)
		}
		if got, want := isValidPhone(n), phonenumbers.IsValidNumber(n); got != want {
			t.Fatalf("isValidPhone(+%d %s) = %v, IsValidNumber = %v", n.GetCountryCode(), phonenumbers.GetNationalSignificantNumber(n), got, want)
		}
	}
	number := func(cc int, nsn string) *phonenumbers.PhoneNumber {
		n, err := phonenumbers.Parse("+"+strconv.Itoa(cc)+nsn, "ZZ")
		if err != nil {
			c, nn := int32(cc), uint64(0)
			nn, _ = strconv.ParseUint(nsn, 10, 64)
			return &phonenumbers.PhoneNumber{CountryCode: &c, NationalNumber: &nn}
		}
		return n
	}
	valid := 0
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		var examples []string
		for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
			for _, typ := range types {
				var ex *phonenumbers.PhoneNumber
				if region == "001" {
					ex = phonenumbers.GetExampleNumberForNonGeoEntity(cc)
				} else {
					ex = phonenumbers.GetExampleNumberForType(region, typ)
				}
				if ex != nil {
					examples = append(examples, phonenumbers.GetNationalSignificantNumber(ex))
				}
			}
		}
		for _, ex := range examples {
			check(number(cc, ex))
			if isValidPhone(number(cc, ex)) {
				valid++
			}
			for k := 0; k < 20; k++ {
				b := []byte(ex)
				i := rng.Intn(len(b))
				switch rng.Intn(3) {
				case 0:
					b[i] = byte('0' + rng.Intn(10))
				case 1:
					b = append(b[:i], b[i+1:]...)
				default:
					b = append(b[:i], append([]byte{byte('0' + rng.Intn(10))}, b[i:]...)...)
				}
				if len(b) > 0 {
					check(number(cc, string(b)))
				}
			}
		}
		for k := 0; k < 100; k++ {
			var b strings.Builder
			for n := 2 + rng.Intn(16); n > 0; n-- {
				b.WriteByte(byte('0' + rng.Intn(10)))
			}
			check(number(cc, b.String()))
		}
	}
	if valid < 1000 {
		t.Errorf("only %d example numbers are valid", valid)
	}
	for _, zeros := range []*int32{nil, new(int32(0)), new(int32(1)), new(int32(2)), new(int32(-1)), new(int32(40))} {
		for _, italian := range []*bool{nil, new(false), new(true)} {
			cc, nn := int32(39), uint64(612345678)
			check(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn, ItalianLeadingZero: italian, NumberOfLeadingZeros: zeros})
		}
	}
}

// TestDigitDFAMatchesRegexp checks digitDFA against the regexp it is built
// from for every number pattern of every region: all digit strings of up
// to 4 digits, each pattern's example number with every digit changed and
// with digits dropped and added, and random strings of up to 17 digits.
func TestDigitDFAMatchesRegexp(t *testing.T) {
	t.Parallel() // long, and it shares nothing with other tests
	rng := rand.New(rand.NewSource(1))
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	var short []string
	for n, w := 0, 1; n <= 4; n, w = n+1, w*10 {
		for i := 0; i < w; i++ {
			short = append(short, fmt.Sprintf("%0*d", n, i)[:n])
		}
	}
	built, total, matched := 0, 0, 0
	for _, md := range coll.GetMetadata() {
		for _, d := range []*phonenumbers.PhoneNumberDesc{md.GetGeneralDesc(), md.GetPremiumRate(), md.GetTollFree(),
			md.GetSharedCost(), md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(),
			md.GetFixedLine(), md.GetMobile()} {
			if d == nil {
				continue
			}
			total++
			p := d.GetNationalNumberPattern()
			dfa := newDigitDFA(p)
			if dfa == nil {
				continue
			}
			built++
			re := regexp.MustCompile("^(?:" + p + ")$")
			check := func(s string) {
				got, ok := dfa.match(s)
				if !ok {
					t.Fatalf("%s %q: digits not read", md.GetId(), s)
				}
				if want := re.MatchString(s); got != want {
					t.Fatalf("%s pattern %q on %q: automaton %v, regexp %v", md.GetId(), p, s, got, want)
				}
				if got {
					matched++
				}
			}
			for _, s := range short {
				check(s)
			}
			if ex := d.GetExampleNumber(); ex != "" {
				check(ex)
				for i := range ex {
					for c := byte('0'); c <= '9'; c++ {
						b := []byte(ex)
						b[i] = c
						check(string(b))
						check(ex[:i] + string(c) + ex[i:])
					}
					check(ex[:i] + ex[i+1:])
				}
			}
			for k := 0; k < 100; k++ {
				b := make([]byte, 1+rng.Intn(17))
				for i := range b {
					b[i] = byte('0' + rng.Intn(10))
				}
				check(string(b))
			}
		}
	}
	t.Logf("%d of %d patterns as automata; %d matches", built, total, matched)
	if built < total*9/10 || matched < 10000 {
		t.Errorf("%d of %d patterns as automata, %d matches", built, total, matched)
	}
	if _, ok := (&digitDFA{next: [][10]int32{{}}, accept: []bool{false}}).match("12a"); ok {
		t.Error("a non-digit was read")
	}
}

// randomDigits returns n random decimal digits.
func randomDigits(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(byte('0' + rng.Intn(10)))
	}
	return b.String()
}

// TestE164MatchesFormat checks e164 against phonenumbers.Format(n, E164):
// every region's example numbers of every type, what Parse makes of
// random numbers written with a country code (leading zeros, extensions
// and all), and numbers built by hand with leading zeros, extensions, raw
// input and no national number.
func TestE164MatchesFormat(t *testing.T) {
	var numbers []*phonenumbers.PhoneNumber
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			if n := phonenumbers.GetExampleNumberForType(region, typ); n != nil {
				numbers = append(numbers, n)
			}
		}
	}
	rng := rand.New(rand.NewSource(5))
	var codes []int
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		codes = append(codes, cc)
	}
	slices.Sort(codes)
	// Parse is slow (under -race most of all): a few thousand of its
	// numbers, and many more built by hand below.
	for i := 0; i < 3000; i++ {
		s := "+" + strconv.Itoa(codes[rng.Intn(len(codes))]) + " " + strings.Repeat("0", rng.Intn(3)) +
			randomDigits(rng, 4+rng.Intn(10))
		if rng.Intn(8) == 0 {
			s += " ext. " + randomDigits(rng, 1+rng.Intn(4))
		}
		if n, err := phonenumbers.Parse(s, "US"); err == nil {
			numbers = append(numbers, n)
		}
	}
	for i := 0; i < 20000; i++ {
		cc, nn := int32(codes[rng.Intn(len(codes))]), rng.Uint64()>>uint(rng.Intn(64))
		if rng.Intn(10) == 0 {
			nn = 0
		}
		n := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
		if rng.Intn(2) == 0 {
			yes := rng.Intn(3) > 0
			n.ItalianLeadingZero = &yes
			if rng.Intn(2) == 0 {
				z := int32(rng.Intn(5) - 1)
				n.NumberOfLeadingZeros = &z
			}
		}
		if rng.Intn(4) == 0 {
			raw := "+" + randomDigits(rng, rng.Intn(6))
			n.RawInput = &raw
		}
		if rng.Intn(4) == 0 {
			ext := randomDigits(rng, 3)
			n.Extension = &ext
		}
		numbers = append(numbers, n)
	}
	for _, n := range numbers {
		if got, want := e164(n), phonenumbers.Format(n, phonenumbers.E164); got != want {
			t.Fatalf("e164(%v) = %q, phonenumbers.Format %q", n, got, want)
		}
	}
}

// validUS is phonenumbers.IsValidNumberForRegion(n, "US") for the national
// significant number of a +1 number. TestValidUSMatchesPhonenumbers checks
// them against each other.
func validUS(nsn string) bool {
	return rulesFor(1, "US").valid(nsn)
}
