package mailbox

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Security says how the connection to the mail server is protected.
const (
	SecurityTLS      = "tls"      // TLS from the first byte (port 993)
	SecurityStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 143)
	SecurityPlain    = "plain"    // no encryption: only to a loopback address
)

// Account is the clinic mailbox to import booking requests from.
type Account struct {
	Host     string
	Port     int    // 0: 993 for TLS, 143 otherwise
	Security string // SecurityTLS, SecurityStartTLS or SecurityPlain (loopback only)
	Username string
	Password string
	Folder   string // folder to watch; default "INBOX"
	Keyword  string // keyword added to imported messages; default "$FrontDesk"
	MoveTo   string // optional folder imported messages are moved to

	// CAFile is a PEM file of extra certificate authorities to trust; RootCAs,
	// if set, replaces the system pool. TrustedFingerprint is the SHA-256
	// fingerprint (hex, colons allowed) of a certificate an administrator
	// chose to trust explicitly, e.g. a self-signed one shown by Test.
	CAFile             string
	RootCAs            *x509.CertPool
	TrustedFingerprint string

	// Timeout bounds every network step and IMAP command. Default 30 s.
	Timeout time.Duration
}

const (
	defaultFolder  = "INBOX"
	defaultKeyword = "$FrontDesk"
	defaultTimeout = 30 * time.Second
)

func (a Account) withDefaults() Account {
	a.Host = strings.TrimSpace(a.Host)
	a.Security = strings.ToLower(strings.TrimSpace(a.Security))
	if a.Security == "" {
		a.Security = SecurityTLS
	}
	if a.Port == 0 {
		if a.Security == SecurityTLS {
			a.Port = 993
		} else {
			a.Port = 143
		}
	}
	if a.Folder == "" {
		a.Folder = defaultFolder
	}
	if a.Keyword == "" {
		a.Keyword = defaultKeyword
	}
	if a.Timeout <= 0 {
		a.Timeout = defaultTimeout
	}
	return a
}

// Step names the stage of talking to the mail server that failed.
type Step string

// The steps an Error can report.
const (
	StepSettings    Step = "settings"
	StepNameLookup  Step = "name lookup"
	StepConnect     Step = "connection"
	StepCertificate Step = "certificate"
	StepTLS         Step = "secure connection"
	StepLogin       Step = "login"
	StepFolder      Step = "folder"
	StepTimeout     Step = "timeout"
	StepServer      Step = "server"
)

// Error is a mailbox failure explained for the receptionist: Step says
// which stage failed and Message says what to do about it. For an
// untrusted certificate, CertSubject and CertFingerprint describe it so an
// administrator can decide to trust it (Account.TrustedFingerprint).
type Error struct {
	Step            Step
	Message         string
	CertSubject     string
	CertFingerprint string // SHA-256, upper-case hex pairs joined by ':'
	Err             error
}

var _ error = (*Error)(nil)

func (e *Error) Error() string { return "mailbox: " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

func newError(step Step, err error, format string, args ...any) *Error {
	return &Error{Step: step, Message: fmt.Sprintf(format, args...), Err: err}
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate in the
// form Test reports and TrustedFingerprint accepts.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func sameFingerprint(a, b string) bool {
	clean := func(s string) string {
		return strings.ToUpper(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
	}
	return a != "" && b != "" && clean(a) == clean(b)
}

// session is one logged-in connection with a watchdog: every command runs
// under the account's timeout, and a command that overruns closes the
// connection so nothing waits forever (go-imap v2 has no timeouts itself).
type session struct {
	acct    Account
	raw     net.Conn
	client  *imapclient.Client
	stopCtx func() bool

	mu       sync.Mutex
	timer    *time.Timer
	timedOut bool
	ctx      context.Context
}

// arm starts (or restarts) the watchdog for one command or one message.
func (s *session) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer == nil {
		s.timer = time.AfterFunc(s.acct.Timeout, s.expire)
	} else {
		s.timer.Reset(s.acct.Timeout)
	}
}

func (s *session) disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
}

func (s *session) expire() {
	s.mu.Lock()
	s.timedOut = true
	s.mu.Unlock()
	s.raw.Close()
}

// check turns a command error into an *Error, noticing a watchdog timeout
// or a cancelled context first.
func (s *session) check(err error, step Step, format string, args ...any) error {
	if err == nil {
		return nil
	}
	s.mu.Lock()
	timedOut := s.timedOut
	s.mu.Unlock()
	if timedOut {
		return newError(StepTimeout, err, "The mail server did not answer within %s.", s.acct.Timeout)
	}
	if s.ctx.Err() != nil {
		return newError(StepTimeout, s.ctx.Err(), "Checking the mailbox was stopped.")
	}
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		text := strings.TrimSpace(imapErr.Text)
		return newError(step, err, format+" The server said: %s", append(args, capString(text, 200))...)
	}
	return newError(step, err, format, args...)
}

// run runs one command under the watchdog.
func (s *session) run(step Step, fn func() error, format string, args ...any) error {
	s.arm()
	err := fn()
	s.disarm()
	return s.check(err, step, format, args...)
}

func (s *session) close() {
	if s.client != nil {
		s.arm()
		_ = s.client.Logout().Wait()
		s.disarm()
		s.client.Close()
	}
	s.raw.Close()
	if s.stopCtx != nil {
		s.stopCtx()
	}
}

// isLoopback reports whether host names only loopback addresses.
func isLoopback(ctx context.Context, host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return false
		}
	}
	return true
}

// tlsConfig verifies the server's certificate against the system or given
// roots, or accepts the one certificate an administrator trusted. On
// failure it records the certificate so the error can describe it.
func tlsConfig(a Account, failed *x509.Certificate) (*tls.Config, error) {
	roots := a.RootCAs
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, newError(StepSettings, err, "The certificate authority file %q could not be read.", a.CAFile)
		}
		if roots == nil {
			if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
				roots = x509.NewCertPool()
			}
		} else {
			roots = roots.Clone()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, newError(StepSettings, nil, "The certificate authority file %q holds no PEM certificate.", a.CAFile)
		}
	}
	return &tls.Config{
		ServerName:         a.Host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified below, so a trusted fingerprint can be accepted
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			leaf := cs.PeerCertificates[0]
			if sameFingerprint(Fingerprint(leaf.Raw), a.TrustedFingerprint) {
				return nil
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := leaf.Verify(x509.VerifyOptions{DNSName: a.Host, Roots: roots, Intermediates: inter})
			if err != nil {
				*failed = *leaf
			}
			return err
		},
	}, nil
}

func certError(a Account, cert *x509.Certificate, err error) *Error {
	fp := Fingerprint(cert.Raw)
	why := "it is not signed by an authority this computer trusts"
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &hostErr):
		why = fmt.Sprintf("it is for a different name than %q", a.Host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		why = "it has expired or is not valid yet"
	}
	return &Error{
		Step:            StepCertificate,
		Message:         fmt.Sprintf("The mail server's certificate is not trusted: %s. Certificate %q, SHA-256 fingerprint %s. An administrator may trust it explicitly if it is the clinic's own server.", why, cert.Subject.String(), fp),
		CertSubject:     cert.Subject.String(),
		CertFingerprint: fp,
		Err:             err,
	}
}

// connect opens, secures and logs in; the caller must close the session.
func connect(ctx context.Context, a Account) (*session, error) {
	a = a.withDefaults()
	switch {
	case a.Host == "":
		return nil, newError(StepSettings, nil, "No mail server is set.")
	case a.Port < 1 || a.Port > 65535:
		return nil, newError(StepSettings, nil, "The port %d is not valid.", a.Port)
	case a.Security != SecurityTLS && a.Security != SecurityStartTLS && a.Security != SecurityPlain:
		return nil, newError(StepSettings, nil, "The security setting %q is unknown; use tls or starttls.", a.Security)
	case a.Username == "":
		return nil, newError(StepSettings, nil, "No username is set for the mailbox.")
	}

	stepCtx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	if net.ParseIP(a.Host) == nil && !strings.EqualFold(a.Host, "localhost") {
		if _, err := net.DefaultResolver.LookupIPAddr(stepCtx, a.Host); err != nil {
			if stepCtx.Err() != nil && ctx.Err() == nil {
				return nil, newError(StepTimeout, err, "Looking up the mail server %q took longer than %s.", a.Host, a.Timeout)
			}
			return nil, newError(StepNameLookup, err, "The mail server name %q could not be found. Check the spelling and the internet connection.", a.Host)
		}
	}
	if a.Security == SecurityPlain && !isLoopback(stepCtx, a.Host) {
		return nil, newError(StepSettings, nil, "Unencrypted connections are only allowed to this computer; use TLS or STARTTLS for %q.", a.Host)
	}

	addr := net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	raw, err := (&net.Dialer{}).DialContext(stepCtx, "tcp", addr)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return nil, newError(StepConnect, err, "The mail server %s refused the connection. Check the port and security settings.", addr)
		case stepCtx.Err() != nil && ctx.Err() == nil:
			return nil, newError(StepTimeout, err, "Connecting to the mail server %s took longer than %s.", addr, a.Timeout)
		case ctx.Err() != nil:
			return nil, newError(StepTimeout, ctx.Err(), "Checking the mailbox was stopped.")
		}
		return nil, newError(StepConnect, err, "The mail server %s could not be reached. Check the internet connection.", addr)
	}

	s := &session{acct: a, raw: raw, ctx: ctx}
	s.stopCtx = context.AfterFunc(ctx, func() { raw.Close() })
	fail := func(err error) (*session, error) {
		s.client = nil
		s.close()
		return nil, err
	}

	opts := &imapclient.Options{WordDecoder: &mime.WordDecoder{CharsetReader: charsetReader}}
	var badCert x509.Certificate
	switch a.Security {
	case SecurityTLS:
		cfg, err := tlsConfig(a, &badCert)
		if err != nil {
			return fail(err)
		}
		cfg.NextProtos = []string{"imap"}
		tc := tls.Client(raw, cfg)
		s.arm()
		err = tc.HandshakeContext(ctx)
		s.disarm()
		if err != nil {
			if badCert.Raw != nil {
				return fail(certError(a, &badCert, err))
			}
			return fail(s.check(err, StepTLS, "A secure connection to the mail server could not be made. Check that port %d uses TLS.", a.Port))
		}
		s.client = imapclient.New(tc, opts)
	case SecurityStartTLS:
		cfg, err := tlsConfig(a, &badCert)
		if err != nil {
			return fail(err)
		}
		opts.TLSConfig = cfg
		var c *imapclient.Client
		err = s.run(StepTLS, func() error {
			var err error
			c, err = imapclient.NewStartTLS(raw, opts)
			return err
		}, "The mail server did not accept STARTTLS. Check the security setting and port.")
		if err != nil {
			if badCert.Raw != nil {
				return fail(certError(a, &badCert, err))
			}
			return fail(err)
		}
		s.client = c
	default:
		s.client = imapclient.New(raw, opts)
	}

	if err := s.run(StepServer, s.client.WaitGreeting, "The server at %s did not greet like a mail server.", addr); err != nil {
		return fail(err)
	}
	if s.client.State() != imap.ConnStateAuthenticated {
		if err := s.run(StepLogin, func() error { return s.client.Login(a.Username, a.Password).Wait() },
			"The mail server rejected the username or password."); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// selectFolder opens the watched folder and returns its UIDVALIDITY.
func (s *session) selectFolder(folder string, readOnly bool) (*imap.SelectData, error) {
	var data *imap.SelectData
	err := s.run(StepFolder, func() error {
		var err error
		data, err = s.client.Select(folder, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
		return err
	}, "The folder %q could not be opened on the mail server; check that it exists.", folder)
	return data, err
}

// Test connects, logs in and opens the folder, then logs out. A failure is
// an *Error whose Step and Message say in plain words what went wrong.
func Test(ctx context.Context, a Account) error {
	s, err := connect(ctx, a)
	if err != nil {
		return err
	}
	defer s.close()
	_, err = s.selectFolder(s.acct.Folder, true)
	return err
}
