package mailbox

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// memState is an in-memory State, as the store will back it.
type memState struct {
	mu        sync.Mutex
	positions map[string][2]uint32
	ids       map[string]bool
	requests  []Request
	raws      [][]byte
	failAfter int // SaveRequest fails once this many requests are saved (0: never)
}

func newMemState() *memState {
	return &memState{positions: map[string][2]uint32{}, ids: map[string]bool{}}
}

func (m *memState) SyncState(folder string) (uint32, uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.positions[folder]
	return p[0], p[1], nil
}

func (m *memState) SaveSyncState(folder string, v, last uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.positions[folder] = [2]uint32{v, last}
	return nil
}

func (m *memState) HasMessageID(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ids[id]
}

var errDiskFull = errors.New("disk full")

func (m *memState) SaveRequest(r Request, raw []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter > 0 && len(m.requests) >= m.failAfter {
		return errDiskFull
	}
	if m.ids[r.MessageID] {
		return fmt.Errorf("request %q saved twice", r.MessageID)
	}
	m.ids[r.MessageID] = true
	m.requests = append(m.requests, r)
	m.raws = append(m.raws, raw)
	return nil
}

const (
	testUser     = "frontdesk"
	testPassword = "correct horse"
)

// startTestServer starts the in-memory IMAP server and returns an account
// for it with plaintext login on loopback.
func startTestServer(t *testing.T, tlsConfig *tls.Config) (*memServer, Account) {
	t.Helper()
	m, err := startMemServer(testUser, testPassword, tlsConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.stop)
	return m, Account{Host: "127.0.0.1", Port: m.addr.Port, Security: SecurityPlain,
		Username: testUser, Password: testPassword, Timeout: 5 * time.Second}
}

// fixtureMessages returns every testdata/*.eml plus n generated requests.
func fixtureMessages(t *testing.T, n int) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	for _, f := range files {
		msgs = append(msgs, readFixture(t, filepath.Base(f)))
	}
	for i := 0; i < n; i++ {
		msgs = append(msgs, generatedRequest(i))
	}
	return msgs
}

// generatedRequest is a web-form request with a unique Message-ID.
func generatedRequest(i int) []byte {
	return []byte(fmt.Sprintf("From: Website <noreply@acuclinic.example>\r\nReply-To: patient%d@example.com\r\n"+
		"Subject: New form submission %d\r\nMessage-ID: <gen-%d@acuclinic.example>\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nName: Patient Number%d\r\nPhone: +1 503 555 %04d\r\nMessage: back pain\r\n",
		i, i, i, i, i%10000))
}

func appendAll(t *testing.T, m *memServer, a Account, msgs [][]byte) {
	t.Helper()
	if err := m.appendMessages(context.Background(), a, "INBOX", msgs); err != nil {
		t.Fatal(err)
	}
}

// serverFlags returns each message's flags in the folder.
func serverFlags(t *testing.T, a Account, folder string) map[imap.UID][]imap.Flag {
	t.Helper()
	s, err := connect(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if _, err := s.selectFolder(folder, true); err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]imap.Flag{}
	err = s.run(StepServer, func() error {
		msgs, err := s.client.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		for _, m := range msgs {
			out[m.UID] = m.Flags
		}
		return err
	}, "fetch flags")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

func TestSyncImportsOnceAndLeavesMessagesUnseen(t *testing.T) {
	m, a := startTestServer(t, nil)
	msgs := fixtureMessages(t, 30)
	appendAll(t, m, a, msgs)
	st := newMemState()

	rep, err := Sync(context.Background(), a, st, SyncOptions{BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != len(msgs) || rep.Duplicates != 0 || rep.Errors != 0 {
		t.Fatalf("first sync = %+v, want %d new", rep, len(msgs))
	}
	if rep.NeedsReview == 0 {
		t.Error("the hostile fixtures should need review")
	}

	rep, err = Sync(context.Background(), a, st, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep != (SyncReport{}) {
		t.Fatalf("second sync = %+v, want nothing new", rep)
	}

	flags := serverFlags(t, a, "INBOX")
	if len(flags) != len(msgs) {
		t.Fatalf("%d messages on the server, want %d (nothing deleted)", len(flags), len(msgs))
	}
	for uid, f := range flags {
		if hasFlag(f, imap.FlagSeen) {
			t.Errorf("UID %d was marked seen", uid)
		}
		if !hasFlag(f, "$FrontDesk") {
			t.Errorf("UID %d lacks the $FrontDesk keyword: %v", uid, f)
		}
	}

	// New mail after a sync is picked up alone.
	appendAll(t, m, a, [][]byte{generatedRequest(1000)})
	rep, err = Sync(context.Background(), a, st, SyncOptions{})
	if err != nil || rep.New != 1 {
		t.Fatalf("third sync = %+v, %v; want 1 new", rep, err)
	}
}

func TestSyncUIDValidityChangeImportsNoDuplicates(t *testing.T) {
	m, a := startTestServer(t, nil)
	msgs := fixtureMessages(t, 10)
	appendAll(t, m, a, msgs)
	st := newMemState()
	if _, err := Sync(context.Background(), a, st, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _, _ := st.SyncState("INBOX")

	// The server renumbers the folder: same messages, new UIDVALIDITY.
	if err := m.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := m.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	appendAll(t, m, a, msgs)
	appendAll(t, m, a, [][]byte{generatedRequest(500)})

	rep, err := Sync(context.Background(), a, st, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, _, _ := st.SyncState("INBOX")
	if after == before {
		t.Fatal("UIDVALIDITY did not change; the test did not renumber the folder")
	}
	if rep.New != 1 || rep.Duplicates != len(msgs) {
		t.Fatalf("sync after UIDVALIDITY change = %+v, want 1 new and %d duplicates", rep, len(msgs))
	}
	if len(st.requests) != len(msgs)+1 {
		t.Fatalf("%d requests stored, want %d", len(st.requests), len(msgs)+1)
	}
}

func TestSyncInterruptedContinues(t *testing.T) {
	m, a := startTestServer(t, nil)
	testSyncInterruptedContinues(t, m, a)
}

// A server without ESEARCH (RFC 4731) lists the new messages, and the
// unmarked ones, with a plain UID SEARCH.
func TestSyncInterruptedContinuesWithoutESearch(t *testing.T) {
	m, err := startMemServerCaps(testUser, testPassword, nil, imap.CapSet{imap.CapIMAP4rev1: {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.stop)
	a := Account{Host: "127.0.0.1", Port: m.addr.Port, Security: SecurityPlain,
		Username: testUser, Password: testPassword, Timeout: 5 * time.Second}
	s, err := connect(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if s.searchAll() != nil {
		t.Fatalf("the server announces %v: the test needs one without ESEARCH", s.client.Caps())
	}
	s.close()
	testSyncInterruptedContinues(t, m, a)
}

func testSyncInterruptedContinues(t *testing.T, m *memServer, a Account) {
	msgs := fixtureMessages(t, 20)
	appendAll(t, m, a, msgs)
	st := newMemState()
	st.failAfter = 9

	rep, err := Sync(context.Background(), a, st, SyncOptions{BatchSize: 5})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if rep.New != 9 {
		t.Fatalf("interrupted sync saved %d, want 9", rep.New)
	}
	st.failAfter = 0
	rep, err = Sync(context.Background(), a, st, SyncOptions{BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	// The rest comes in once. A message saved out of turn (after an
	// undated or large one set aside) may be downloaded again; it is
	// recognised by its Message-ID (memState also fails a second save).
	if rep.New != len(msgs)-9 || rep.Duplicates > 9 {
		t.Fatalf("continued sync = %+v, want %d new, at most the 9 saved before as duplicates", rep, len(msgs)-9)
	}
	if len(st.requests) != len(msgs) {
		t.Fatalf("%d requests, want %d", len(st.requests), len(msgs))
	}
	assertAllMarked(t, a, len(msgs))
}

// assertAllMarked checks that every message in INBOX carries the import
// keyword and none was marked seen: what the people sharing the mailbox see.
func assertAllMarked(t *testing.T, a Account, want int) {
	t.Helper()
	flags := serverFlags(t, a, "INBOX")
	if len(flags) != want {
		t.Fatalf("%d messages on the server, want %d", len(flags), want)
	}
	for uid, f := range flags {
		if !hasFlag(f, "$FrontDesk") {
			t.Errorf("UID %d was imported but lacks the $FrontDesk keyword: %v", uid, f)
		}
		if hasFlag(f, imap.FlagSeen) {
			t.Errorf("UID %d was marked seen", uid)
		}
	}
}

func TestSyncMessageWithoutMessageIDIsNotDuplicated(t *testing.T) {
	m, a := startTestServer(t, nil)
	raw := []byte("From: Nomid <nomid@example.com>\r\nSubject: no id\r\n\r\nMy name is No Mid, 503-555-0150\r\n")
	appendAll(t, m, a, [][]byte{raw})
	st := newMemState()
	if rep, err := Sync(context.Background(), a, st, SyncOptions{}); err != nil || rep.New != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	// Renumber and sync again: recognised by its content hash.
	m.user.Delete("INBOX")
	m.user.Create("INBOX", nil)
	appendAll(t, m, a, [][]byte{raw})
	rep, err := Sync(context.Background(), a, st, SyncOptions{})
	if err != nil || rep.New != 0 || rep.Duplicates != 1 {
		t.Fatalf("%+v %v; want 1 duplicate", rep, err)
	}
	if !strings.HasPrefix(st.requests[0].MessageID, "sha256:") {
		t.Errorf("MessageID = %q, want a content hash", st.requests[0].MessageID)
	}
}

// scanMessage is a short text from Big Scan with an attachment that makes
// the message at least size bytes.
func scanMessage(messageID string, size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Big Scan <big.scan@example.com>\r\nSubject: my MRI\r\nMessage-ID: <" + messageID + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nMy name is Big Scan, phone 503-555-0112. MRI attached.\r\n" +
		"--zz\r\nContent-Type: application/octet-stream; name=mri.bin\r\nContent-Disposition: attachment\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJD", 19) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	b.WriteString("--zz--\r\n")
	return b.Bytes()
}

func TestSyncLargeMessageFetchesOnlyText(t *testing.T) {
	m, a := startTestServer(t, nil)
	appendAll(t, m, a, [][]byte{scanMessage("big-1@example.com", 3<<20)})
	st := newMemState()
	rep, err := Sync(context.Background(), a, st, SyncOptions{LargeMessageBytes: 1 << 20})
	if err != nil || rep.New != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	r := st.requests[0]
	if r.Name != "Big Scan" || r.Phone != "+15035550112" || r.MessageID != "big-1@example.com" {
		t.Errorf("got %q %q %q", r.Name, r.Phone, r.MessageID)
	}
	if len(st.raws[0]) > 64<<10 {
		t.Errorf("stored %d bytes for a large message; want only header and text", len(st.raws[0]))
	}
	if !r.NeedsReview {
		t.Error("a message whose attachments stayed on the server should say so")
	}
}

// A message of exactly LargeMessageBytes is downloaded whole; one byte more
// and only its header and text are. (The download asks for the first
// LargeMessageBytes+1 bytes and tells the two apart by the length.)
func TestSyncLargeMessageLimitIsExact(t *testing.T) {
	m, a := startTestServer(t, nil)
	raw := scanMessage("big-2@example.com", 200<<10)
	appendAll(t, m, a, [][]byte{raw})

	whole := newMemState()
	if rep, err := Sync(context.Background(), a, whole, SyncOptions{LargeMessageBytes: int64(len(raw))}); err != nil || rep.New != 1 {
		t.Fatalf("limit = size: %+v %v", rep, err)
	}
	if !bytes.Equal(whole.raws[0], raw) {
		t.Errorf("limit = size: stored %d bytes, want the whole message of %d", len(whole.raws[0]), len(raw))
	}

	textOnly := newMemState()
	if rep, err := Sync(context.Background(), a, textOnly, SyncOptions{LargeMessageBytes: int64(len(raw)) - 1}); err != nil || rep.New != 1 {
		t.Fatalf("limit = size-1: %+v %v", rep, err)
	}
	r := textOnly.requests[0]
	if len(textOnly.raws[0]) > 16<<10 || !r.NeedsReview || r.Phone != "+15035550112" {
		t.Errorf("limit = size-1: stored %d bytes, needs review %v, phone %q; want only header and text, read", len(textOnly.raws[0]), r.NeedsReview, r.Phone)
	}
}

func TestSyncMovesWhenAsked(t *testing.T) {
	m, a := startTestServer(t, nil)
	if err := m.user.Create("Imported", nil); err != nil {
		t.Fatal(err)
	}
	appendAll(t, m, a, fixtureMessages(t, 3)[:5])
	a.MoveTo = "Imported"
	rep, err := Sync(context.Background(), a, newMemState(), SyncOptions{})
	if err != nil || rep.New != 5 {
		t.Fatalf("%+v %v", rep, err)
	}
	if n := len(serverFlags(t, a, "INBOX")); n != 0 {
		t.Errorf("%d messages left in INBOX, want all moved", n)
	}
	moved := serverFlags(t, a, "Imported")
	if len(moved) != 5 {
		t.Errorf("%d messages in Imported, want 5", len(moved))
	}
	for _, f := range moved {
		if hasFlag(f, imap.FlagSeen) {
			t.Error("moved message marked seen")
		}
	}
}

func TestTestConnectionSteps(t *testing.T) {
	_, a := startTestServer(t, nil)

	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedPort := refused.Addr().(*net.TCPAddr).Port
	refused.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held []net.Conn
	var heldMu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			heldMu.Lock()
			held = append(held, c) // accept, never greet
			heldMu.Unlock()
		}
	}()
	defer func() {
		heldMu.Lock()
		for _, c := range held {
			c.Close()
		}
		heldMu.Unlock()
	}()

	with := func(f func(*Account)) Account { b := a; f(&b); return b }
	tests := []struct {
		name string
		acct Account
		step Step
		says string
	}{
		{"ok", a, "", ""},
		{"wrong password", with(func(a *Account) { a.Password = "wrong" }), StepLogin, "rejected the username or password"},
		{"missing folder", with(func(a *Account) { a.Folder = "Bookings" }), StepFolder, `"Bookings"`},
		{"connection refused", with(func(a *Account) { a.Port = refusedPort }), StepConnect, "refused"},
		{"silent server", with(func(a *Account) {
			a.Port = silent.Addr().(*net.TCPAddr).Port
			a.Timeout = 300 * time.Millisecond
		}), StepTimeout, "did not answer"},
		{"unknown name", with(func(a *Account) { a.Host = "imap.does-not-exist.invalid"; a.Security = SecurityTLS }), StepNameLookup, "could not be found"},
		{"plaintext to a remote server", with(func(a *Account) { a.Host = "192.0.2.1" }), StepSettings, "only allowed"},
		{"no host", with(func(a *Account) { a.Host = "" }), StepSettings, "No mail server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Test(context.Background(), tt.acct)
			if tt.step == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Step != tt.step || !strings.Contains(e.Message, tt.says) {
				t.Errorf("got step %q %q, want step %q saying %q", e.Step, e.Message, tt.step, tt.says)
			}
			if !strings.HasPrefix(err.Error(), "mailbox: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestSyncSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			buf := make([]byte, 1)
			c.Read(buf) // never answer
		}
	}()
	a := Account{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Security: SecurityPlain,
		Username: "u", Password: "p", Timeout: 200 * time.Millisecond}
	_, err = Sync(context.Background(), a, newMemState(), SyncOptions{})
	var e *Error
	if !errors.As(err, &e) || e.Step != StepTimeout {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost.
func selfSigned(t *testing.T) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		Subject:               pkix.Name{CommonName: "Front Desk Test IMAP", Organization: []string{"Acu Clinic"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert
}

func TestStartTLSCertificateTrust(t *testing.T) {
	tlsCert, cert := selfSigned(t)
	m, a := startTestServer(t, &tls.Config{Certificates: []tls.Certificate{tlsCert}})
	_ = m
	a.Security = SecurityStartTLS

	err := Test(context.Background(), a)
	var e *Error
	if !errors.As(err, &e) || e.Step != StepCertificate {
		t.Fatalf("err = %v, want an untrusted certificate", err)
	}
	if e.CertFingerprint != Fingerprint(cert.Raw) || !strings.Contains(e.CertSubject, "Front Desk Test IMAP") {
		t.Errorf("certificate described as %q %q", e.CertSubject, e.CertFingerprint)
	}
	if !strings.Contains(e.Message, e.CertFingerprint) {
		t.Errorf("message %q does not show the fingerprint", e.Message)
	}

	trusted := a
	trusted.TrustedFingerprint = strings.ToLower(strings.ReplaceAll(e.CertFingerprint, ":", ""))
	if err := Test(context.Background(), trusted); err != nil {
		t.Errorf("with the fingerprint trusted: %v", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	withCA := a
	withCA.RootCAs = pool
	if err := Test(context.Background(), withCA); err != nil {
		t.Errorf("with the CA trusted: %v", err)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pemCert(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	withFile := a
	withFile.CAFile = caFile
	if err := Test(context.Background(), withFile); err != nil {
		t.Errorf("with --ca-file: %v", err)
	}
}

func TestImplicitTLS(t *testing.T) {
	tlsCert, cert := selfSigned(t)
	m, a := startTestServer(t, nil)
	// Put a TLS listener in front of the same in-memory server.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{tlsCert}})
	if err != nil {
		t.Fatal(err)
	}
	go m.server.Serve(ln)
	t.Cleanup(func() { ln.Close() })
	a.Security = SecurityTLS
	a.Port = ln.Addr().(*net.TCPAddr).Port

	var e *Error
	if err := Test(context.Background(), a); !errors.As(err, &e) || e.Step != StepCertificate {
		t.Fatalf("err = %v, want an untrusted certificate", err)
	}
	a.TrustedFingerprint = Fingerprint(cert.Raw)
	appendAll(t, m, a, fixtureMessages(t, 2))
	rep, err := Sync(context.Background(), a, newMemState(), SyncOptions{})
	if err != nil || rep.New == 0 {
		t.Fatalf("sync over TLS: %+v %v", rep, err)
	}
}

func TestStartDemo(t *testing.T) {
	ctx := context.Background()
	a, stop, err := StartDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	st := newMemState()
	rep, err := Sync(ctx, a, st, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.New < 12 || rep.NeedsReview < 1 {
		t.Fatalf("demo sync = %+v, want 12 requests, at least one needing review", rep)
	}
	sources := map[Source]bool{}
	var names []string
	for _, r := range st.requests {
		sources[r.Source] = true
		names = append(names, r.Name)
	}
	for _, s := range []Source{SourceWebForm, SourceScheduling, SourcePatientEmail} {
		if !sources[s] {
			t.Errorf("no demo request from %s", s)
		}
	}
	sort.Strings(names)
	for _, want := range []string{"Maria Lopez", "Tom Nguyen", "Sarah Kim", "Lucía Fernández", "王小明"} {
		if i := sort.SearchStrings(names, want); i >= len(names) || names[i] != want {
			t.Errorf("demo lacks %q (names %q)", want, names)
		}
	}
	if rep, err := Sync(ctx, a, st, SyncOptions{}); err != nil || rep.New != 0 {
		t.Errorf("second demo sync = %+v, %v", rep, err)
	}
}

// The demo's scheduling-service invitation asks for 10:00 at the desk a
// week ahead, whatever the time of day the demo starts.
func TestDemoInvitationAsksForTenOClock(t *testing.T) {
	for _, now := range []time.Time{
		time.Date(2026, 11, 27, 17, 28, 0, 0, time.Local),
		time.Date(2026, 11, 27, 0, 5, 0, 0, time.Local),
		time.Date(2026, 3, 2, 23, 59, 0, 0, time.Local),
	} {
		var got *Request
		for _, raw := range DemoMessages(now) {
			if r := ParseRequest(raw, ParseOptions{}); r.Name == "Tom Nguyen" {
				got = &r
			}
		}
		want := time.Date(now.Year(), now.Month(), now.Day()+7, 10, 0, 0, 0, time.Local)
		if got == nil || !got.Requested.Equal(want) {
			t.Errorf("demo started at %v: Tom Nguyen's request = %+v, want it for %v", now, got, want)
		}
	}
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func TestSyncCancelledContinuesNextRun(t *testing.T) {
	m, a := startTestServer(t, nil)
	msgs := fixtureMessages(t, 10)
	appendAll(t, m, a, msgs)
	st := newMemState()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The app is closed after the sixth message.
	rep, err := Sync(ctx, a, st, SyncOptions{BatchSize: 4, Progress: func(done, total int) {
		if done == 6 {
			cancel()
		}
	}})
	var e *Error
	if !errors.As(err, &e) || e.Step != StepTimeout {
		t.Fatalf("err = %v, want the sync stopped", err)
	}
	if rep.New != 6 {
		t.Fatalf("stopped sync saved %d, want 6", rep.New)
	}
	rep, err = Sync(context.Background(), a, st, SyncOptions{})
	if err != nil || rep.New != len(msgs)-6 || rep.Duplicates != 0 {
		t.Fatalf("next sync = %+v, %v; want the remaining %d", rep, err, len(msgs)-6)
	}
	assertAllMarked(t, a, len(msgs))
}

// A request without a Date header of its own is dated by the server's
// internal date, fetched only for such messages: right after their FETCH
// command when the header has no Date field, after the download when the
// field cannot be read.
func TestSyncDatesUndatedRequestsFromTheServer(t *testing.T) {
	_, a := startTestServer(t, nil)
	arrived := time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)
	msgs := [][]byte{
		generatedRequest(1),
		[]byte("From: No Date <nodate@example.com>\r\nSubject: no date\r\nMessage-ID: <nodate-1@example.com>\r\n\r\nMy name is No Date, 503-555-0150\r\n"),
		generatedRequest(2),
		[]byte("From: Bad Date <baddate@example.com>\r\nDate: the day after tomorrow\r\nSubject: bad date\r\nMessage-ID: <nodate-2@example.com>\r\n\r\nMy name is Bad Date, 503-555-0151\r\n"),
		generatedRequest(3),
	}
	if err := appendRaw(context.Background(), a, "INBOX", msgs, arrived); err != nil {
		t.Fatal(err)
	}
	st := newMemState()
	if rep, err := Sync(context.Background(), a, st, SyncOptions{BatchSize: 2}); err != nil || rep.New != len(msgs) {
		t.Fatalf("%+v %v", rep, err)
	}
	for _, r := range st.requests {
		want := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) // generatedRequest's Date header
		if strings.HasPrefix(r.MessageID, "nodate-") {
			want = arrived
		}
		if !r.Received.Equal(want) {
			t.Errorf("%s received %v, want %v", r.MessageID, r.Received, want)
		}
	}
}

// A large message's text is fetched after the others are downloaded; the
// messages after it are saved meanwhile, and the sync position stays
// before it until it is saved, so a pass that stops in between loses
// nothing and the next one imports each message once.
func TestSyncLargeMessageDoesNotHoldUpTheRest(t *testing.T) {
	m, a := startTestServer(t, nil)
	msgs := [][]byte{generatedRequest(1), bigAttachmentMessage(3 << 20), generatedRequest(3), generatedRequest(4)}
	appendAll(t, m, a, msgs)
	st := newMemState()
	st.failAfter = 3 // the disk fills after three requests
	_, err := Sync(context.Background(), a, st, SyncOptions{LargeMessageBytes: 1 << 20})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	savedBig := slices.ContainsFunc(st.requests, func(r Request) bool { return r.MessageID == "big-20mb@example.com" })
	if _, last, _ := st.SyncState("INBOX"); !savedBig && last >= 2 {
		t.Errorf("the large message (UID 2) was not saved, but the position moved past it to %d", last)
	}
	st.failAfter = 0
	if _, err := Sync(context.Background(), a, st, SyncOptions{LargeMessageBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range st.requests {
		ids = append(ids, r.MessageID)
	}
	slices.Sort(ids)
	want := []string{"big-20mb@example.com", "gen-1@acuclinic.example", "gen-3@acuclinic.example", "gen-4@acuclinic.example"}
	if !slices.Equal(ids, want) {
		t.Errorf("requests after two passes %q, want each message once: %q", ids, want)
	}
	assertAllMarked(t, a, len(msgs))
}

func TestByteBudget(t *testing.T) {
	b := newByteBudget(16)
	if !b.acquire(10) {
		t.Fatal("acquire(10) of 16 failed")
	}
	got := make(chan bool)
	go func() { got <- b.acquire(10) }()
	select {
	case <-got:
		t.Fatal("acquire(10) with 6 free did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	b.release(10)
	if ok := <-got; !ok {
		t.Fatal("acquire did not succeed once the room was released")
	}
	// More than the whole budget: waits until everything is free.
	go func() { got <- b.acquire(40) }()
	b.release(10)
	if ok := <-got; !ok {
		t.Fatal("an oversized acquire with everything free failed")
	}
	b.release(40)

	// Room pinned by messages waiting for the fetcher is not waited for:
	// once the rest is free, the fetcher takes what it needs beyond the
	// budget instead of waiting for ever.
	if !b.acquire(12) {
		t.Fatal("acquire(12) of 16 failed")
	}
	b.pin(12)
	if !b.acquire(3) {
		t.Fatal("acquire(3) with 4 free failed")
	}
	go func() { got <- b.acquire(5) }()
	select {
	case <-got:
		t.Fatal("acquire(5) went beyond the budget while room could still be released")
	case <-time.After(50 * time.Millisecond):
	}
	b.release(3) // all but the pinned room is free
	if ok := <-got; !ok {
		t.Fatal("acquire(5) waited for pinned room")
	}
	b.unpin(12)
	b.release(12 + 5)
	if b.free != b.total || b.pinned != 0 {
		t.Fatalf("after releasing everything: free %d of %d, pinned %d", b.free, b.total, b.pinned)
	}

	b.acquire(16) // none free: the next acquire waits
	go func() { got <- b.acquire(1) }()
	b.close()
	if ok := <-got; ok {
		t.Fatal("acquire after close succeeded")
	}
}

func TestChunkUIDs(t *testing.T) {
	var set imap.UIDSet
	set.AddRange(1, 5)
	set.AddNum(9)
	set.AddRange(20, 22)
	got := chunkUIDs(set, 4)
	want := []string{"1:4", "5,9,20:21", "22"}
	if len(got) != len(want) {
		t.Fatalf("chunkUIDs = %v, want %v", got, want)
	}
	for i := range got {
		if got[i].String() != want[i] {
			t.Errorf("chunk %d = %s, want %s", i, got[i], want[i])
		}
	}
}

// The download's last FETCH command is small: what it brings is saved
// after the download.
func TestFetchChunks(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want []int
	}{
		{0, nil},
		{1, []int{1}},
		{lastChunk, []int{lastChunk}},
		{lastChunk + 1, []int{1, lastChunk}},
		{fetchChunk, []int{fetchChunk - lastChunk, lastChunk}},
		{fetchChunk + 10, []int{fetchChunk, 10}},
		{2 * fetchChunk, []int{fetchChunk, fetchChunk - lastChunk, lastChunk}},
	} {
		var set imap.UIDSet
		for uid := 1; uid <= tt.n; uid++ {
			set.AddNum(imap.UID(uid * 2)) // gaps, as after deletions
		}
		var sizes []int
		var all imap.UIDSet
		for _, c := range fetchChunks(set) {
			sizes = append(sizes, uidCount(c))
			all = append(all, c...)
		}
		if !slices.Equal(sizes, tt.want) {
			t.Errorf("%d UIDs: chunks of %v, want %v", tt.n, sizes, tt.want)
		}
		if got, _ := all.Nums(); len(got) != tt.n || (tt.n > 0 && (got[0] != 2 || got[len(got)-1] != imap.UID(2*tt.n))) {
			t.Errorf("%d UIDs: the chunks hold %d, from %v", tt.n, len(got), all)
		}
	}
}

func TestHasDateField(t *testing.T) {
	for raw, want := range map[string]bool{
		"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\nbody":               true,
		"From: a@b.c\r\ndate : x\r\n\r\n":                                 true,
		"From: a@b.c\nDATE:\n\n":                                          true,
		"From: a@b.c\r\nSubject: Date: tomorrow\r\n\r\n":                  false,
		"From: a@b.c\r\nDate-Of-Birth: 1970\r\n\r\n":                      false,
		"From: a@b.c\r\nX-Date: 1970\r\n\r\n":                             false,
		"From: a@b.c\r\n\r\nDate: in the body\r\n":                        false,
		"From: a@b.c\r\nSubject: x\r\n Date: folded into Subject\r\n\r\n": false,
		"": false,
	} {
		if got := hasDateField([]byte(raw)); got != want {
			t.Errorf("hasDateField(%q) = %v, want %v", raw, got, want)
		}
	}
}

// Messages waiting for their internal dates hold their room in the
// pipeline's budget until the fetcher has fetched the dates, after their
// FETCH command. More of them than the budget holds must not stop the
// download: the fetcher cannot wait for room only it can free.
func TestSyncUndatedMessagesBeyondTheBudget(t *testing.T) {
	// ~40 KB each: the first FETCH command (all but the last lastChunk)
	// holds more than the budget.
	n := lastChunk + pipelineBytes/(40<<10) + 50
	testSyncBeyondTheBudget(t, "", n, 600)
}

// Messages of ~150 KB: a batch is written once 8 MiB of them wait, and
// the saver must take back the room of a batch written while it waits for
// the next message, or the fetcher waits for room for ever.
func TestSyncLargishMessagesBeyondTheBudget(t *testing.T) {
	testSyncBeyondTheBudget(t, "Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n", pipelineBytes/(150<<10)+20, 2200)
}

// testSyncBeyondTheBudget imports n messages of about lines × 68 bytes
// with dateField in their header, and checks the import ends with all
// of them, dated.
func testSyncBeyondTheBudget(t *testing.T, dateField string, n, lines int) {
	m, a := startTestServer(t, nil)
	filler := strings.Repeat("I have had low back pain for months and would like an appointment.\r\n", lines)
	var msgs [][]byte
	for i := 0; i < n; i++ {
		msgs = append(msgs, fmt.Appendf(nil, "From: Pat Doe <pat%d@example.com>\r\nSubject: booking %d\r\nMessage-ID: <undated-%d@example.com>\r\n"+
			"%s\r\nName: Pat Doe\r\nPhone: 503-555-%04d\r\n%s", i, i, i, dateField, i, filler))
	}
	appendAll(t, m, a, msgs)
	st := newMemState()
	syncAllWithin(t, a, st, SyncOptions{}, len(msgs))
	for _, r := range st.requests {
		if r.Received.IsZero() {
			t.Errorf("%s has no date", r.MessageID)
		}
	}
}

// Messages of ~5 MB, with LargeMessageBytes above them, come whole: a few
// of them fill the pipeline's budget, and the fetcher waits for room that
// the saver frees only by writing what it has saved.
func TestSyncMessagesFillingTheBudgetComeWhole(t *testing.T) {
	m, a := startTestServer(t, nil)
	filler := strings.Repeat("I have had low back pain for months and would like an appointment.\r\n", (5<<20)/68)
	var msgs [][]byte
	for i := 0; i < 6; i++ {
		msgs = append(msgs, fmt.Appendf(nil, "From: Pat Doe <pat%d@example.com>\r\nSubject: booking %d\r\nMessage-ID: <big-%d@example.com>\r\n"+
			"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\nName: Pat Doe\r\nPhone: 503-555-%04d\r\n%s", i, i, i, i, filler))
	}
	appendAll(t, m, a, msgs)
	st := newMemState()
	syncAllWithin(t, a, st, SyncOptions{LargeMessageBytes: 6 << 20}, len(msgs))
	for i, raw := range st.raws {
		if !bytes.Equal(raw, msgs[i]) {
			t.Errorf("message %d was not kept whole (%d bytes of %d)", i, len(raw), len(msgs[i]))
		}
	}
}

// syncAllWithin imports into st and fails the test unless all n messages
// are saved within a minute: a pipeline waiting for room it is never given
// would otherwise hang the test run.
func syncAllWithin(t *testing.T, a Account, st *memState, opts SyncOptions, n int) {
	t.Helper()
	done := make(chan error, 1)
	var rep SyncReport
	go func() {
		var err error
		rep, err = Sync(context.Background(), a, st, opts)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil || rep.New != n || len(st.requests) != n {
			t.Fatalf("sync = %+v, %v; %d saved of %d", rep, err, len(st.requests), n)
		}
	case <-time.After(60 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("the import hangs:\n%s", buf[:runtime.Stack(buf, true)])
	}
}
