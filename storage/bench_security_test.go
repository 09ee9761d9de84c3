package storage

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The encrypted benchmarks use a copy of the 100,000-patient fixture that
// Setup encrypted in place (with the real Argon2id parameters). With
// FRONTDESK_BENCH_STORE set, the copy is kept beside it ("<dir>-encrypted")
// and reused.
var encFixture struct {
	once     sync.Once
	dir      string
	plainDir string // the plaintext fixture compacted the same way, for a fair comparison
	err      error
	took     time.Duration
}

func encryptedFixtureDir(b *testing.B) string {
	b.Helper()
	plain := fixtureDir(b)
	encFixture.once.Do(func() {
		if reused {
			encFixture.dir, encFixture.plainDir = plain+"-encrypted", plain+"-compacted"
			_, err1 := os.Stat(filepath.Join(encFixture.dir, FileName))
			_, err2 := os.Stat(filepath.Join(encFixture.plainDir, FileName))
			if err1 == nil && err2 == nil {
				return
			}
			os.RemoveAll(encFixture.dir)
			os.RemoveAll(encFixture.plainDir)
			encFixture.err = errors.Join(os.MkdirAll(encFixture.dir, 0o700), os.MkdirAll(encFixture.plainDir, 0o700))
		} else {
			encFixture.dir, encFixture.err = os.MkdirTemp("", "frontdesk-bench-encrypted-")
			if encFixture.err == nil {
				encFixture.plainDir, encFixture.err = os.MkdirTemp("", "frontdesk-bench-compacted-")
			}
		}
		if encFixture.err != nil {
			return
		}
		if encFixture.err = compactCopy(filepath.Join(plain, FileName), filepath.Join(encFixture.plainDir, FileName)); encFixture.err != nil {
			return
		}
		if encFixture.err = copyFile(filepath.Join(plain, FileName), filepath.Join(encFixture.dir, FileName)); encFixture.err != nil {
			return
		}
		start := time.Now()
		s, err := Open(encFixture.dir, Options{})
		if err != nil {
			encFixture.err = err
			return
		}
		defer s.Close()
		saved := passwordKDF
		passwordKDF = realPasswordKDF
		defer func() { passwordKDF = saved }()
		_, encFixture.err = s.Setup(adminName, adminPass)
		encFixture.took = time.Since(start)
	})
	if encFixture.err != nil {
		b.Fatal(encFixture.err)
	}
	if encFixture.took > 0 {
		b.Logf("encrypted fixture: Setup encrypted the 100k store in place (and compacted it) in %v", encFixture.took.Round(time.Millisecond))
	}
	return encFixture.dir
}

// compactCopy writes a compacted copy of the store file src to dst, as
// Setup leaves an encrypted store.
func compactCopy(src, dst string) error {
	from, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := bolt.Open(dst, 0o600, nil)
	if err != nil {
		return err
	}
	if err := bolt.Compact(to, from, 16<<20); err != nil {
		to.Close()
		return err
	}
	return to.Close()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BenchmarkOpenUnlockEncrypted100k opens the encrypted 100k store and
// unlocks it (Argon2id, unwrapping, unsealing every search key and intake
// link, index build), alternating with opening the same data unencrypted
// (compacted like the encrypted file, so that only encryption differs).
// Goals: encrypted < 1.5 s and within 1.5× of unencrypted.
func BenchmarkOpenUnlockEncrypted100k(b *testing.B) {
	encDir := encryptedFixtureDir(b)
	plainDir := encFixture.plainDir
	var plainTotal, encTotal, kdfTotal time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		ps, err := Open(plainDir, Options{Plaintext: true})
		if err != nil {
			b.Fatal(err)
		}
		plainTotal += time.Since(start)
		count := ps.PatientCount()
		ps.Close()

		start = time.Now()
		es, err := Open(encDir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := es.Unlock(adminName, adminPass); err != nil {
			b.Fatal(err)
		}
		encTotal += time.Since(start)
		if es.PatientCount() < benchPatients || es.PatientCount() < count-1000 {
			b.Fatalf("encrypted store opened %d patients, plaintext %d", es.PatientCount(), count)
		}
		es.Close()

		// The Argon2id derivation alone, for the breakdown.
		start = time.Now()
		kdf := realPasswordKDF
		(&wrappedKey{KDF: kdfArgon2id, Salt: make([]byte, 16), Argon: &kdf}).kek([]byte(adminPass))
		kdfTotal += time.Since(start)
		n++
	}
	for name, dir := range map[string]string{"plain-file-MB": plainDir, "enc-file-MB": encDir} {
		if fi, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
			b.ReportMetric(float64(fi.Size())/(1<<20), name)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	b.ReportMetric(ms(plainTotal), "plain-open-ms")
	b.ReportMetric(ms(encTotal), "enc-open+unlock-ms")
	b.ReportMetric(ms(kdfTotal), "argon2id-ms")
	b.ReportMetric(float64(encTotal)/float64(plainTotal), "enc/plain")
	b.ReportMetric(float64(encTotal-kdfTotal)/float64(plainTotal), "enc-without-kdf/plain")
}

// BenchmarkSavePatientEncrypted100k creates and updates a patient in the
// encrypted 100k store and in the unencrypted one, alternating. Goal:
// encrypted within 1.2× of unencrypted.
func BenchmarkSavePatientEncrypted100k(b *testing.B) {
	encDir := encryptedFixtureDir(b)
	ps, err := Open(encFixture.plainDir, Options{Plaintext: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ps.Close()
	es, err := Open(encDir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer es.Close()
	if _, err := es.Unlock(adminName, adminPass); err != nil {
		b.Fatal(err)
	}
	base := Patient{GivenName: "Benchmark", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14",
		Email: "bench@example.com", Phones: []Phone{{Label: "mobile", Number: "(555) 123-9876"}},
		Address: "1 Main St", Notes: "benchmark patient"}
	var times [2]time.Duration // plain, encrypted
	n := 0
	for b.Loop() {
		for round := range saveRounds {
			for i, s := range []*Store{ps, es} {
				if round%2 == 1 {
					s = []*Store{es, ps}[i]
					i = 1 - i
				}
				p := base
				start := time.Now()
				if err := s.CreatePatient(&p); err != nil {
					b.Fatal(err)
				}
				p.Notes = "changed"
				if err := s.UpdatePatient(&p); err != nil {
					b.Fatal(err)
				}
				times[i] += time.Since(start)
			}
			n++
		}
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	b.ReportMetric(us(times[0]), "plain-create+update-µs")
	b.ReportMetric(us(times[1]), "enc-create+update-µs")
	b.ReportMetric(float64(times[1])/float64(times[0]), "enc/plain")
}
