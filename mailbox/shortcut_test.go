package mailbox

import (
	"math/rand"
	"strings"
	"testing"
)

// randomText joins n tokens drawn from words, each followed by one of seps.
func randomText(rng *rand.Rand, n int, words, seps []string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		w := words[rng.Intn(len(words))]
		switch rng.Intn(6) {
		case 0:
			w = strings.ToUpper(w)
		case 1:
			if w != "" {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
		}
		b.WriteString(w)
		b.WriteString(seps[rng.Intn(len(seps))])
	}
	return b.String()
}

// TestTextWithoutCRMatchesSlowPath checks textWithoutCR and validString
// against validText and strings.ReplaceAll, on text with CRs, NULs and
// invalid bytes in every order.
func TestTextWithoutCRMatchesSlowPath(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"a", "Ana", "é", "预约", "\r", "\n", "\r\n", "\r\r\n", "\x00", "\xff", "\xe4\xb8", "\xc3", "\ufffd", ""}
	for i := 0; i < 20000; i++ {
		s := randomText(rng, rng.Intn(10), words, []string{""})
		want := strings.ReplaceAll(validText([]byte(s)), "\r\n", "\n")
		if got := textWithoutCR([]byte(s)); got != want {
			t.Fatalf("textWithoutCR(%q) = %q, want %q", s, got, want)
		}
		if got, want := validString(s), validText([]byte(s)); got != want {
			t.Fatalf("validString(%q) = %q, want %q", s, got, want)
		}
	}
}
