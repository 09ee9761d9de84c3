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

// TestFindRelativeDayMatchesRegexp checks findRelativeDay against
// relativeDay.FindString on generated notes full of near misses.
func TestFindRelativeDayMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"next", "this", "coming", "monday", "tuesday", "wednesday", "thursday", "friday",
		"saturday", "sunday", "tomorrow", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "tom", "morning",
		"afternoon", "evening", "at", "around", "after", "before", "3", "10:30", "3pm", "4 p.m.", "11am", "a.m.",
		"pm", "friend", "month", "Monday's", "_mon", "xmon", "2mon", "nexts", "thisfri", "tues", "thurs",
		"satur", "ſat", "thiſ", "ſunday", "Kelvin", "día", "lunes", "понедельник", "é", "_", "next_", "mond",
		"\xff", "tomorrowx", "next\u00a0", "", "12:00", "99:99", "1:5"}
	seps := []string{" ", "  ", "\t", "\n", "\r\n", "\f", "\v", ", ", ".", "-", "_", "", "'", "(", ")", "\u00a0", "é", ":"}
	for i := 0; i < 40000; i++ {
		s := randomText(rng, 1+rng.Intn(12), words, seps)
		if got, want := findRelativeDay(s), relativeDay.FindString(s); got != want {
			t.Fatalf("findRelativeDay(%q) = %q, relativeDay finds %q", s, got, want)
		}
	}
}

// TestIsAutomatedLocalMatchesRegexp checks isAutomatedLocal against
// automatedLocal on generated local parts.
func TestIsAutomatedLocalMatchesRegexp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"no", "reply", "do", "not", "donotreply", "notification", "notifications", "notify",
		"form", "forms", "submission", "submissions", "mailer", "daemon", "bounce", "bounces", "bouncess",
		"wordpress", "postmaster", "calendar", "scheduling", "appointment", "appointments", "booking",
		"bookings", "support", "system", "alert", "alerts", "ann", "x", "ſupport", "booKings", "é", "\xff", "1"}
	seps := []string{"", "", "", "-", "+", ".", "_", "--", "\n", " ", "@", "é", "ſ"}
	for i := 0; i < 40000; i++ {
		s := randomText(rng, 1+rng.Intn(4), words, seps)
		if got, want := isAutomatedLocal(s), automatedLocal.MatchString(s); got != want {
			t.Fatalf("isAutomatedLocal(%q) = %v, automatedLocal says %v", s, got, want)
		}
	}
	for _, w := range automatedLocalWords {
		if !automatedLocal.MatchString(w) || !isAutomatedLocal(strings.ToUpper(w)+"+x") {
			t.Errorf("%q is not read as automated", w)
		}
	}
}
