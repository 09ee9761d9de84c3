package storage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The benchmarks share one store of 100,000 demo patients with 100,000
// intakes, seeded once per run in a temp folder:
//
//	go test -run '^$' -bench . -benchtime 5x ./storage/
const benchPatients = 100_000

var reused bool

var fixture struct {
	once sync.Once
	dir  string
	err  error
	took time.Duration
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(envBenchOpenDir); dir != "" {
		os.Exit(reportOpenMemory(dir))
	}
	code := m.Run()
	if fixture.dir != "" && !reused {
		os.RemoveAll(fixture.dir)
	}
	if encFixture.dir != "" && !reused {
		os.RemoveAll(encFixture.dir)
		os.RemoveAll(encFixture.plainDir)
	}
	os.Exit(code)
}

func fixtureDir(b *testing.B) string {
	b.Helper()
	fixture.once.Do(func() {
		// FRONTDESK_BENCH_STORE names a seeded store to reuse between runs.
		if dir := os.Getenv("FRONTDESK_BENCH_STORE"); dir != "" {
			if _, err := os.Stat(dir + "/" + FileName); err == nil {
				reused = true
				fixture.dir = dir
				return
			}
		}
		fixture.dir, fixture.err = os.MkdirTemp("", "frontdesk-bench-")
		if fixture.err != nil {
			return
		}
		start := time.Now()
		s, err := Open(fixture.dir, Options{Plaintext: true})
		if err != nil {
			fixture.err = err
			return
		}
		fixture.err = s.Seed(benchPatients, 1)
		s.Close()
		fixture.took = time.Since(start)
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	b.Logf("fixture: %d patients + %d intakes seeded in %v", benchPatients, benchPatients, fixture.took.Round(time.Millisecond))
	return fixture.dir
}

// BenchmarkOpen100k opens the store (migration check, settings, index build
// over every patient and intake link) and closes it. Goal: under 1 s.
func BenchmarkOpen100k(b *testing.B) {
	dir := fixtureDir(b)
	if fi, err := os.Stat(dir + "/" + FileName); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
	}
	var total time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		s, err := Open(dir, Options{Plaintext: true})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		n++
		if s.PatientCount() < benchPatients {
			b.Fatalf("opened %d patients", s.PatientCount())
		}
		s.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms/open")
}

const envBenchOpenDir = "FRONTDESK_BENCH_OPEN_DIR"

// reportOpenMemory runs in a child process: open the store, collect garbage,
// print the live heap, what opening added to it (the index) and the
// resident set size.
func reportOpenMemory(dir string) int {
	var before, ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	defer s.Close()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if f := os.Getenv("FRONTDESK_BENCH_HEAP_PROFILE"); f != "" {
		if out, err := os.Create(f); err == nil {
			pprof.Lookup("heap").WriteTo(out, 0)
			out.Close()
		}
	}
	fmt.Printf("HEAP_MB %.1f\n", float64(ms.HeapAlloc)/(1<<20))
	fmt.Printf("INDEX_BYTES %d\n", int64(ms.HeapAlloc)-int64(before.HeapAlloc))
	fmt.Printf("RSS_MB %.1f\n", residentMB())
	fmt.Printf("PATIENTS %d\n", s.PatientCount())
	return 0
}

// residentMB reads VmRSS from /proc (Linux); 0 elsewhere.
func residentMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkMemoryAfterOpen100k opens the store in a fresh child process and
// reports its live heap and resident memory after a garbage collection, and
// the live heap that opening added (the search index and intake links) per
// patient. FRONTDESK_BENCH_HEAP_PROFILE=FILE writes the child's heap profile.
func BenchmarkMemoryAfterOpen100k(b *testing.B) {
	dir := fixtureDir(b)
	var heap, rss, index float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envBenchOpenDir+"="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			v, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "HEAP_MB":
				heap = v
			case "RSS_MB":
				rss = v
			case "INDEX_BYTES":
				index = v
			}
		}
	}
	b.ReportMetric(heap, "heap-MB")
	b.ReportMetric(rss, "rss-MB")
	b.ReportMetric(index/benchPatients, "index-B/patient")
}

// keystrokeQueries are typed one character at a time; every prefix is a
// search, as in the window's search box.
var keystrokeQueries = []string{
	"zoe nguyen", "nguyen", "李小龙", "ольга", "olga иванова", "jose nunez", "lukasz nowak", "maria garcia",
	"emma johnson", "smith", "o'brien", "søren jørgensen", "jurgen muller", "anh tran", "charlotte brown",
	"(555) 123-4567", "212 555", "olga.ser", "maria.garcia@", "1986-03-14", "03/14/1986", "william taylor", "garcia-lopez",
	"chloe martin", "dang", "hélène dubois", "wojciech", "佐藤", "mason white", "ava", "a",
}

// BenchmarkSearchKeystroke100k types each query character by character and
// reports per-keystroke latency percentiles. Goal: p99 under 5 ms.
func BenchmarkSearchKeystroke100k(b *testing.B) {
	s, err := Open(fixtureDir(b), Options{Plaintext: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var lat []time.Duration
	found := 0
	for b.Loop() {
		for _, q := range keystrokeQueries {
			runes := []rune(q)
			for i := 1; i <= len(runes); i++ {
				start := time.Now()
				res := s.Search(string(runes[:i]), 20)
				lat = append(lat, time.Since(start))
				found += len(res)
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	b.ReportMetric(float64(len(lat))/float64(b.N), "keystrokes/op")
	b.ReportMetric(float64(found)/float64(len(lat)), "results/keystroke")
}

// saveRounds is how many saves each iteration of BenchmarkSavePatient100k
// times, so that a few iterations already average out disk jitter.
const saveRounds = 40

// BenchmarkSavePatient100k compares saving a patient through the store
// (validation, version check, sealing, index update) with a bare bbolt Put
// of the same bytes in the same file, alternating the two. Goal: ≤ 1.5×.
func BenchmarkSavePatient100k(b *testing.B) {
	s, err := Open(fixtureDir(b), Options{Plaintext: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := Patient{GivenName: "Benchmark", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14",
		Email: "bench@example.com", Phones: []Phone{{Label: "mobile", Number: "(555) 123-9876"}},
		Address: "1 Main St", Notes: "benchmark patient"}
	if err := s.CreatePatient(&p); err != nil {
		b.Fatal(err)
	}
	s.ListPatients(0, 50) // as the window does: from now on the list order is kept on every save
	var create, update, put time.Duration
	n := 0
	bare := func() {
		sealed, err := s.seal(&p)
		if err != nil {
			b.Fatal(err)
		}
		key := itob(p.ID)
		start := time.Now()
		err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketPatients).Put(key, sealed) })
		put += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		for round := range saveRounds {
			if round%2 == 0 {
				bare()
			}
			np := p
			np.ID, np.Version = 0, 0
			start := time.Now()
			if err := s.CreatePatient(&np); err != nil {
				b.Fatal(err)
			}
			create += time.Since(start)

			p.Notes = fmt.Sprintf("benchmark patient %d", n)
			start = time.Now()
			if err := s.UpdatePatient(&p); err != nil {
				b.Fatal(err)
			}
			update += time.Since(start)
			if round%2 == 1 {
				bare()
			}
			n++
		}
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	b.ReportMetric(per(create), "create-µs")
	b.ReportMetric(per(update), "update-µs")
	b.ReportMetric(per(put), "bare-put-µs")
	b.ReportMetric(float64(create)/float64(put), "create/put")
	b.ReportMetric(float64(update)/float64(put), "update/put")
}
