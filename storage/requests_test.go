package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// countingSealer is xorSealer that remembers every plain value it sealed.
type countingSealer struct {
	xorSealer
	mu     sync.Mutex
	sealed [][]byte
}

func (c *countingSealer) Seal(plain []byte) ([]byte, error) {
	c.mu.Lock()
	c.sealed = append(c.sealed, bytes.Clone(plain))
	c.mu.Unlock()
	return c.xorSealer.Seal(plain)
}

func (c *countingSealer) sawExactly(b []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.sealed, func(p []byte) bool { return bytes.Equal(p, b) })
}

const rawMaria = "From: Website <noreply@clinic.example>\r\nReply-To: maria.lopez@example.com\r\n" +
	"Message-ID: <form-1@clinic.example>\r\nSubject: New form submission\r\n\r\n" +
	"Name: Maria Lopez\r\nPhone: (503) 555-0142\r\nMessage: Bartholomew sciatica since spring\r\n"

func mariaRequest() BookingRequest {
	return BookingRequest{
		MessageID: "<form-1@clinic.example>", Subject: "New form submission", From: "noreply@clinic.example",
		ReplyTo: "maria.lopez@example.com", Received: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Source: "web-form",
		Name: "Maria Lopez", GivenName: "Maria", FamilyName: "Lopez", Email: "maria.lopez@example.com",
		Phone: "+15035550142", DateOfBirth: "1984-06-02", Requested: time.Date(2026, 12, 1, 14, 30, 0, 0, time.UTC),
		RequestedText: "12/01/2026 2:30 PM", Message: "Bartholomew sciatica since spring", BodyText: "Name: Maria Lopez …",
		Folder: "INBOX", UID: 7, UIDValidity: 42,
	}
}

func saveRequest(t testing.TB, s *Store, r BookingRequest, raw string) BookingRequest {
	t.Helper()
	if err := s.SaveBookingRequest(&r, []byte(raw)); err != nil {
		t.Fatalf("SaveBookingRequest(%s): %v", r.MessageID, err)
	}
	return r
}

func TestBookingRequestRoundTripAndRawSealed(t *testing.T) {
	dir := t.TempDir()
	sealer := &countingSealer{}
	s, err := Open(dir, Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	r := saveRequest(t, s, mariaRequest(), rawMaria)
	if r.ID == 0 || r.Version != 1 || r.Status != RequestNew || r.ImportedAt.IsZero() || r.MessageID != "form-1@clinic.example" {
		t.Errorf("saved request = %+v, want an ID, version 1, status new, import time and the bare Message-ID", r)
	}
	if !sealer.sawExactly([]byte(rawMaria)) {
		t.Error("the raw email did not go through the Sealer")
	}

	got, err := s.BookingRequest(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(r)
	gotJSON, _ := json.Marshal(got)
	if !bytes.Equal(want, gotJSON) {
		t.Errorf("read back\n%s\nwant\n%s", gotJSON, want)
	}
	raw, err := s.BookingRequestRaw(r.ID)
	if err != nil || string(raw) != rawMaria {
		t.Errorf("BookingRequestRaw = %q, %v", raw, err)
	}
	if _, err := s.BookingRequestRaw(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("BookingRequestRaw(99) error = %v, want ErrNotFound", err)
	}
	if _, err := s.BookingRequest(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("BookingRequest(99) error = %v, want ErrNotFound", err)
	}
	s.Close()

	file, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{"Bartholomew", "Maria", "maria.lopez", "555-0142", "form-1@clinic.example", "sciatica"} {
		if bytes.Contains(file, []byte(needle)) {
			t.Errorf("the database file holds %q in the clear", needle)
		}
	}

	// Reopened: the request, its raw email and its Message-ID are still known.
	s, err = Open(dir, Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.HasMessageID("form-1@clinic.example") || !s.HasMessageID("<form-1@clinic.example>") {
		t.Error("HasMessageID forgot the request after reopening")
	}
	if raw, err := s.BookingRequestRaw(r.ID); err != nil || string(raw) != rawMaria {
		t.Errorf("after reopening, BookingRequestRaw = %q, %v", raw, err)
	}
}

func TestSaveBookingRequestDeduplicatesByMessageID(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	first := saveRequest(t, s, mariaRequest(), rawMaria)
	tests := []struct {
		name      string
		messageID string
	}{
		{"same Message-ID", "form-1@clinic.example"},
		{"with angle brackets", "<form-1@clinic.example>"},
		{"with spaces", "  <form-1@clinic.example> "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			again := mariaRequest()
			again.MessageID = tt.messageID
			err := s.SaveBookingRequest(&again, []byte(rawMaria))
			var dup *DuplicateRequestError
			if !errors.As(err, &dup) || dup.Existing != first.ID || !errors.Is(err, ErrDuplicateRequest) {
				t.Fatalf("second save error = %v, want a duplicate of request %d", err, first.ID)
			}
		})
	}
	if all, _ := s.BookingRequests(""); len(all) != 1 {
		t.Errorf("%d requests stored, want 1", len(all))
	}

	// Without a Message-ID the content names the email: the same email
	// twice is a duplicate, another one is not.
	noID := BookingRequest{Subject: "hello"}
	if err := s.SaveBookingRequest(&noID, []byte("Subject: hello\r\n\r\nplease call me\r\n")); err != nil {
		t.Fatal(err)
	}
	if noID.MessageID != MessageIDOf([]byte("Subject: hello\r\n\r\nplease call me\r\n")) {
		t.Errorf("MessageID of an email without one = %q", noID.MessageID)
	}
	again := BookingRequest{Subject: "hello"}
	if err := s.SaveBookingRequest(&again, []byte("Subject: hello\r\n\r\nplease call me\r\n")); !errors.Is(err, ErrDuplicateRequest) {
		t.Errorf("same email without Message-ID saved twice: %v", err)
	}
	other := BookingRequest{Subject: "hello"}
	if err := s.SaveBookingRequest(&other, []byte("Subject: hello\r\n\r\nplease call me soon\r\n")); err != nil {
		t.Errorf("another email without Message-ID: %v", err)
	}
}

func TestBookingRequestsNewestFirstAndCounts(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	day := func(d int) time.Time { return time.Date(2026, 11, d, 9, 0, 0, 0, time.UTC) }
	for _, r := range []BookingRequest{
		{MessageID: "a", Received: day(3), Status: RequestNew},
		{MessageID: "b", Received: day(5), Status: RequestNeedsReview, Problems: []string{"no contact details"}},
		{MessageID: "c", Received: day(1), Status: RequestNew},
		{MessageID: "d", Received: day(5), Status: RequestNew},
	} {
		saveRequest(t, s, r, "raw "+r.MessageID)
	}
	ids := func(rs []BookingRequest) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.MessageID)
		}
		return out
	}
	tests := []struct {
		status RequestStatus
		want   []string
	}{
		{"", []string{"d", "b", "a", "c"}}, // same day: the later import first
		{RequestNew, []string{"d", "a", "c"}},
		{RequestNeedsReview, []string{"b"}},
		{RequestLinked, nil},
	}
	for _, tt := range tests {
		got, err := s.BookingRequests(tt.status)
		if err != nil || got == nil || !slices.Equal(ids(got), tt.want) {
			t.Errorf("BookingRequests(%q) = %v, %v; want %v", tt.status, ids(got), err, tt.want)
		}
	}
	if _, err := s.BookingRequests("archived"); !errors.Is(err, ErrInvalid) {
		t.Errorf("BookingRequests(archived) error = %v, want ErrInvalid", err)
	}
	want := map[RequestStatus]int{RequestNew: 3, RequestNeedsReview: 1, RequestLinked: 0, RequestDeclined: 0, RequestDone: 0}
	if got := s.BookingRequestCounts(); !mapsEqual(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[RequestStatus]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestBookingRequestLinkStatusAndConflicts(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	p := mustCreate(t, s, Patient{GivenName: "Maria", FamilyName: "Lopez", DateOfBirth: "1984-06-02"})
	r := saveRequest(t, s, mariaRequest(), rawMaria)

	// A stale version changes nothing.
	err = s.LinkBookingRequest(r.ID, p.ID, r.Version+1)
	var conflict *RequestConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, ErrConflict) || conflict.Current.Version != r.Version {
		t.Fatalf("link with a stale version: %v, want a conflict holding version %d", err, r.Version)
	}
	if err := s.LinkBookingRequest(r.ID, 999, r.Version); !errors.Is(err, ErrNotFound) {
		t.Errorf("link to a missing patient: %v, want ErrNotFound", err)
	}
	if err := s.LinkBookingRequest(r.ID, p.ID, r.Version); err != nil {
		t.Fatal(err)
	}
	linked, _ := s.BookingRequest(r.ID)
	if linked.Status != RequestLinked || linked.PatientID != p.ID || linked.Version != 2 {
		t.Errorf("after link: %+v", linked)
	}

	if err := s.SetBookingRequestStatus(r.ID, RequestLinked, linked.Version); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetBookingRequestStatus(linked) = %v, want ErrInvalid (link needs a patient)", err)
	}
	if err := s.SetBookingRequestStatus(r.ID, "archived", linked.Version); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetBookingRequestStatus(archived) = %v, want ErrInvalid", err)
	}
	if err := s.SetBookingRequestStatus(r.ID, RequestDone, linked.Version); err != nil {
		t.Fatal(err)
	}
	done, _ := s.BookingRequest(r.ID)
	if done.Status != RequestDone || done.PatientID != p.ID || done.Version != 3 {
		t.Errorf("done keeps the patient: %+v", done)
	}
	if err := s.SetBookingRequestStatus(r.ID, RequestNew, done.Version); err != nil {
		t.Fatal(err)
	}
	reopened, _ := s.BookingRequest(r.ID)
	if reopened.Status != RequestNew || reopened.PatientID != 0 {
		t.Errorf("reopened request keeps its patient: %+v", reopened)
	}

	// UpdateBookingRequest: version check; the import facts never change.
	edit := reopened
	edit.Phone, edit.MessageID, edit.UID = "+15035550199", "changed", 1
	stale := edit
	if err := s.UpdateBookingRequest(&edit); err != nil {
		t.Fatal(err)
	}
	if edit.Version != reopened.Version+1 || edit.MessageID != "form-1@clinic.example" || edit.UID != 7 {
		t.Errorf("updated request = %+v", edit)
	}
	if err := s.UpdateBookingRequest(&stale); !errors.As(err, &conflict) || conflict.Current.Phone != "+15035550199" {
		t.Errorf("update with a stale version: %v", err)
	}
	s.Close()

	s, err = Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.BookingRequestCounts(); got[RequestNew] != 1 || got[RequestDone] != 0 {
		t.Errorf("counts after reopening = %v", got)
	}
}

func TestMailSyncStatePersists(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Sealer: xorSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	if v, last, err := s.MailSyncState("INBOX"); v != 0 || last != 0 || err != nil {
		t.Fatalf("first MailSyncState = %d, %d, %v", v, last, err)
	}
	if err := s.SaveMailSyncState("INBOX", 42, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveMailSyncState("Bookings", 9, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveMailSyncState("INBOX", 42, 7); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(dir, Options{Sealer: xorSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		folder         string
		validity, last uint32
	}{
		{"INBOX", 42, 7},
		{"Bookings", 9, 100},
		{"Archive", 0, 0},
	}
	for _, tt := range tests {
		v, last, err := s.MailSyncState(tt.folder)
		if err != nil || v != tt.validity || last != tt.last {
			t.Errorf("MailSyncState(%s) = %d, %d, %v; want %d, %d", tt.folder, v, last, err, tt.validity, tt.last)
		}
	}
}

func TestImportBookingRequestsOneTransactionWithPosition(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	first := saveRequest(t, s, mariaRequest(), rawMaria)
	email := func(id string) RequestImport {
		return RequestImport{Request: BookingRequest{MessageID: id, Subject: id}, Raw: []byte("Message-ID: <" + id + ">\r\n\r\nhello")}
	}
	batch := []RequestImport{email("a"), email("b"), email("a"), email(first.MessageID), {Request: BookingRequest{Subject: "no id"}, Raw: []byte("hi")}}
	saved, err := s.ImportBookingRequests(batch, MailSyncPosition{Folder: "INBOX", UIDValidity: 42, LastUID: 30})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range saved {
		got = append(got, r.MessageID)
		if r.ID == 0 || r.Version != 1 || r.Status != RequestNew {
			t.Errorf("imported %+v", r)
		}
	}
	if want := []string{"a", "b", MessageIDOf([]byte("hi"))}; !slices.Equal(got, want) {
		t.Errorf("imported %q, want %q (duplicates skipped)", got, want)
	}
	if v, last, _ := s.MailSyncState("INBOX"); v != 42 || last != 30 {
		t.Errorf("position after the batch = %d, %d; want 42, 30", v, last)
	}
	if !s.HasMessageID("b") || s.BookingRequestCounts()[RequestNew] != 4 {
		t.Errorf("after the batch: HasMessageID(b) = %v, counts %v", s.HasMessageID("b"), s.BookingRequestCounts())
	}

	// A batch that cannot be saved leaves neither requests nor position.
	bad := []RequestImport{email("c"), {Request: BookingRequest{MessageID: "d", Status: "archived"}}}
	if _, err := s.ImportBookingRequests(bad, MailSyncPosition{Folder: "INBOX", UIDValidity: 42, LastUID: 40}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("batch with an invalid request: %v, want ErrInvalid", err)
	}
	linkedToNobody := []RequestImport{email("c"), {Request: BookingRequest{MessageID: "d", Status: RequestLinked, PatientID: 99}}}
	if _, err := s.ImportBookingRequests(linkedToNobody, MailSyncPosition{Folder: "INBOX", UIDValidity: 42, LastUID: 40}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch linked to a missing patient: %v, want ErrNotFound", err)
	}
	if s.HasMessageID("c") {
		t.Error("a failed batch saved a request")
	}
	if _, last, _ := s.MailSyncState("INBOX"); last != 30 {
		t.Errorf("a failed batch moved the position to %d", last)
	}
}

func TestMailAccountSealedAndValidated(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Sealer: xorSealer{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.MailAccount(); ok || err != nil {
		t.Fatalf("MailAccount before any = %v, %v", ok, err)
	}
	a := MailAccount{Host: " imap.clinic.example ", Port: 993, Security: "TLS", Username: "frontdesk",
		Password: "correct-horse-battery", IntervalMinutes: 5, Timeout: 20 * time.Second}
	if err := s.SaveMailAccount(a); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveMailSyncState("INBOX", 42, 12); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name  string
		a     MailAccount
		field string
	}{
		{"no host", MailAccount{Security: "tls", Username: "u"}, "host"},
		{"bad port", MailAccount{Host: "h", Port: 70000, Security: "tls", Username: "u"}, "port"},
		{"unknown security", MailAccount{Host: "h", Security: "ssl3", Username: "u"}, "security"},
		{"no user", MailAccount{Host: "h", Security: "tls"}, "username"},
		{"CA without a certificate", MailAccount{Host: "h", Security: "tls", Username: "u", CAPEM: "hello"}, "ca_pem"},
	}
	for _, tt := range bad {
		err := s.SaveMailAccount(tt.a)
		var v *ValidationError
		if !errors.As(err, &v) || v.Fields[0].Field != tt.field {
			t.Errorf("%s: error %v, want a problem with %s", tt.name, err, tt.field)
		}
	}
	got, ok, err := s.MailAccount()
	if err != nil || !ok || got.Host != "imap.clinic.example" || got.Security != "tls" || got.Password != "correct-horse-battery" || got.Timeout != 20*time.Second {
		t.Errorf("MailAccount = %+v, %v, %v", got, ok, err)
	}

	// The same mailbox keeps its sync position; another server forgets it.
	got.TrustedFingerprint = "AB:CD"
	if err := s.SaveMailAccount(got); err != nil {
		t.Fatal(err)
	}
	if _, last, _ := s.MailSyncState("INBOX"); last != 12 {
		t.Errorf("sync position after trusting a certificate = %d, want 12", last)
	}
	got.Host = "mail.other.example"
	if err := s.SaveMailAccount(got); err != nil {
		t.Fatal(err)
	}
	if v, last, _ := s.MailSyncState("INBOX"); v != 0 || last != 0 {
		t.Errorf("sync position after moving to another server = %d, %d; want 0, 0", v, last)
	}
	s.Close()

	file, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{"correct-horse-battery", "imap.clinic.example", "frontdesk"} {
		if bytes.Contains(file, []byte(needle)) {
			t.Errorf("the database file holds %q in the clear", needle)
		}
	}
}

func TestDemoMailAccountNeverReplacesARealOne(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	demo := MailAccount{Host: "127.0.0.1", Port: 40000, Security: "plain", Username: "demo", Password: "x"}
	if saved, err := s.SaveDemoMailAccount(demo); !saved || err != nil {
		t.Fatalf("demo into an empty store: %v, %v", saved, err)
	}
	if a, _, _ := s.MailAccount(); !a.Demo {
		t.Error("the demo account is not marked demo")
	}
	demo.Port = 40001 // a later demo run replaces the earlier demo
	if saved, err := s.SaveDemoMailAccount(demo); !saved || err != nil {
		t.Fatalf("demo over a demo: %v, %v", saved, err)
	}
	real := MailAccount{Host: "imap.clinic.example", Security: "tls", Username: "frontdesk", Password: "secret"}
	if err := s.SaveMailAccount(real); err != nil {
		t.Fatal(err)
	}
	if saved, err := s.SaveDemoMailAccount(demo); saved || err != nil {
		t.Fatalf("demo over a real account: saved=%v, %v", saved, err)
	}
	if err := s.DeleteDemoMailAccount(); err != nil {
		t.Fatal(err)
	}
	if a, ok, _ := s.MailAccount(); !ok || a.Host != "imap.clinic.example" || a.Demo {
		t.Errorf("after the demo: %+v, %v; want the real account", a, ok)
	}
	if err := s.DeleteMailAccount(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.MailAccount(); ok {
		t.Error("DeleteMailAccount left the account")
	}
}

func TestExportIncludesRequestsWithoutRawOrAccount(t *testing.T) {
	s := openTestStore(t, Options{Sealer: xorSealer{}})
	saveRequest(t, s, mariaRequest(), rawMaria)
	if err := s.SaveMailAccount(MailAccount{Host: "imap.clinic.example", Security: "tls", Username: "frontdesk", Password: "correct-horse-battery"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Export(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Requests []BookingRequest `json:"requests"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if len(got.Requests) != 1 || got.Requests[0].Name != "Maria Lopez" || got.Requests[0].Status != RequestNew {
		t.Errorf("exported requests = %+v", got.Requests)
	}
	for _, needle := range []string{"noreply@clinic.example>\r\n", "correct-horse-battery", "imap.clinic.example"} {
		if bytes.Contains(buf.Bytes(), []byte(needle)) {
			t.Errorf("export holds %q", needle)
		}
	}
}

func TestRequestsWhileLockedAreEmptyNotACrash(t *testing.T) {
	s := openTestStore(t, Options{}) // a new encrypted store: needs set-up, so locked
	if got, _ := s.BookingRequests(""); len(got) != 0 {
		t.Fatalf("requests while locked: %v", got)
	}
	if s.HasMessageID("x@example.com") {
		t.Fatal("a Message-ID is known while locked")
	}
	if n := s.BookingRequestCounts()[RequestNew]; n != 0 {
		t.Fatalf("counts while locked: %d", n)
	}
}

// TestImportBookingRequestsReadBackAfterReopen imports batches as the mail
// import writes them (duplicates included), reopens the store and reads
// everything back: every field of every request, the stored values
// (json.Marshal's bytes, sealed), the key records, the raw emails, the IDs
// (1, 2, … in batch order, and the bucket's sequence), the Message-IDs
// known and the sync position; plaintext and encrypted.
func TestImportBookingRequestsReadBackAfterReopen(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		name := "plaintext"
		if encrypted {
			name = "encrypted"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			open := func() *Store {
				t.Helper()
				if !encrypted {
					s, err := Open(dir, Options{Plaintext: true})
					if err != nil {
						t.Fatal(err)
					}
					return s
				}
				s, err := Open(dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if s.State() == StateNeedsSetup {
					_, err = s.Setup(adminName, adminPass)
				} else {
					_, err = s.Unlock(adminName, adminPass)
				}
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			const n, size = 300, 64
			in := importBenchRequests(n)
			s := open()
			var saved []BookingRequest
			for off := 0; off < n; off += size {
				batch := in[off:min(off+size, n)]
				if off > 0 { // the last of the previous batch, and one of this batch twice: skipped
					batch = append(slices.Clone(batch), in[off-1], in[off])
				}
				got, err := s.ImportBookingRequests(batch, MailSyncPosition{Folder: "INBOX", UIDValidity: 7, LastUID: uint32(min(off+size, n))})
				if err != nil {
					t.Fatal(err)
				}
				saved = append(saved, got...)
			}
			if len(saved) != n {
				t.Fatalf("saved %d requests, want %d", len(saved), n)
			}
			s.Close()

			s = open()
			defer s.Close()
			for i, r := range saved {
				want := in[i].Request
				want.ID, want.Version, want.ImportedAt, want.UpdatedAt = uint64(i+1), 1, r.ImportedAt, r.UpdatedAt
				want.MessageID = normalizeMessageID(want.MessageID)
				if want.Status == "" {
					want.Status = RequestNew
				}
				if r.ImportedAt.IsZero() || !r.UpdatedAt.Equal(r.ImportedAt) {
					t.Errorf("request %d: imported %v, updated %v", i, r.ImportedAt, r.UpdatedAt)
				}
				wantJSON, _ := json.Marshal(want)
				if savedJSON, _ := json.Marshal(r); !bytes.Equal(savedJSON, wantJSON) {
					t.Fatalf("request %d as returned:\n%s\nwant\n%s", i, savedJSON, wantJSON)
				}
				got, err := s.BookingRequest(want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if gotJSON, _ := json.Marshal(got); !bytes.Equal(gotJSON, wantJSON) {
					t.Fatalf("request %d read back:\n%s\nwant\n%s", i, gotJSON, wantJSON)
				}
				if got.Received.Compare(want.Received) != 0 || got.Requested.Compare(want.Requested) != 0 || !slices.Equal(got.Problems, want.Problems) {
					t.Errorf("request %d read back %+v, want %+v", i, got, want)
				}
				raw, err := s.BookingRequestRaw(want.ID)
				if err != nil || !bytes.Equal(raw, in[i].Raw) {
					t.Fatalf("request %d: raw email read back %d bytes (%v), want %d", i, len(raw), err, len(in[i].Raw))
				}
				if !s.HasMessageID(want.MessageID) {
					t.Errorf("request %d: HasMessageID(%s) false after reopening", i, want.MessageID)
				}
			}
			// The values as stored: json.Marshal's bytes, sealed.
			err := s.db.View(func(tx *bolt.Tx) error {
				for i, r := range saved {
					unseal := func(b []byte, what string) []byte {
						t.Helper()
						if b == nil {
							t.Fatalf("request %d: no %s", i, what)
						}
						plain, err := s.sealer.Unseal(b)
						if err != nil {
							t.Fatalf("request %d: %s: %v", i, what, err)
						}
						if encrypted && bytes.Equal(plain, b) {
							t.Fatalf("request %d: the %s is not sealed", i, what)
						}
						return plain
					}
					k := itob(r.ID)
					wantJSON, _ := json.Marshal(r)
					if got := unseal(tx.Bucket(bucketRequests).Get(k), "request"); !bytes.Equal(got, wantJSON) {
						t.Fatalf("request %d stored as\n%s\nwant json.Marshal's\n%s", i, got, wantJSON)
					}
					wantKey, _ := json.Marshal(requestKey{MessageID: r.MessageID, Status: r.Status})
					if got := unseal(tx.Bucket(bucketRequestKeys).Get(k), "key record"); !bytes.Equal(got, wantKey) {
						t.Fatalf("request %d key record %s, want %s", i, got, wantKey)
					}
					if got := unseal(tx.Bucket(bucketRequestRaw).Get(k), "raw email"); !bytes.Equal(got, in[i].Raw) {
						t.Fatalf("request %d: raw email stored differs", i)
					}
				}
				for _, b := range [][]byte{bucketRequests, bucketRequestRaw, bucketRequestKeys} {
					if got := tx.Bucket(b).Stats().KeyN; got != n {
						t.Errorf("bucket %s holds %d keys, want %d", b, got, n)
					}
				}
				if seq := tx.Bucket(bucketRequests).Sequence(); seq != n {
					t.Errorf("requests' sequence %d, want %d", seq, n)
				}
				if seq := tx.Bucket(bucketRequestRaw).Sequence() + tx.Bucket(bucketRequestKeys).Sequence(); seq != 0 {
					t.Errorf("request_raw and request_keys have a sequence (%d): only requests has one", seq)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if v, last, err := s.MailSyncState("INBOX"); v != 7 || last != n || err != nil {
				t.Errorf("sync position %d/%d (%v), want 7/%d", v, last, err, n)
			}
			counts := s.BookingRequestCounts()
			if counts[RequestNew]+counts[RequestNeedsReview] != n || counts[RequestNeedsReview] == 0 {
				t.Errorf("counts after reopening %v", counts)
			}
			if encrypted {
				file, err := os.ReadFile(filepath.Join(dir, FileName))
				if err != nil {
					t.Fatal(err)
				}
				for _, needle := range []string{"Bartholomew", "acuclinic", "Preferred date", "Blue Cross"} {
					if bytes.Contains(file, []byte(needle)) {
						t.Errorf("the encrypted file holds %q in the clear", needle)
					}
				}
			}
		})
	}
}

// TestImportDoesNotRemapTheFile: with the file mapped 1 GB ahead
// (initialMmapSize), a write that grows a new store by megabytes never maps
// it again, so it does not wait for a read transaction still open (bbolt
// remaps only when no read transaction holds the old mapping).
func TestImportDoesNotRemapTheFile(t *testing.T) {
	if initialMmapSize == 0 {
		t.Skip("bbolt's default mapping on this system")
	}
	s := openTestStore(t, Options{Plaintext: true})
	read, err := s.db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.ImportBookingRequests(importBenchRequests(500), MailSyncPosition{Folder: "INBOX", UIDValidity: 1, LastUID: 500})
		done <- err
	}()
	select {
	case err := <-done:
		read.Rollback()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		read.Rollback() // lets a remapping write finish
		<-done
		t.Fatal("the import waited for a read transaction: the file was mapped again")
	}
	var size int64
	s.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	if size < 2<<20 {
		t.Errorf("the data is %d bytes: the import did not grow it past bbolt's first mappings", size)
	}
}

// TestOpenWhereTheMappingIsRefused: where the system will not map
// initialMmapSize (here 200 TB, more than a 64-bit process's address
// space), the store opens with bbolt's default mapping and works.
func TestOpenWhereTheMappingIsRefused(t *testing.T) {
	if initialMmapSize == 0 {
		t.Skip("bbolt's default mapping on this system")
	}
	saved, tb := initialMmapSize, uint64(1)<<40
	initialMmapSize = int(200 * tb) // only run where int has 64 bits
	defer func() { initialMmapSize = saved }()
	s := openTestStore(t, Options{Plaintext: true})
	if _, err := s.ImportBookingRequests(importBenchRequests(200), MailSyncPosition{Folder: "INBOX", UIDValidity: 1, LastUID: 200}); err != nil {
		t.Fatal(err)
	}
	if got := s.BookingRequestCounts(); got[RequestNew]+got[RequestNeedsReview] != 200 {
		t.Errorf("counts %v, want 200 requests", got)
	}
}

// TestImportBookingRequestsLargeValues: values larger than the import
// arena's chunks (a long email, a long body text) get their own
// allocations, in the middle of a batch whose other values share chunks,
// and everything reads back after reopening, plaintext and encrypted.
func TestImportBookingRequestsLargeValues(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			dir := t.TempDir()
			open := func() *Store {
				t.Helper()
				s, err := Open(dir, Options{Plaintext: !encrypted})
				if err != nil {
					t.Fatal(err)
				}
				switch s.State() {
				case StateNeedsSetup:
					_, err = s.Setup(adminName, adminPass)
				case StateLocked:
					_, err = s.Unlock(adminName, adminPass)
				}
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			in := importBenchRequests(40)
			for i := 3; i < len(in); i += 7 {
				in[i].Raw = append(bytes.Repeat([]byte(fmt.Sprintf("line %d of a long email\r\n", i)), importChunkSize/20), in[i].Raw...)
				in[i].Request.BodyText = strings.Repeat("a long body <"+fmt.Sprint(i)+">\n", importChunkSize/12)
			}
			s := open()
			saved, err := s.ImportBookingRequests(in, MailSyncPosition{})
			if err != nil || len(saved) != len(in) {
				t.Fatalf("saved %d of %d: %v", len(saved), len(in), err)
			}
			s.Close()
			s = open()
			defer s.Close()
			for i, r := range saved {
				got, err := s.BookingRequest(r.ID)
				if err != nil {
					t.Fatal(err)
				}
				gotJSON, _ := json.Marshal(got)
				wantJSON, _ := json.Marshal(r)
				if !bytes.Equal(gotJSON, wantJSON) || got.BodyText != in[i].Request.BodyText {
					t.Fatalf("request %d read back differs (%d bytes of JSON, want %d)", i, len(gotJSON), len(wantJSON))
				}
				raw, err := s.BookingRequestRaw(r.ID)
				if err != nil || !bytes.Equal(raw, in[i].Raw) {
					t.Fatalf("request %d: raw email read back %d bytes (%v), want %d", i, len(raw), err, len(in[i].Raw))
				}
			}
		})
	}
}

// A patient that booking requests are linked to (linked, done or declined
// with that patient) is not deleted: the requests would point at nobody.
// Once they are linked to someone else or moved back to new, it is.
func TestDeletePatientWithLinkedRequests(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	maria := mustCreate(t, s, Patient{GivenName: "Maria", FamilyName: "Lopez", DateOfBirth: "1984-06-02"})
	other := mustCreate(t, s, Patient{GivenName: "Maria", FamilyName: "López", DateOfBirth: "1984-06-02"})
	first := saveRequest(t, s, mariaRequest(), rawMaria)
	second := mariaRequest()
	second.MessageID, second.UID = "<form-2@clinic.example>", 8
	second = saveRequest(t, s, second, strings.Replace(rawMaria, "form-1@", "form-2@", 1))
	if err := s.LinkBookingRequest(first.ID, maria.ID, first.Version); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkBookingRequest(second.ID, maria.ID, second.Version); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBookingRequestStatus(second.ID, RequestDone, second.Version+1); err != nil {
		t.Fatal(err)
	}

	err := s.DeletePatient(maria.ID)
	if !errors.Is(err, ErrHasRequests) || !strings.Contains(err.Error(), "2 booking requests are linked to this patient") {
		t.Fatalf("deleting a patient two requests are linked to: %v", err)
	}
	if _, err := s.Patient(maria.ID); err != nil {
		t.Fatalf("refused delete removed the patient: %v", err)
	}

	// One request goes to the other patient, the other back to new.
	if err := s.LinkBookingRequest(first.ID, other.ID, first.Version+1); err != nil {
		t.Fatal(err)
	}
	err = s.DeletePatient(maria.ID)
	if !errors.Is(err, ErrHasRequests) || !strings.Contains(err.Error(), "a booking request is linked") {
		t.Fatalf("deleting a patient one done request names: %v", err)
	}
	if err := s.SetBookingRequestStatus(second.ID, RequestNew, second.Version+2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePatient(maria.ID); err != nil {
		t.Fatalf("deleting a patient no request names: %v", err)
	}
	if _, err := s.Patient(maria.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted patient still readable: %v", err)
	}
	if err := s.DeletePatient(other.ID); !errors.Is(err, ErrHasRequests) {
		t.Errorf("deleting the patient the first request is now linked to: %v", err)
	}
}
