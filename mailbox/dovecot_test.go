package mailbox

// Integration tests against a real Dovecot (Debian package dovecot-imapd).
// The harness starts a private instance on free loopback ports, with its
// own config, certificate authority, users and maildirs in a temporary
// folder, and stops it by the PID it started. Dovecot's master must run as
// root and refuses uid 0 for mail, so mail belongs to a system user the
// harness creates (frontdesk-mail).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const (
	dovecotPackage  = "dovecot-imapd"
	dovecotMailUser = "frontdesk-mail"
	dovecotPassword = "s3cret-test-password"
)

// dovecotUsers are the test accounts; each test uses its own.
var dovecotUsers = []string{"bulk", "hostile", "tls", "bench", "benchbig", "unseen", "benchstore"}

type dovecotServer struct {
	dir        string
	conf       string
	pid        int
	imapPort   int // STARTTLS
	imapsPort  int // implicit TLS
	caFile     string
	uid, gid   int
	startedErr error
}

var (
	sharedDovecot     *dovecotServer
	sharedDovecotOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDovecot != nil {
		sharedDovecot.stop()
	}
	os.Exit(code)
}

// startDovecot returns the shared private Dovecot, starting it once. It
// fails the test (never skips) when Dovecot cannot run here.
func startDovecot(tb testing.TB) *dovecotServer {
	tb.Helper()
	sharedDovecotOnce.Do(func() {
		sharedDovecot = &dovecotServer{}
		sharedDovecot.startedErr = sharedDovecot.start()
	})
	if sharedDovecot.startedErr != nil {
		tb.Fatalf("the Dovecot integration tests need a private Dovecot: %v", sharedDovecot.startedErr)
	}
	return sharedDovecot
}

func dovecotBinary() (string, error) {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("dovecot is not installed; install the Debian package %s (apt-get install -y --no-install-recommends %s)", dovecotPackage, dovecotPackage)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (d *dovecotServer) start() error {
	bin, err := dovecotBinary()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("dovecot's master process must start as root; run the tests as root (CI does)")
	}
	if _, err := user.Lookup(dovecotMailUser); err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", dovecotMailUser).CombinedOutput()
		if err != nil {
			return fmt.Errorf("creating the system user %s for mail files: %v: %s", dovecotMailUser, err, out)
		}
	}
	u, err := user.Lookup(dovecotMailUser)
	if err != nil {
		return err
	}
	d.uid, _ = strconv.Atoi(u.Uid)
	d.gid, _ = strconv.Atoi(u.Gid)

	// t.TempDir is 0700, which the mail user cannot traverse.
	if d.dir, err = os.MkdirTemp("", "frontdesk-dovecot-"); err != nil {
		return err
	}
	if err := os.Chmod(d.dir, 0o755); err != nil {
		return err
	}
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o755); err != nil {
			return err
		}
	}
	if d.imapPort, err = freePort(); err != nil {
		return err
	}
	if d.imapsPort, err = freePort(); err != nil {
		return err
	}
	if err := d.writeCertificates(); err != nil {
		return err
	}
	var passwd strings.Builder
	for _, name := range dovecotUsers {
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s::::::\n", name, dovecotPassword)
		home := filepath.Join(d.dir, "home", name)
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(home, "Maildir", sub), 0o700); err != nil {
				return err
			}
		}
		if err := chownTree(home, d.uid, d.gid); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(d.dir, "passwd"), []byte(passwd.String()), 0o644); err != nil {
		return err
	}
	d.conf = filepath.Join(d.dir, "dovecot.conf")
	conf := fmt.Sprintf(`# Private Dovecot for Front Desk's mailbox tests.
protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
ssl = yes
ssl_cert = <%[1]s/server.pem
ssl_key = <%[1]s/server.key
ssl_dh = </usr/share/dovecot/dh.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[2]d gid=%[3]d home=%[1]s/home/%%u
}
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = %[2]d
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[4]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[5]d
    ssl = yes
  }
}
`, d.dir, d.uid, d.gid, d.imapPort, d.imapsPort)
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		return err
	}

	cmd := exec.Command(bin, "-c", d.conf)
	// Dovecot daemonizes but inherits stdio: never capture it, or Wait
	// blocks for ever.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("starting dovecot: %v; log: %s", err, d.log())
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if pid, err := os.ReadFile(filepath.Join(d.dir, "run", "master.pid")); err == nil {
			d.pid, _ = strconv.Atoi(strings.TrimSpace(string(pid)))
		}
		if d.pid != 0 && Test(context.Background(), d.account("tls", SecurityStartTLS)) == nil {
			return nil // a real LOGIN works
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dovecot did not accept a login within 15 s; log: %s", d.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *dovecotServer) log() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop signals only the master this harness started.
func (d *dovecotServer) stop() {
	if d.pid > 0 {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", d.pid))
		if bytes.Contains(cmdline, []byte(d.conf)) {
			_ = syscall.Kill(d.pid, syscall.SIGTERM)
			for i := 0; i < 100; i++ {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", d.pid)); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

func chownTree(root string, uid, gid int) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// writeCertificates makes a test CA and a server certificate it signs.
func (d *dovecotServer) writeCertificates() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Front Desk Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	d.caFile = filepath.Join(d.dir, "ca.pem")
	files := map[string][]byte{
		d.caFile:                           pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		filepath.Join(d.dir, "server.pem"): pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		filepath.Join(d.dir, "server.key"): pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return err
		}
	}
	return os.Chmod(d.caFile, 0o644)
}

func (d *dovecotServer) account(name, security string) Account {
	port := d.imapPort
	if security == SecurityTLS {
		port = d.imapsPort
	}
	return Account{Host: "127.0.0.1", Port: port, Security: security, Username: name,
		Password: dovecotPassword, CAFile: d.caFile, Timeout: 20 * time.Second}
}

// deliver writes messages straight into a user's maildir (unseen), much
// faster than APPEND for thousands of test messages.
func (d *dovecotServer) deliver(tb testing.TB, name string, msgs [][]byte) {
	tb.Helper()
	dir := filepath.Join(d.dir, "home", name, "Maildir", "cur")
	base := time.Now().UnixNano()
	for i, raw := range msgs {
		p := filepath.Join(dir, fmt.Sprintf("%d.M%dP%d.frontdesk-test:2,", base/1e9, base%1e9+int64(i), os.Getpid()))
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			tb.Fatal(err)
		}
	}
}

// empty removes every message of the user's INBOX and Dovecot's indexes
// of it, so that a test that counts what it delivered finds only that:
// the server is shared by every test of the run, and by each repetition
// of a test under -count.
func (d *dovecotServer) empty(tb testing.TB, name string) {
	tb.Helper()
	maildir := filepath.Join(d.dir, "home", name, "Maildir")
	entries, err := os.ReadDir(maildir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(maildir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), "dovecot"):
			err = os.RemoveAll(p)
		case e.IsDir() && (e.Name() == "cur" || e.Name() == "new" || e.Name() == "tmp"):
			var files []os.DirEntry
			if files, err = os.ReadDir(p); err == nil {
				for _, f := range files {
					if err = os.Remove(filepath.Join(p, f.Name())); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// renumber makes Dovecot give the user's INBOX a new UIDVALIDITY by
// removing its UID list and indexes, as a restored or migrated server does.
func (d *dovecotServer) renumber(tb testing.TB, name string) {
	tb.Helper()
	time.Sleep(1100 * time.Millisecond) // UIDVALIDITY is a timestamp
	maildir := filepath.Join(d.dir, "home", name, "Maildir")
	entries, err := os.ReadDir(maildir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "dovecot") {
			if err := os.RemoveAll(filepath.Join(maildir, e.Name())); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

var messageIDLine = regexp.MustCompile(`(?im)^message-id:.*\r?\n`)

// variedRequests returns n requests cycling through every fixture, each
// with its own Message-ID.
func variedRequests(tb testing.TB, n int) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(files) == 0 {
		tb.Fatal("no fixtures", err)
	}
	var fixtures [][]byte
	for _, f := range files {
		fixtures = append(fixtures, readFixture(tb, filepath.Base(f)))
	}
	out := make([][]byte, n)
	for i := range out {
		raw := messageIDLine.ReplaceAll(fixtures[i%len(fixtures)], nil)
		out[i] = append([]byte(fmt.Sprintf("Message-ID: <bulk-%d@frontdesk.test>\r\n", i)), raw...)
	}
	return out
}

// hostileMessages are what the issue lists: broken boundary, truncated
// multipart, unknown charset and transfer encoding, invalid UTF-8, a 20 MB
// attachment, 10,000-character headers, 200 nested multiparts.
func hostileMessages(tb testing.TB) [][]byte {
	tb.Helper()
	var msgs [][]byte
	for _, f := range []string{"hostile-broken-boundary.eml", "hostile-truncated.eml", "hostile-unknown-charset.eml",
		"hostile-invalid-utf8.eml", "hostile-long-header.eml", "hostile-nested.eml", "hostile-not-an-email.eml"} {
		msgs = append(msgs, readFixture(tb, f))
	}
	msgs = append(msgs, bigAttachmentMessage(20<<20))
	return msgs
}

func bigAttachmentMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Big Scan <big.scan@example.com>\r\nSubject: my MRI (20 MB)\r\nMessage-ID: <big-20mb@example.com>\r\n" +
		"X-Long: " + strings.Repeat("h", 10000) + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nMy name is Big Scan, phone 503-555-0112. Scan attached.\r\n" +
		"--zz\r\nContent-Type: application/octet-stream; name=mri.bin\r\nContent-Disposition: attachment; filename=mri.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJD", 19) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	b.WriteString("--zz--\r\n")
	return b.Bytes()
}

// dovecotFlags returns each message's flags in the user's INBOX.
func dovecotFlags(tb testing.TB, a Account) map[imap.UID][]imap.Flag {
	tb.Helper()
	s, err := connect(context.Background(), a)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.close()
	if _, err := s.selectFolder("INBOX", true); err != nil {
		tb.Fatal(err)
	}
	out := map[imap.UID][]imap.Flag{}
	if err := s.run(StepServer, func() error {
		msgs, err := s.client.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		for _, m := range msgs {
			out[m.UID] = m.Flags
		}
		return err
	}, "fetch flags"); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestDovecotSecurityAndLogin(t *testing.T) {
	d := startDovecot(t)
	tests := []struct {
		name string
		acct func() Account
		step Step
		says string
	}{
		{"STARTTLS with the test CA", func() Account { return d.account("tls", SecurityStartTLS) }, "", ""},
		{"TLS with the test CA", func() Account { return d.account("tls", SecurityTLS) }, "", ""},
		{"TLS without the CA", func() Account { a := d.account("tls", SecurityTLS); a.CAFile = ""; return a },
			StepCertificate, "not trusted"},
		{"STARTTLS without the CA", func() Account { a := d.account("tls", SecurityStartTLS); a.CAFile = ""; return a },
			StepCertificate, "fingerprint"},
		{"wrong password", func() Account { a := d.account("tls", SecurityStartTLS); a.Password = "nope"; return a },
			StepLogin, "rejected the username or password"},
		{"missing folder", func() Account { a := d.account("tls", SecurityTLS); a.Folder = "Bookings"; return a },
			StepFolder, `"Bookings"`},
		{"TLS spoken to the STARTTLS port", func() Account {
			a := d.account("tls", SecurityTLS)
			a.Port = d.imapPort
			a.Timeout = 3 * time.Second
			return a
		},
			StepTLS, "secure connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Test(context.Background(), tt.acct())
			if tt.step == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Step != tt.step || !strings.Contains(e.Message, tt.says) {
				t.Fatalf("err = %v (step %v), want step %q saying %q", err, stepOf(err), tt.step, tt.says)
			}
		})
	}
}

func stepOf(err error) Step {
	var e *Error
	if errors.As(err, &e) {
		return e.Step
	}
	return ""
}

func TestDovecotImport2000ThenNothingThenUIDValidityChange(t *testing.T) {
	d := startDovecot(t)
	const n = 2000
	d.empty(t, "bulk")
	d.deliver(t, "bulk", variedRequests(t, n))
	a := d.account("bulk", SecurityStartTLS)
	st := newMemState()

	rep, err := Sync(context.Background(), a, st, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != n || rep.Errors != 0 {
		t.Fatalf("first import = %+v, want %d new", rep, n)
	}
	rep, err = Sync(context.Background(), a, st, SyncOptions{})
	if err != nil || rep != (SyncReport{}) {
		t.Fatalf("second import = %+v, %v; want nothing", rep, err)
	}
	flags := dovecotFlags(t, a)
	if len(flags) != n {
		t.Fatalf("%d messages on the server, want %d", len(flags), n)
	}
	for uid, f := range flags {
		if hasFlag(f, imap.FlagSeen) || !hasFlag(f, "$FrontDesk") {
			t.Fatalf("UID %d flags %v: want unseen with $FrontDesk", uid, f)
		}
	}

	before, _, _ := st.SyncState("INBOX")
	d.renumber(t, "bulk")
	rep, err = Sync(context.Background(), a, st, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, _, _ := st.SyncState("INBOX")
	if before == after {
		t.Fatalf("UIDVALIDITY stayed %d; the renumbering did not happen", after)
	}
	if rep.New != 0 || rep.Duplicates != n {
		t.Fatalf("import after UIDVALIDITY change = %+v, want 0 new, %d duplicates", rep, n)
	}
	if len(st.requests) != n {
		t.Fatalf("%d requests stored, want %d", len(st.requests), n)
	}
}

func TestDovecotHostileMessages(t *testing.T) {
	d := startDovecot(t)
	msgs := hostileMessages(t)
	d.empty(t, "hostile")
	d.deliver(t, "hostile", msgs)
	a := d.account("hostile", SecurityTLS)
	st := newMemState()
	rep, err := Sync(context.Background(), a, st, SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != len(msgs) || len(st.requests) != len(msgs) {
		t.Fatalf("import = %+v, want every one of %d hostile messages kept", rep, len(msgs))
	}
	for i, r := range st.requests {
		assertShowable(t, r)
		if len(st.raws[i]) > 4<<20 {
			t.Errorf("request %q stored %d raw bytes; large attachments must stay on the server", r.Subject, len(st.raws[i]))
		}
	}
	if rep.NeedsReview < len(msgs)-1 {
		t.Errorf("%d of %d hostile messages flagged for review", rep.NeedsReview, len(msgs))
	}
	for uid, f := range dovecotFlags(t, a) {
		if hasFlag(f, imap.FlagSeen) {
			t.Errorf("UID %d marked seen", uid)
		}
	}
}

// peakRSS returns the process's peak resident set size in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// BenchmarkDovecotImport compares, in one run against the same Dovecot with
// 2,000 messages, a bare go-imap UID FETCH BODY.PEEK[] of every message
// with a full import (fetch, parse, match, store in memory); then imports
// a 20 MB message from another mailbox (so the 2,000-message mailbox
// stays as it is for every run). Run:
// go test -run XXX -bench DovecotImport -benchtime 3x ./mailbox/
func BenchmarkDovecotImport(b *testing.B) {
	d := startDovecot(b)
	const n = 2000
	benchDeliverOnce.Do(func() { d.deliver(b, "bench", variedRequests(b, n)) })
	a := d.account("bench", SecurityStartTLS)
	people := newIndexedPeople()
	for i := 0; i < 2000; i++ {
		people.add(Person{ID: uint64(i + 1), GivenName: "Patient", FamilyName: fmt.Sprintf("Number%d", i),
			Email: fmt.Sprintf("patient%d@example.com", i), Phones: []string{fmt.Sprintf("+1 503 555 %04d", i)}})
	}
	var bareTotal, importTotal time.Duration
	var ratios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		fetched := bareFetch(b, a)
		bare := time.Since(start)
		if fetched != n {
			b.Fatalf("bare fetch got %d messages, want %d", fetched, n)
		}

		st := &matchingState{memState: newMemState(), people: people}
		start = time.Now()
		rep, err := Sync(context.Background(), a, st, SyncOptions{})
		imp := time.Since(start)
		if err != nil || rep.New+rep.Duplicates != fetched {
			b.Fatalf("import: %+v %v", rep, err)
		}
		bareTotal += bare
		importTotal += imp
		ratios = append(ratios, float64(imp)/float64(bare))
	}
	b.StopTimer()
	bareMs := float64(bareTotal.Milliseconds()) / float64(b.N)
	importMs := float64(importTotal.Milliseconds()) / float64(b.N)
	b.ReportMetric(bareMs, "bare-fetch-ms")
	b.ReportMetric(importMs, "import-ms")
	b.ReportMetric(importMs/bareMs, "import/bare")
	// The machine's other work makes single runs noisy: the median of the
	// runs' own ratios (each import right after its bare fetch) is steadier.
	b.ReportMetric(median(ratios), "median-import/bare")
	b.ReportMetric(float64(n)/(importMs/1000), "msgs/s")

	// A 20 MB message on its own, in its own mailbox.
	big := bigAttachmentMessage(20 << 20)
	big = bytes.Replace(big, []byte("<big-20mb@"), []byte(fmt.Sprintf("<big-20mb-%d@", b.N)), 1)
	abig := d.account("benchbig", SecurityStartTLS)
	d.deliver(b, "benchbig", [][]byte{big})
	runtime.GC()
	st := newMemState()
	st.positions["INBOX"] = [2]uint32{}
	if v, last := lastPosition(b, abig); v != 0 {
		st.positions["INBOX"] = [2]uint32{v, last - 1}
	}
	if rep, err := Sync(context.Background(), abig, st, SyncOptions{}); err != nil || rep.New != 1 {
		b.Fatalf("20 MB import: %+v %v", rep, err)
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
	b.Logf("2,000 messages: bare UID FETCH BODY.PEEK[] %.0f ms, full import %.0f ms (%.2fx, median of %d runs %.2fx); peak RSS %d MiB incl. a 20 MB message",
		bareMs, importMs, importMs/bareMs, len(ratios), median(ratios), peakRSS()>>20)
}

// median returns the middle value of xs (the mean of the middle two when
// their number is even).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// lastPosition returns the INBOX's UIDVALIDITY and highest UID.
func lastPosition(tb testing.TB, a Account) (uint32, uint32) {
	s, err := connect(context.Background(), a)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.close()
	sel, err := s.selectFolder("INBOX", true)
	if err != nil {
		tb.Fatal(err)
	}
	return sel.UIDValidity, uint32(sel.UIDNext) - 1
}

// bareFetch is the baseline: one UID FETCH 1:* BODY.PEEK[] read to the end.
func bareFetch(tb testing.TB, a Account) int {
	s, err := connect(context.Background(), a)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.close()
	if _, err := s.selectFolder("INBOX", true); err != nil {
		tb.Fatal(err)
	}
	count := 0
	err = s.run(StepServer, func() error {
		cmd := s.client.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				if body, ok := item.(imapclient.FetchItemDataBodySection); ok && body.Literal != nil {
					io.Copy(io.Discard, body.Literal)
					count++
				}
			}
		}
		return cmd.Close()
	}, "bare fetch")
	if err != nil {
		tb.Fatal(err)
	}
	return count
}

var benchDeliverOnce sync.Once

// indexedPeople is a CandidateSource with in-memory indexes, like the
// store's: folded name words, email, phone digits.
type indexedPeople struct {
	byWord, byEmail, byPhone map[string][]Person
}

func newIndexedPeople() *indexedPeople {
	return &indexedPeople{byWord: map[string][]Person{}, byEmail: map[string][]Person{}, byPhone: map[string][]Person{}}
}

func (ix *indexedPeople) add(p Person) {
	for _, w := range strings.Fields(FoldName(p.GivenName + " " + p.FamilyName)) {
		ix.byWord[w] = append(ix.byWord[w], p)
	}
	ix.byEmail[strings.ToLower(p.Email)] = append(ix.byEmail[strings.ToLower(p.Email)], p)
	for _, ph := range p.Phones {
		d := digitsOnly(ph)
		ix.byPhone[d] = append(ix.byPhone[d], p)
	}
}

func (ix *indexedPeople) Search(q string, limit int) []Person {
	var out []Person
	out = append(out, ix.byEmail[strings.ToLower(q)]...)
	out = append(out, ix.byPhone[digitsOnly(q)]...)
	for _, w := range strings.Fields(FoldName(q)) {
		out = append(out, ix.byWord[w]...)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// matchingState also ranks candidates for each saved request, as the app
// does on import.
type matchingState struct {
	*memState
	people CandidateSource
}

func (m *matchingState) SaveRequest(r Request, raw []byte) error {
	_ = MatchPatients(r, m.people, "US")
	return m.memState.SaveRequest(r, raw)
}
