package storage

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// foldSpecial maps letters that carry no combining mark under NFD, so that
// stripping marks alone would not reach their plain Latin form.
var foldSpecial = map[rune]string{
	'ł': "l", 'ø': "o", 'đ': "d", 'ð': "d", 'ß': "ss", 'æ': "ae", 'œ': "oe",
	'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t", 'ŀ': "l", 'ŋ': "n", 'ĸ': "k",
	'ſ': "s", 'ɨ': "i", 'ƀ': "b", 'ɗ': "d", 'ƒ': "f",
}

// fold lower-cases s and removes diacritics, so that "Zoë" and "zoe",
// "Nguyễn" and "nguyen", "Łukasz" and "lukasz" compare equal.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	decomposed := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(decomposed))
	for _, r := range decomposed {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if rep, ok := foldSpecial[r]; ok {
			b.WriteString(rep)
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// isIdeograph reports whether r is written without spaces between words
// (Chinese, Japanese, Korean), so each character is searchable on its own.
func isIdeograph(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' || r == '`' }

// nameTokens folds s and splits it into search tokens: words split at
// spaces, hyphens and punctuation (apostrophes are dropped, so "O'Brien" is
// "obrien"), each ideograph on its own. With joined, a word made of several
// parts ("García-López") also yields the parts run together.
func nameTokens(s string, joined bool) []string {
	s = fold(s)
	var out []string
	for _, word := range strings.Fields(s) {
		var parts []string
		var cur strings.Builder
		flush := func() {
			if cur.Len() > 0 {
				parts = append(parts, cur.String())
				cur.Reset()
			}
		}
		for _, r := range word {
			switch {
			case isApostrophe(r):
			case isIdeograph(r):
				flush()
				parts = append(parts, string(r))
			case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r):
				cur.WriteRune(r)
			default:
				flush()
			}
		}
		flush()
		out = append(out, parts...)
		if joined && len(parts) > 1 && !isIdeographString(word) {
			out = append(out, strings.Join(parts, ""))
		}
	}
	return out
}

func isIdeographString(s string) bool {
	for _, r := range s {
		if isIdeograph(r) {
			return true
		}
	}
	return false
}

// foldedName is the folded "given family" name used to compare patients.
func foldedName(given, family string) string {
	return strings.Join(nameTokens(given+" "+family, false), " ")
}

// ParseDate reads a date typed as 1986-03-14, 03/14/1986, 14.03.1986 or
// 14-03-1986 and returns it as YYYY-MM-DD. When both day and month could be
// either (03/04/1986), order decides. ok is false for anything that is not a
// real calendar date.
func ParseDate(s string, order DateOrder) (iso string, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) < 8 || len(s) > 10 {
		return "", false
	}
	sep := -1
	for i, r := range s {
		if r == '-' || r == '/' || r == '.' {
			sep = i
			break
		}
		if r < '0' || r > '9' {
			return "", false
		}
	}
	if sep < 0 {
		return "", false
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	if len(fields) != 3 {
		return "", false
	}
	n := make([]int, 3)
	for i, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return "", false
		}
		n[i] = v
	}
	var y, m, d int
	switch {
	case len(fields[0]) == 4: // year first
		y, m, d = n[0], n[1], n[2]
	case len(fields[2]) == 4:
		y = n[2]
		a, b := n[0], n[1]
		switch {
		case a > 12 && b <= 12:
			d, m = a, b
		case b > 12 && a <= 12:
			m, d = a, b
		case order == DMY:
			d, m = a, b
		default:
			m, d = a, b
		}
	default:
		return "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

// normalizePhone returns the number in E.164 form ("+15551234567"), reading
// numbers without a country code as numbers of region; "" when it cannot be
// read as a possible phone number.
func normalizePhone(number, region string) string {
	if strings.TrimSpace(number) == "" {
		return ""
	}
	num, err := phonenumbers.Parse(number, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return ""
	}
	return phonenumbers.Format(num, phonenumbers.E164)
}

// phoneKeys are the digit strings a stored number is found by: the full
// international digits and the national number without its country code.
// Country calling codes are prefix-free, so the code is found without
// parsing the number again (this runs for every phone at open).
func phoneKeys(e164 string) []string {
	digits := strings.TrimPrefix(e164, "+")
	if digits == "" {
		return nil
	}
	codes := phonenumbers.GetSupportedCallingCodes()
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc, _ := strconv.Atoi(digits[:n])
		if codes[cc] {
			return []string{digits, digits[n:]}
		}
	}
	return []string{digits}
}

// digitsOf keeps the digits of s.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// looksLikePhone reports whether s holds only digits and the punctuation
// people type in phone numbers, with at least one digit.
func looksLikePhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '(' || r == ')' || r == '-' || r == '.' || r == '+' || r == '/':
		default:
			return false
		}
	}
	return digits > 0
}

// foldEmail is the form an email address is compared and searched in.
func foldEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
