package mailbox

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"
)

// hasDelimiter is what nestedTooDeeply asked of each level before
// anyDelimiter: the oracle for it.
func hasDelimiter(b []byte, start int, dash string) bool {
	for i := start; i < len(b); {
		j := bytes.Index(b[i:], []byte(dash))
		if j < 0 {
			return false
		}
		k := i + j
		if b[k-1] == '\n' { // a part's body starts after a LF (its header's blank line)
			if e := k + len(dash); e == len(b) || strings.IndexByte(" \t\r\n-", b[e]) >= 0 {
				return true
			}
		}
		i = k + 1
	}
	return false
}

func anyDelimiterOld(b []byte, starts []int, dashes []string) bool {
	for d, dash := range dashes {
		if hasDelimiter(b, starts[d], dash) {
			return true
		}
	}
	return false
}

// TestAnyDelimiterMatchesHasDelimiter compares anyDelimiter with a
// hasDelimiter for each level, over the nesting of hostile-nested.eml
// and generated bodies: delimiter-like lines with every ending,
// boundaries that are prefixes of others, CRLF, LF and lone CRs, NULs,
// invalid UTF-8, long lines, and a dash at the very end.
func TestAnyDelimiterMatchesHasDelimiter(t *testing.T) {
	raw := readFixture(t, "hostile-nested.eml")
	body := raw[bytes.Index(raw, []byte("\r\n\r\n"))+4:]
	var starts []int
	var dashes []string
	for d := 0; d < 20; d++ {
		dash := "--b" + string(rune('0'+d%10))
		if d >= 10 {
			dash = "--b1" + string(rune('0'+d%10))
		}
		i := bytes.Index(body, []byte(dash+"\r\n"))
		starts = append(starts, i+len(dash)+2+bytes.Index(body[i+len(dash)+2:], []byte("\r\n\r\n"))+4)
		dashes = append(dashes, dash)
		for _, end := range []int{starts[d], starts[d] + 40, starts[d] + 400, len(body)} {
			end = min(end, len(body))
			if got, want := anyDelimiter(body[:end], starts, dashes), anyDelimiterOld(body[:end], starts, dashes); got != want {
				t.Fatalf("hostile-nested, %d levels, end %d: %v, want %v", d+1, end, got, want)
			}
		}
	}
	rng := rand.New(rand.NewSource(3))
	words := []string{"--b1", "--b10", "--b", "--b1--", "--b1 ", "--b1\t", "--b1x", "x--b1", "--", "-", "--b2",
		"Content-Type: multipart/mixed; boundary=\"b1\"", "", "a-b", "\x00", "\xff", "é", strings.Repeat("-", 90)}
	ends := []string{"\r\n", "\n", "\r", ""}
	allDashes := []string{"--b1", "--b10", "--b", "--b2", "--b1-", "--x"}
	var seen [2]int // how many bodies had a delimiter, and how many not
	for i := 0; i < 300000; i++ {
		var sb strings.Builder
		for n := rng.Intn(10); n > 0; n-- {
			sb.WriteString(words[rng.Intn(len(words))])
			sb.WriteString(ends[rng.Intn(len(ends))])
		}
		b := []byte(sb.String())
		if len(b) == 0 {
			continue
		}
		var starts []int
		var dashes []string
		at := 1 + rng.Intn(len(b))
		for n := 1 + rng.Intn(4); n > 0 && at <= len(b); n-- {
			starts = append(starts, at)
			dashes = append(dashes, allDashes[rng.Intn(len(allDashes))])
			at += 1 + rng.Intn(8)
		}
		if got, want := anyDelimiter(b, starts, dashes), anyDelimiterOld(b, starts, dashes); got != want {
			t.Fatalf("anyDelimiter(%q, %v, %q) = %v, want %v", b, starts, dashes, got, want)
		} else if got {
			seen[0]++
		} else {
			seen[1]++
		}
	}
	if seen[0] < 1000 || seen[1] < 1000 {
		t.Fatalf("too few bodies of a kind: %d with a delimiter, %d without", seen[0], seen[1])
	}
	t.Logf("%d with a delimiter, %d without", seen[0], seen[1])
}
