package mailbox

import (
	"math/rand"
	"strings"
	"testing"
)

// isHTMLStubWithToLower is isHTMLStub as it was, with strings.ToLower:
// the oracle for TestIsHTMLStubMatchesToLower.
func isHTMLStubWithToLower(s string) bool {
	if len(s) > 200 {
		return false
	}
	l := strings.ToLower(s)
	return strings.Contains(l, "html") && (strings.Contains(l, "view") || strings.Contains(l, "enable") || strings.Contains(l, "support"))
}

// TestIsHTMLStubMatchesToLower checks isHTMLStub against
// isHTMLStubWithToLower on generated text, most of it not ASCII (runes
// that lower-case to ASCII letters, to longer encodings, invalid bytes
// that become U+FFFD) and around the 200-byte limit, and on the
// fixtures' texts cut to 200 bytes.
func TestIsHTMLStubMatchesToLower(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	words := []string{"html", "HTML", "htm", "l", "View", "vİew", "enable", "ENABLE", "supPort", "suppo", "rt", "İ", "K", "ſ",
		"é", "É", "\xff", "\xc4", "\xe2\x84", "Ⱥ", "ȿ", "заявка", "表单", "please", "version", "of", "this", "email", "\x00"}
	seps := []string{"", " ", "\n", "\r\n", ".", "\xff"}
	stubs := 0
	check := func(s string) {
		t.Helper()
		want := isHTMLStubWithToLower(s)
		if got := isHTMLStub(s); got != want {
			t.Fatalf("isHTMLStub(%q) = %v, with strings.ToLower %v", s, got, want)
		}
		if want {
			stubs++
		}
	}
	for i := 0; i < 30000; i++ {
		s := randomText(rng, rng.Intn(40), words, seps)
		check(s)
		if len(s) > 200 {
			check(s[:200]) // also cut mid-rune
			check(s[len(s)-200:])
		}
	}
	check(strings.Repeat("\xff", 200)) // lower-cases to 600 bytes
	check(strings.Repeat("\xff", 196) + "Html")
	check(strings.Repeat("Ⱥ", 98) + "ViewHtml")
	for _, name := range fixtureNames(t) {
		raw := string(readFixture(t, name))
		for i := 0; i+200 <= len(raw); i += 37 {
			check(raw[i : i+200])
		}
	}
	if stubs < 1000 {
		t.Fatalf("only %d stubs among the inputs", stubs)
	}
	t.Logf("%d stubs", stubs)
}
