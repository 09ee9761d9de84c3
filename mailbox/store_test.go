package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"frontdesk/storage"
)

func openStore(t *testing.T, dir string) *storage.Store {
	t.Helper()
	st, err := storage.Open(dir, storage.Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSyncIntoStoreOnceThenMatch(t *testing.T) {
	m, a := startTestServer(t, nil)
	msgs := fixtureMessages(t, 20)
	appendAll(t, m, a, msgs)
	dir := t.TempDir()
	st := openStore(t, dir)
	// Patients the requests may be about: one shares generated request 3's
	// email, one shares request 5's phone and name.
	byEmail := storage.Patient{GivenName: "Pat", FamilyName: "Three", DateOfBirth: "1980-01-01", Email: "patient3@example.com"}
	byPhone := storage.Patient{GivenName: "Patient", FamilyName: "Number5", DateOfBirth: "1990-05-05", Phones: []storage.Phone{{Number: "503-555-0005"}}}
	for _, p := range []*storage.Patient{&byEmail, &byPhone} {
		if err := st.CreatePatient(p); err != nil {
			t.Fatal(err)
		}
	}

	rep, err := Sync(context.Background(), a, &StoreState{Store: st}, SyncOptions{BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != len(msgs) || rep.Duplicates != 0 || rep.NeedsReview == 0 {
		t.Fatalf("first sync = %+v, want %d new, some needing review", rep, len(msgs))
	}
	counts := st.BookingRequestCounts()
	if counts[storage.RequestNew]+counts[storage.RequestNeedsReview] != len(msgs) || counts[storage.RequestNeedsReview] != rep.NeedsReview {
		t.Errorf("counts %v do not match the sync report %+v", counts, rep)
	}
	all, err := st.BookingRequests("")
	if err != nil || len(all) != len(msgs) {
		t.Fatalf("BookingRequests = %d, %v; want %d", len(all), err, len(msgs))
	}
	validity, last, err := st.MailSyncState("INBOX")
	if err != nil || validity == 0 || last != uint32(len(msgs)) {
		t.Errorf("sync position = %d, %d, %v; want the last UID %d", validity, last, err, len(msgs))
	}

	// Every request keeps its original email as the server sent it (the
	// server may end bare LF lines with CRLF), and where it came from.
	lines := func(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }
	originals := map[string]bool{}
	for _, raw := range msgs {
		originals[lines(raw)] = true
	}
	var gen3, gen5 storage.BookingRequest
	texts := 0
	for _, r := range all {
		raw, err := st.BookingRequestRaw(r.ID)
		// go-imap's in-memory server sends an empty body for the one
		// fixture that is not an email at all; it must still be a request.
		if len(raw) == 0 && r.Status == storage.RequestNeedsReview {
			continue
		}
		if err != nil || !originals[lines(raw)] {
			t.Errorf("request %d (%s): raw email not kept as sent (%v)", r.ID, r.Subject, err)
		}
		if r.Folder != "INBOX" || r.UID == 0 || r.UIDValidity != validity {
			t.Errorf("request %d: imported from %q UID %d/%d", r.ID, r.Folder, r.UIDValidity, r.UID)
		}
		// The email's text is stored once, in the raw email, and read
		// from it as the import read it.
		text, err := RequestText(st, r)
		want := ParseRequest(raw, ParseOptions{}).BodyText
		if r.BodyText != "" || err != nil || text != want {
			t.Errorf("request %d (%s): stored text %q; RequestText = %q, %v; want %q", r.ID, r.Subject, r.BodyText, text, err, want)
		}
		if text != "" {
			texts++
		}
		switch r.MessageID {
		case "gen-3@acuclinic.example":
			gen3 = r
		case "gen-5@acuclinic.example":
			gen5 = r
		}
	}

	if texts < len(msgs)/2 {
		t.Errorf("only %d of %d requests have a text to show", texts, len(msgs))
	}

	// Re-running finds nothing, in this process or after reopening the store.
	if rep, err := Sync(context.Background(), a, &StoreState{Store: st}, SyncOptions{}); err != nil || rep != (SyncReport{}) {
		t.Fatalf("second sync = %+v, %v; want nothing", rep, err)
	}
	st.Close()
	st = openStore(t, dir)
	if rep, err := Sync(context.Background(), a, &StoreState{Store: st}, SyncOptions{}); err != nil || rep != (SyncReport{}) {
		t.Fatalf("sync after reopening = %+v, %v; want nothing", rep, err)
	}
	// Lost position (or a renumbered folder): everything is a duplicate.
	if err := st.SaveMailSyncState("INBOX", validity+1, 0); err != nil {
		t.Fatal(err)
	}
	if rep, err := Sync(context.Background(), a, &StoreState{Store: st}, SyncOptions{}); err != nil || rep.New != 0 || rep.Duplicates != len(msgs) {
		t.Fatalf("sync from scratch = %+v, %v; want %d duplicates", rep, err, len(msgs))
	}

	tests := []struct {
		name    string
		request storage.BookingRequest
		want    uint64
		reason  string
	}{
		{"same email", gen3, byEmail.ID, "same email"},
		{"same phone and name", gen5, byPhone.ID, "same phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.request.ID == 0 {
				t.Fatal("the generated request was not imported")
			}
			got := Candidates(st, tt.request, "")
			if len(got) == 0 || got[0].PatientID != tt.want || !slices.Contains(got[0].Reasons, tt.reason) || got[0].Confidence <= 0 {
				t.Fatalf("candidates = %+v, want patient %d first because of %q", got, tt.want, tt.reason)
			}
		})
	}
	for _, r := range all {
		if r.MessageID == "gen-7@acuclinic.example" {
			if got := Candidates(st, r, "US"); len(got) != 0 {
				t.Errorf("request for nobody known has candidates %+v", got)
			}
		}
	}
}

func TestSyncIntoStoreInterruptedContinues(t *testing.T) {
	m, a := startTestServer(t, nil)
	msgs := fixtureMessages(t, 10)
	appendAll(t, m, a, msgs)
	dir := t.TempDir()
	st := openStore(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The app is closed after the sixth message, mid-batch.
	rep, err := Sync(ctx, a, &StoreState{Store: st}, SyncOptions{BatchSize: 4, Progress: func(done, total int) {
		if done == 6 {
			cancel()
		}
	}})
	if err == nil || rep.New != 6 {
		t.Fatalf("stopped sync = %+v, %v; want 6 saved and an error", rep, err)
	}
	if n := len(must(st.BookingRequests(""))); n != 6 {
		t.Fatalf("%d requests on disk after the stop, want the 6 reported", n)
	}
	st.Close()
	st = openStore(t, dir)
	rep, err = Sync(context.Background(), a, &StoreState{Store: st}, SyncOptions{})
	if err != nil || rep.New != len(msgs)-6 || rep.Duplicates != 0 {
		t.Fatalf("next sync = %+v, %v; want the remaining %d", rep, err, len(msgs)-6)
	}

	// Requests that were never flushed (a crash) leave no trace, the
	// position included, so they are fetched again.
	lost := &StoreState{Store: st}
	if err := lost.SaveRequest(Request{MessageID: "lost@example.com", Name: "Lost"}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := lost.SaveSyncState("Other", 1, 99); err != nil {
		t.Fatal(err)
	}
	if !lost.HasMessageID("<lost@example.com>") {
		t.Error("a waiting request is not known to its StoreState")
	}
	if st.HasMessageID("lost@example.com") {
		t.Error("a request reached the store before Flush")
	}
	if v, last, _ := st.MailSyncState("Other"); v != 0 || last != 0 {
		t.Errorf("the position reached the store before its requests: %d, %d", v, last)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAccountFromStoreTrustsItsCA(t *testing.T) {
	tlsCert, cert := selfSigned(t)
	_, a := startTestServer(t, &tls.Config{Certificates: []tls.Certificate{tlsCert}})
	a.Security = SecurityStartTLS
	stored := StoreAccount(a)
	if err := Test(context.Background(), AccountFromStore(stored)); err == nil {
		t.Fatal("an unknown self-signed certificate was trusted")
	}
	stored.CAPEM = string(pemCert(cert))
	if err := Test(context.Background(), AccountFromStore(stored)); err != nil {
		t.Errorf("with the CA's PEM stored: %v", err)
	}
	stored.CAPEM = ""
	stored.TrustedFingerprint = Fingerprint(cert.Raw)
	if err := Test(context.Background(), AccountFromStore(stored)); err != nil {
		t.Errorf("with the fingerprint stored: %v", err)
	}
}

func TestSyncStoreAndDemoInto(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	if _, err := SyncStore(ctx, st, SyncOptions{}); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("SyncStore without an account: %v, want ErrNoAccount", err)
	}
	stop, err := StartDemoInto(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	acct, ok, _ := st.MailAccount()
	if !ok || !acct.Demo {
		t.Fatalf("demo account in the store = %+v, %v", acct, ok)
	}
	rep, err := SyncStore(ctx, st, SyncOptions{})
	if err != nil || rep.New != len(DemoMessages(time.Now())) {
		t.Fatalf("demo sync = %+v, %v", rep, err)
	}
	requests, _ := st.BookingRequests("")
	for _, r := range requests {
		if !r.Demo {
			t.Errorf("request %q from the demo mailbox is not marked demo", r.Subject)
		}
	}
	stop()
	if _, ok, _ := st.MailAccount(); ok {
		t.Error("the demo account is still set after stop")
	}

	// A second demo imports nothing new: the same sample emails.
	stop, err = StartDemoInto(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := SyncStore(ctx, st, SyncOptions{}); err != nil || rep.New != 0 {
		t.Errorf("second demo sync = %+v, %v; want nothing new", rep, err)
	}
	stop()

	// A real account is never replaced by the demo.
	real := storage.MailAccount{Host: "imap.clinic.example", Security: "tls", Username: "frontdesk", Password: "secret"}
	if err := st.SaveMailAccount(real); err != nil {
		t.Fatal(err)
	}
	if stop, err := StartDemoInto(ctx, st); err == nil {
		stop()
		t.Fatal("the demo started over a real account")
	}
	if got, _, _ := st.MailAccount(); got.Host != real.Host || got.Demo {
		t.Errorf("account after a refused demo = %+v", got)
	}
}

func TestWatchStoreFollowsTheAccount(t *testing.T) {
	st := openStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	statuses, next := statusQueue(t)
	checkNow := WatchStore(ctx, st, SyncOptions{}, func(s Status) { statuses <- s })
	if s := next(); !errors.Is(s.Err, ErrNoAccount) || s.Offline || !strings.Contains(s.String(), "No mailbox is set up") {
		t.Fatalf("status without an account = %q (%v)", s, s.Err)
	}

	// The demo mailbox is set up while the app runs; Check now imports it.
	stop, err := StartDemoInto(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	checkNow()
	s := next()
	want := len(DemoMessages(time.Now()))
	if s.Err != nil || s.Report.New != want || !strings.Contains(s.String(), fmt.Sprintf("— %d new, ", want)) {
		t.Fatalf("status after Check now = %q (%v), want %d new", s, s.Err, want)
	}
	if got := s.Next.Sub(s.Checked); got != defaultEvery {
		t.Errorf("next check in %s, want the default %s", got, defaultEvery)
	}
	if n := st.BookingRequestCounts(); n[storage.RequestNew]+n[storage.RequestNeedsReview] != want {
		t.Errorf("counts after the watched import = %v", n)
	}
}

// A request stored with its text (as before the import stored the email
// once) shows that text; one without shows the text of its raw email.
func TestRequestText(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	raw := []byte("From: Ana <ana@example.com>\r\nSubject: Appointment\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCould I come on Tuesday? Thank you, Ana\r\n")
	older := storage.BookingRequest{Status: storage.RequestNew, MessageID: "older@example.com", BodyText: "the text stored with it"}
	newer := storage.BookingRequest{Status: storage.RequestNew, MessageID: "newer@example.com"}
	for _, r := range []*storage.BookingRequest{&older, &newer} {
		if err := st.SaveBookingRequest(r, raw); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		r    storage.BookingRequest
		want string
	}{
		{"text stored", older, "the text stored with it"},
		{"text made from the email", newer, "Could I come on Tuesday? Thank you, Ana"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := RequestText(st, tt.r); err != nil || strings.TrimSpace(got) != tt.want {
				t.Errorf("RequestText = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := RequestText(st, storage.BookingRequest{ID: 99}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("RequestText of a request not in the store: %v, want ErrNotFound", err)
	}
}

func TestBookingFromRequestStatus(t *testing.T) {
	tests := []struct {
		r    Request
		want storage.RequestStatus
	}{
		{Request{Name: "Maria Lopez", Email: "maria@example.com"}, storage.RequestNew},
		{Request{BodyText: "??", NeedsReview: true, Problems: []string{"no contact details"}}, storage.RequestNeedsReview},
	}
	for _, tt := range tests {
		b := BookingFromRequest(tt.r)
		if b.Status != tt.want || !slices.Equal(b.Problems, tt.r.Problems) {
			t.Errorf("BookingFromRequest(%+v) = status %q problems %q", tt.r, b.Status, b.Problems)
		}
		back := requestFromBooking(b)
		if back.NeedsReview != tt.r.NeedsReview || back.Name != tt.r.Name || back.BodyText != tt.r.BodyText {
			t.Errorf("round trip changed the request: %+v", back)
		}
	}
}

// BenchmarkSyncIntoStore imports 2,000 requests from the in-memory server
// into memory and into a real store (one committed write per request), to
// show what the store costs.
func BenchmarkSyncIntoStore(b *testing.B) {
	m, err := startMemServer(testUser, testPassword, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer m.stop()
	a := Account{Host: "127.0.0.1", Port: m.addr.Port, Security: SecurityPlain, Username: testUser, Password: testPassword, Timeout: 30 * time.Second}
	const n = 2000
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = generatedRequest(i)
	}
	if err := m.appendMessages(context.Background(), a, "INBOX", msgs); err != nil {
		b.Fatal(err)
	}
	var memTotal, storeTotal time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if rep, err := Sync(context.Background(), a, newMemState(), SyncOptions{}); err != nil || rep.New != n {
			b.Fatalf("sync into memory: %+v %v", rep, err)
		}
		memTotal += time.Since(start)

		st, err := storage.Open(b.TempDir(), storage.Options{Plaintext: true})
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		rep, err := Sync(context.Background(), a, &StoreState{Store: st}, SyncOptions{})
		storeTotal += time.Since(start)
		st.Close()
		if err != nil || rep.New != n {
			b.Fatalf("sync into the store: %+v %v", rep, err)
		}
	}
	memMs := float64(memTotal.Milliseconds()) / float64(b.N)
	storeMs := float64(storeTotal.Milliseconds()) / float64(b.N)
	b.ReportMetric(memMs, "memory-ms")
	b.ReportMetric(storeMs, "store-ms")
	b.ReportMetric(float64(n)/(storeMs/1000), "store-msgs/s")
	b.Logf("2,000 requests: into memory %.0f ms, into the store %.0f ms (%.2fx)", memMs, storeMs, storeMs/memMs)
}

var benchStoreDeliverOnce sync.Once

// BenchmarkDovecotImportIntoStore is BenchmarkDovecotImport with the real
// store: 2,000 varied requests fetched from Dovecot, parsed and saved in a
// store that holds 2,000 patients, beside a bare UID FETCH of the same
// messages. Front Desk ranks candidates when a request is shown, not on
// import: ranking all 2,000 is timed apart (match-all-ms).
func BenchmarkDovecotImportIntoStore(b *testing.B) {
	d := startDovecot(b)
	const n = 2000
	benchStoreDeliverOnce.Do(func() { d.deliver(b, "benchstore", variedRequests(b, n)) })
	a := d.account("benchstore", SecurityStartTLS)
	var bareTotal, importTotal, matchTotal, bareCPU, importCPU time.Duration
	var ratios []float64
	for i := 0; i < b.N; i++ {
		st, err := storage.Open(b.TempDir(), storage.Options{Plaintext: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Seed(2000, 1); err != nil {
			b.Fatal(err)
		}
		cpu := processCPU()
		start := time.Now()
		fetched := bareFetch(b, a)
		bare := time.Since(start)
		bareCPU += processCPU() - cpu
		cpu = processCPU()
		start = time.Now()
		rep, err := Sync(context.Background(), a, &StoreState{Store: st}, SyncOptions{})
		imp := time.Since(start)
		importCPU += processCPU() - cpu
		requests := must(st.BookingRequests(""))
		if err != nil || rep.New != fetched || len(requests) != fetched {
			b.Fatalf("import: %+v %v; %d stored of %d", rep, err, len(requests), fetched)
		}
		start = time.Now()
		for _, r := range requests {
			_ = Candidates(st, r, "")
		}
		matchTotal += time.Since(start)
		st.Close()
		bareTotal += bare
		importTotal += imp
		ratios = append(ratios, float64(imp)/float64(bare))
	}
	bareMs := float64(bareTotal.Milliseconds()) / float64(b.N)
	importMs := float64(importTotal.Milliseconds()) / float64(b.N)
	matchMs := float64(matchTotal.Milliseconds()) / float64(b.N)
	b.ReportMetric(bareMs, "bare-fetch-ms")
	b.ReportMetric(importMs, "import-ms")
	b.ReportMetric(importMs/bareMs, "import/bare")
	// As in BenchmarkDovecotImport: single runs are noisy, the median of
	// the per-run ratios less so.
	b.ReportMetric(median(ratios), "median-import/bare")
	b.ReportMetric(matchMs, "match-all-ms")
	// Front Desk's own CPU (user and system, every thread) in each: much
	// steadier than the times, which also depend on how Dovecot, on the
	// same two cores, is scheduled. It is what a change to the import moves.
	b.ReportMetric(float64(bareCPU.Microseconds())/1000/float64(b.N), "bare-cpu-ms")
	b.ReportMetric(float64(importCPU.Microseconds())/1000/float64(b.N), "import-cpu-ms")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MB")
	b.Logf("2,000 messages into a store of 2,000 patients: bare fetch %.0f ms, import %.0f ms (%.2fx, median of %d runs %.2fx); Front Desk's CPU %.0f ms and %.0f ms; ranking candidates for all of them %.0f ms",
		bareMs, importMs, importMs/bareMs, len(ratios), median(ratios),
		float64(bareCPU.Microseconds())/1000/float64(b.N), float64(importCPU.Microseconds())/1000/float64(b.N), matchMs)
}

func peakRSSMiB() float64 { return float64(peakRSS()) / (1 << 20) }

// A batch that cannot be written stops the pass's writes: a later batch
// would carry the position past the lost requests. The next pass starts
// over from what is on disk.
func TestStoreStateStopsWritingAfterAFailedBatch(t *testing.T) {
	store, err := storage.Open(t.TempDir(), storage.Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	st := &StoreState{Store: store}
	if _, _, err := st.SyncState("INBOX"); err != nil {
		t.Fatal(err)
	}
	req := func(i int) Request {
		return Request{MessageID: fmt.Sprintf("r%d@example.com", i), Name: "Pat Doe", Received: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	}
	bad := req(2)
	bad.Received = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // cannot be written
	for i, r := range []Request{req(1), bad} {
		if err := st.SaveRequest(r, []byte("raw")); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSyncState("INBOX", 7, uint32(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err == nil {
		t.Fatal("a batch with an unwritable request was written")
	}
	if err := st.SaveRequest(req(3), []byte("raw")); err == nil {
		t.Error("SaveRequest after a failed batch succeeded")
	}
	if err := st.SaveSyncState("INBOX", 7, 3); err == nil {
		t.Error("SaveSyncState after a failed batch succeeded")
	}
	if err := st.Flush(); err == nil {
		t.Error("Flush after a failed batch succeeded")
	}
	if v, last, _ := store.MailSyncState("INBOX"); v != 0 || last != 0 {
		t.Errorf("position on disk = %d/%d, want none", v, last)
	}
	if got := must(store.BookingRequests("")); len(got) != 0 {
		t.Errorf("%d requests on disk, want none", len(got))
	}

	// The next pass starts over.
	if _, _, err := st.SyncState("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveRequest(req(1), []byte("raw")); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSyncState("INBOX", 7, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if v, last, _ := store.MailSyncState("INBOX"); v != 7 || last != 1 {
		t.Errorf("position on disk = %d/%d, want 7/1", v, last)
	}
}
