package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"frontdesk/mailbox"
	"frontdesk/storage"
)

// demoMailbox starts the demo mailbox for one test and puts its password in
// an environment variable, as an administrator would.
func demoMailbox(t *testing.T) mailbox.Account {
	t.Helper()
	a, stop, err := mailbox.StartDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	t.Setenv("FRONTDESK_TEST_MAILBOX_PASSWORD", a.Password)
	return a
}

func setArgs(dir string, a mailbox.Account) []string {
	return []string{"mailbox", "set", "--data", dir, "--host", a.Host, "--port", strconv.Itoa(a.Port),
		"--security", "plain", "--user", a.Username, "--password-env", "FRONTDESK_TEST_MAILBOX_PASSWORD", "--interval", "5"}
}

func TestMailboxSetTestSyncRequests(t *testing.T) {
	a := demoMailbox(t)
	dir := t.TempDir()
	setUpStore(t, dir)

	// A patient who wrote in: the same email as the demo's Maria Lopez.
	st := openTestStore(t, dir)
	maria := storage.Patient{GivenName: "Maria", FamilyName: "Lopez", DateOfBirth: "1984-06-02", Email: "maria.lopez@example.com"}
	if err := st.CreatePatient(&maria); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errOut := runCmd(t, setArgs(dir, a)...)
	if code != 0 || !strings.Contains(out, "Saved the mailbox demo at 127.0.0.1:") {
		t.Fatalf("mailbox set = %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, a.Password) {
		t.Error("mailbox set printed the password")
	}
	code, out, errOut = runCmd(t, "mailbox", "show", "--data", dir)
	if code != 0 || !strings.Contains(out, "every 5 minutes") || !strings.Contains(out, "Password:    set") || strings.Contains(out, a.Password) {
		t.Errorf("mailbox show = %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCmd(t, "mailbox", "test", "--data", dir)
	if code != 0 || !strings.Contains(out, "login                ok") || !strings.Contains(out, "The mailbox works.") {
		t.Fatalf("mailbox test = %d\n%s%s", code, out, errOut)
	}

	want := len(mailbox.DemoMessages(time.Now()))
	code, out, errOut = runCmd(t, "mailbox", "sync", "--data", dir)
	counts := regexp.MustCompile(`^(\d+) new, (\d+) duplicates, (\d+) need review\n$`).FindStringSubmatch(out)
	if code != 0 || counts == nil || counts[1] != strconv.Itoa(want) || counts[2] != "0" || counts[3] == "0" {
		t.Fatalf("first mailbox sync = %d, %q %s; want %d new, some needing review", code, out, errOut, want)
	}
	needReview, _ := strconv.Atoi(counts[3])

	code, out, errOut = runCmd(t, "mailbox", "sync", "--data", dir)
	if code != 0 || out != "0 new, 0 duplicates, 0 need review\n" {
		t.Errorf("second mailbox sync = %d, %q %s; want nothing new", code, out, errOut)
	}

	code, out, errOut = runCmd(t, "requests", "--json", "--data", dir)
	if code != 0 {
		t.Fatalf("requests --json = %d\n%s", code, errOut)
	}
	var list []struct {
		ID         uint64 `json:"id"`
		Status     string `json:"status"`
		Name       string `json:"name"`
		Email      string `json:"email"`
		Phone      string `json:"phone"`
		Source     string `json:"source"`
		BodyText   string `json:"body_text"`
		Candidates []struct {
			PatientID  uint64   `json:"patient_id"`
			Reasons    []string `json:"reasons"`
			Confidence float64  `json:"confidence"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("requests --json is not JSON: %v\n%s", err, out)
	}
	if len(list) != want {
		t.Fatalf("requests --json lists %d, want %d", len(list), want)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
		if r.Candidates == nil {
			t.Errorf("request %d: candidates is null, want a list", r.ID)
		}
		if r.Name == "Maria Lopez" {
			if r.Email != "maria.lopez@example.com" || r.Phone != "+15035550142" || r.Source != "web-form" || r.Status != "new" {
				t.Errorf("Maria's request = %+v", r)
			}
			if len(r.Candidates) == 0 || r.Candidates[0].PatientID != maria.ID || !slices.Contains(r.Candidates[0].Reasons, "same email") || r.Candidates[0].Confidence < 0.5 {
				t.Errorf("Maria's candidates = %+v, want patient %d first by email", r.Candidates, maria.ID)
			}
		}
	}
	for _, name := range []string{"Maria Lopez", "Tom Nguyen", "Sarah Kim", "王小明"} {
		if !slices.Contains(names, name) {
			t.Errorf("requests --json lacks %q (has %q)", name, names)
		}
	}

	code, out, _ = runCmd(t, "requests", "--status", "needs-review", "--json", "--data", dir)
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != needReview {
		t.Fatalf("requests --status needs-review = %d, %d listed, %v; want %d", code, len(list), err, needReview)
	}
	for _, r := range list {
		if r.Status != "needs-review" || r.BodyText == "" {
			t.Errorf("needs-review listing holds %+v", r)
		}
	}

	code, out, _ = runCmd(t, "requests", "--data", dir)
	for _, wantText := range []string{"Maria Lopez", "maria.lopez@example.com", fmt.Sprintf("#%d Maria Lopez (same email", maria.ID), "needs-review", fmt.Sprintf("%d booking requests:", want)} {
		if code != 0 || !strings.Contains(out, wantText) {
			t.Errorf("requests (text) lacks %q:\n%s", wantText, out)
		}
	}
	code, out, _ = runCmd(t, "requests", "--status", "linked", "--data", dir)
	if code != 0 || !strings.Contains(out, "No booking requests are linked.") {
		t.Errorf("requests --status linked = %d\n%s", code, out)
	}
}

func TestMailboxCommandsExplainFailures(t *testing.T) {
	a := demoMailbox(t)
	dir := t.TempDir()
	setUpStore(t, dir)
	code, _, errOut := runCmd(t, "mailbox", "test", "--data", dir)
	if code != 1 || !strings.Contains(errOut, "no mailbox is set up yet") {
		t.Errorf("mailbox test without an account = %d %q", code, errOut)
	}
	code, _, errOut = runCmd(t, "mailbox", "sync", "--data", dir)
	if code != 1 || !strings.Contains(errOut, "no mailbox is set up yet") {
		t.Errorf("mailbox sync without an account = %d %q", code, errOut)
	}

	t.Setenv("FRONTDESK_TEST_MAILBOX_PASSWORD", "wrong password")
	if code, out, errOut := runCmd(t, setArgs(dir, a)...); code != 0 {
		t.Fatalf("mailbox set = %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, "mailbox", "test", "--data", dir)
	if code != 1 || !strings.Contains(out, "connection           ok") || !strings.Contains(out, "login                FAILED") ||
		!strings.Contains(errOut, "rejected the username or password") {
		t.Errorf("mailbox test with a wrong password = %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "mailbox", "sync", "--data", dir)
	if code != 1 || !strings.Contains(errOut, "rejected the username or password") {
		t.Errorf("mailbox sync with a wrong password = %d %q", code, errOut)
	}

	// Nothing listens on the port any more.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	if code, _, errOut := runCmd(t, "mailbox", "set", "--data", dir, "--port", port); code != 0 {
		t.Fatalf("mailbox set --port = %d %s", code, errOut)
	}
	code, out, errOut = runCmd(t, "mailbox", "test", "--data", dir)
	if code != 1 || !strings.Contains(out, "connection           FAILED") || !strings.Contains(errOut, "refused the connection") {
		t.Errorf("mailbox test with nothing listening = %d\n%s%s", code, out, errOut)
	}
}

// tlsInFront serves TLS with a fresh self-signed certificate on a loopback
// port and passes the plain bytes to backend. It returns the port and the
// certificate's fingerprint.
func tlsInFront(t *testing.T, backend string) (int, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Clinic Mail Test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				go io.Copy(b, c)
				io.Copy(c, b)
			}()
		}
	}()
	sum := sha256.Sum256(der)
	return ln.Addr().(*net.TCPAddr).Port, hex.EncodeToString(sum[:])
}

func TestMailboxTrustUntrustedCertificate(t *testing.T) {
	a := demoMailbox(t)
	port, fingerprint := tlsInFront(t, net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))
	dir := t.TempDir()
	setUpStore(t, dir)
	code, out, errOut := runCmd(t, "mailbox", "set", "--data", dir, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--security", "tls", "--user", a.Username, "--password-env", "FRONTDESK_TEST_MAILBOX_PASSWORD")
	if code != 0 {
		t.Fatalf("mailbox set = %d\n%s%s", code, out, errOut)
	}
	shown, _ := normalizeFingerprint(fingerprint)
	code, out, errOut = runCmd(t, "mailbox", "test", "--data", dir)
	for _, want := range []string{"secure connection    FAILED", "CN=Clinic Mail Test", shown, "frontdesk mailbox trust --fingerprint " + shown} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("mailbox test with an untrusted certificate = %d, output lacks %q:\n%s%s", code, want, out, errOut)
		}
	}
	if !strings.Contains(errOut, "not trusted") {
		t.Errorf("error %q does not say the certificate is not trusted", errOut)
	}
	// Typed the way a person might copy it: lower case, no colons.
	if code, out, errOut := runCmd(t, "mailbox", "trust", "--data", dir, "--fingerprint", fingerprint); code != 0 || !strings.Contains(out, shown) {
		t.Fatalf("mailbox trust = %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, "mailbox", "test", "--data", dir); code != 0 || !strings.Contains(out, "secure connection    ok") {
		t.Errorf("mailbox test after trust = %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, "mailbox", "sync", "--data", dir); code != 0 || !strings.HasPrefix(out, strconv.Itoa(len(mailbox.DemoMessages(time.Now())))+" new") {
		t.Errorf("mailbox sync over TLS = %d\n%s%s", code, out, errOut)
	}
}

func TestMailboxCommandsBadUsage(t *testing.T) {
	dir := t.TempDir()
	setUpStore(t, dir)
	t.Setenv("FRONTDESK_TEST_MAILBOX_PASSWORD", "secret")
	base := []string{"--data", dir, "--user", "frontdesk", "--password-env", "FRONTDESK_TEST_MAILBOX_PASSWORD"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"mailbox", "--data", dir}, "mailbox needs one of"},
		{"unknown subcommand", []string{"mailbox", "fetch", "--data", dir}, `unknown mailbox command "fetch"`},
		{"extra argument", []string{"mailbox", "sync", "now", "--data", dir}, "takes no arguments"},
		{"flag of another subcommand", []string{"mailbox", "sync", "--host", "x", "--data", dir}, "mailbox sync does not take --host"},
		{"password as a flag", append([]string{"mailbox", "set", "--host", "imap.example.com", "--password", "hunter2"}, base...), "never taken on the command line"},
		{"plain to another computer", append([]string{"mailbox", "set", "--host", "imap.example.com", "--security", "plain"}, base...), "only allowed to this computer"},
		{"unknown security", append([]string{"mailbox", "set", "--host", "imap.example.com", "--security", "ssl"}, base...), "tls or starttls"},
		{"bad port", append([]string{"mailbox", "set", "--host", "imap.example.com", "--port", "99999"}, base...), "is not a port"},
		{"port not a number", append([]string{"mailbox", "set", "--host", "imap.example.com", "--port", "imap"}, base...), "invalid value"},
		{"no host", []string{"mailbox", "set", "--data", dir}, "no mailbox is set up yet"},
		{"no user", []string{"mailbox", "set", "--host", "imap.example.com", "--data", dir, "--password-env", "FRONTDESK_TEST_MAILBOX_PASSWORD"}, "--user USER"},
		{"no password", []string{"mailbox", "set", "--host", "imap.example.com", "--user", "u", "--data", dir}, "--password-env VAR"},
		{"password variable unset", []string{"mailbox", "set", "--host", "imap.example.com", "--user", "u", "--data", dir, "--password-env", "FRONTDESK_NO_SUCH_VARIABLE"}, `"FRONTDESK_NO_SUCH_VARIABLE" is not set`},
		{"interval zero", append([]string{"mailbox", "set", "--host", "imap.example.com", "--interval", "0"}, base...), "--interval"},
		{"fingerprint not hex", []string{"mailbox", "trust", "--fingerprint", "not-a-fingerprint", "--data", dir}, "64 hex digits"},
		{"fingerprint too short", []string{"mailbox", "trust", "--fingerprint", "AB:CD", "--data", dir}, "64 hex digits"},
		{"unknown status", []string{"requests", "--status", "archived", "--data", dir}, "--status must be new, needs-review"},
		{"requests argument", []string{"requests", "all", "--data", dir}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q (stdout %q)", code, errOut, tt.want, out)
			}
			if strings.Contains(out+errOut, "hunter2") || strings.Contains(out+errOut, "secret") {
				t.Error("a password was printed")
			}
		})
	}
	// None of the refused settings was saved.
	st := openTestStore(t, dir)
	defer st.Close()
	if _, ok, _ := st.MailAccount(); ok {
		t.Error("a refused mailbox set saved an account")
	}
}
