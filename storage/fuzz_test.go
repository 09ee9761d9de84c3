package storage

import (
	"os"
	"strings"
	"testing"
	"time"
)

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1986-03-14", "03/14/1986", "14.03.1986", "03/04/1986", "2000-02-29", "31/12/1999", "1/2/2003", "99/99/9999", "", "1986"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, dayFirst bool) {
		order := MDY
		if dayFirst {
			order = DMY
		}
		iso, ok := ParseDate(s, order)
		if !ok {
			return
		}
		d, err := time.Parse("2006-01-02", iso)
		if err != nil || d.Format("2006-01-02") != iso {
			t.Fatalf("ParseDate(%q) = %q, not a real YYYY-MM-DD date", s, iso)
		}
		if again, ok := ParseDate(iso, order); !ok || again != iso {
			t.Fatalf("ParseDate(%q) = %q, which reads back as %q", s, iso, again)
		}
	})
}

// FuzzImportCSV checks that no file makes the import panic or lose rows: every
// data row is imported, skipped or reported invalid, and a failed import
// adds nobody.
func FuzzImportCSV(f *testing.F) {
	for _, name := range []string{"patients.csv", "invalid.csv", "resembling.csv"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
	}
	f.Add("given_name\n\"unterminated\n")
	f.Add("family_name,phone\nLee,+1 555 0100\nLee,555 0100\n")
	s := openTestStore(f, Options{Plaintext: true})
	f.Fuzz(func(t *testing.T, csv string) {
		before := s.PatientCount()
		rep, err := s.ImportCSV(strings.NewReader(csv), ImportOptions{SkipInvalid: true})
		added := s.PatientCount() - before
		if err != nil {
			if added != 0 {
				t.Fatalf("failed import (%v) added %d patients", err, added)
			}
			return
		}
		if added != rep.Imported || len(rep.ImportedIDs) != rep.Imported {
			t.Fatalf("report says %d imported, store grew by %d", rep.Imported, added)
		}
		for _, r := range rep.Invalid {
			if r.Line < 2 || r.Reason == "" {
				t.Fatalf("invalid row without line or reason: %+v", r)
			}
		}
	})
}
