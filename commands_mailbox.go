package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"frontdesk/mailbox"
	"frontdesk/storage"
)

// The mailbox and requests commands: set up the clinic mailbox, test it,
// trust its certificate, import booking requests once, and list them.

func init() {
	commands["mailbox"] = command{flags: mailboxFlags, run: runMailbox}
	commands["requests"] = command{
		flags: func(fs *flag.FlagSet) any {
			return requestsOpts{json: fs.Bool("json", false, "print JSON"), status: fs.String("status", "", "only requests with this status: new, needs-review, linked, declined or done")}
		},
		run: runRequests,
	}
}

const mailboxUsage = `mailbox needs one of:
  frontdesk mailbox set --host HOST [--port N] [--security tls|starttls] [--user USER] --password-env VAR
                        [--folder F] [--ca-file PEM] [--interval MIN] [--move-to F] [--timeout 30s]
  frontdesk mailbox show                      the settings (never the password)
  frontdesk mailbox test                      connect, log in and open the folder, step by step
  frontdesk mailbox trust --fingerprint SHA256   trust the server's own certificate
  frontdesk mailbox sync                      import new booking requests once`

// mailboxOpts are the flags of every mailbox subcommand; each subcommand
// refuses the flags of the others.
type mailboxOpts struct {
	fs                                        *flag.FlagSet
	host, security, user, passwordEnv, folder *string
	caFile, moveTo, fingerprint, password     *string
	port, interval                            *int
	timeout                                   *time.Duration
}

// mailboxFlagsOf names the flags each subcommand accepts (besides --data).
var mailboxFlagsOf = map[string][]string{
	"set":   {"host", "port", "security", "user", "password-env", "password", "folder", "ca-file", "interval", "move-to", "timeout"},
	"show":  {},
	"test":  {},
	"trust": {"fingerprint"},
	"sync":  {},
}

func mailboxFlags(fs *flag.FlagSet) any {
	return mailboxOpts{
		fs:          fs,
		host:        fs.String("host", "", "mail server name, e.g. imap.example.com"),
		port:        fs.Int("port", 0, "port (default 993 for tls, 143 for starttls)"),
		security:    fs.String("security", "", "tls or starttls (plain only to this computer); default tls"),
		user:        fs.String("user", "", "username of the clinic mailbox"),
		passwordEnv: fs.String("password-env", "", "name of the environment variable that holds the password"),
		password:    fs.String("password", "", "refused: the password is never taken on the command line"),
		folder:      fs.String("folder", "", "folder to import from (default INBOX)"),
		caFile:      fs.String("ca-file", "", "PEM file of a certificate authority to trust (its contents are kept)"),
		interval:    fs.Int("interval", 0, "check every MIN minutes while the window is open (default 10)"),
		moveTo:      fs.String("move-to", "", "move imported messages to this folder (default: leave them)"),
		timeout:     fs.Duration("timeout", 0, "longest wait for any step, e.g. 30s (default 30s)"),
		fingerprint: fs.String("fingerprint", "", "SHA-256 fingerprint of the server certificate to trust"),
	}
}

func runMailbox(env *cmdEnv, o any, args []string) error {
	opts := o.(mailboxOpts)
	if len(args) == 0 {
		return usageError(mailboxUsage)
	}
	sub := args[0]
	allowed, ok := mailboxFlagsOf[sub]
	if !ok {
		return usageError(fmt.Sprintf("unknown mailbox command %q\n%s", sub, mailboxUsage))
	}
	if len(args) > 1 {
		return usageError(fmt.Sprintf("mailbox %s takes no arguments besides its flags (got %q)", sub, args[1:]))
	}
	var wrong []string
	opts.fs.Visit(func(f *flag.Flag) {
		if f.Name != "data" && !slices.Contains(allowed, f.Name) {
			wrong = append(wrong, "--"+f.Name)
		}
	})
	if len(wrong) > 0 {
		return usageError(fmt.Sprintf("mailbox %s does not take %s\n%s", sub, strings.Join(wrong, ", "), mailboxUsage))
	}
	switch sub {
	case "set":
		return runMailboxSet(env, opts)
	case "show":
		return runMailboxShow(env)
	case "test":
		return runMailboxTest(env)
	case "trust":
		return runMailboxTrust(env, opts)
	default:
		return runMailboxSync(env)
	}
}

// isLoopbackHost reports whether host is this computer by its address or
// as "localhost", without asking a name server.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func runMailboxSet(env *cmdEnv, opts mailboxOpts) error {
	set := map[string]bool{}
	opts.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["password"] {
		return usageError("the password is never taken on the command line (it would stay in the shell history and show in the process list): put it in an environment variable and name it with --password-env VAR")
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	a, had, err := st.MailAccount()
	if err != nil {
		return err
	}
	if had && a.Demo {
		a, had = storage.MailAccount{}, false // the demo mailbox's settings are not a start
	}
	if !had && !set["host"] {
		return usageError("no mailbox is set up yet: frontdesk mailbox set --host HOST --user USER --password-env VAR [--security tls|starttls]")
	}
	if set["host"] {
		a.Host = strings.TrimSpace(*opts.host)
	}
	if set["security"] {
		a.Security = strings.ToLower(strings.TrimSpace(*opts.security))
	}
	if a.Security == "" {
		a.Security = storage.MailSecurityTLS
	}
	switch a.Security {
	case storage.MailSecurityTLS, storage.MailSecurityStartTLS:
	case storage.MailSecurityPlain:
		if !isLoopbackHost(a.Host) {
			return usageError(fmt.Sprintf("unencrypted (plain) connections are only allowed to this computer (127.0.0.1, ::1 or localhost); use --security tls or starttls for %s", a.Host))
		}
	default:
		return usageError(fmt.Sprintf("--security must be tls or starttls, not %q", a.Security))
	}
	if set["port"] {
		if *opts.port < 1 || *opts.port > 65535 {
			return usageError(fmt.Sprintf("--port %d is not a port; IMAP uses 993 with tls and 143 with starttls", *opts.port))
		}
		a.Port = *opts.port
	} else if set["security"] {
		a.Port = 0 // the new security's usual port
	}
	if set["user"] {
		a.Username = strings.TrimSpace(*opts.user)
	}
	if a.Username == "" {
		return usageError("the mailbox needs its username: --user USER")
	}
	if set["password-env"] {
		name := strings.TrimSpace(*opts.passwordEnv)
		password, ok := os.LookupEnv(name)
		if name == "" || !ok || password == "" {
			return usageError(fmt.Sprintf("the environment variable %q is not set or empty; put the mailbox password in it first", name))
		}
		a.Password = password
	}
	if a.Password == "" {
		return usageError("the mailbox needs its password: put it in an environment variable and name it with --password-env VAR")
	}
	if set["folder"] {
		a.Folder = strings.TrimSpace(*opts.folder)
	}
	if set["move-to"] {
		a.MoveTo = strings.TrimSpace(*opts.moveTo)
	}
	if set["interval"] {
		if *opts.interval < 1 {
			return usageError("--interval is a number of minutes, 1 or more")
		}
		a.IntervalMinutes = *opts.interval
	}
	if set["timeout"] {
		if *opts.timeout < time.Second {
			return usageError("--timeout must be at least 1s, e.g. --timeout 30s")
		}
		a.Timeout = *opts.timeout
	}
	if set["ca-file"] {
		if *opts.caFile == "" {
			a.CAPEM = "" // --ca-file "" forgets it
		} else {
			pem, err := os.ReadFile(*opts.caFile)
			if err != nil {
				return fmt.Errorf("cannot read the certificate authority file: %w", err)
			}
			a.CAPEM = string(pem)
		}
	}
	if err := st.SaveMailAccount(a); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Saved the mailbox %s. Check it with: frontdesk mailbox test\n", describeAccount(a))
	return nil
}

// describeAccount says which mailbox an account reaches, never its password.
func describeAccount(a storage.MailAccount) string {
	port := a.Port
	if port == 0 {
		port = 993
		if a.Security != storage.MailSecurityTLS {
			port = 143
		}
	}
	folder := a.Folder
	if folder == "" {
		folder = "INBOX"
	}
	return fmt.Sprintf("%s at %s (%s), folder %s", a.Username, net.JoinHostPort(a.Host, fmt.Sprint(port)), a.Security, folder)
}

// openAccount opens the store and reads its mail account; the caller
// closes the store.
func openAccount(env *cmdEnv) (*storage.Store, storage.MailAccount, error) {
	st, err := env.openStore()
	if err != nil {
		return nil, storage.MailAccount{}, err
	}
	a, ok, err := st.MailAccount()
	if err == nil && !ok {
		err = errors.New("no mailbox is set up yet: frontdesk mailbox set --host HOST --user USER --password-env VAR")
	}
	if err != nil {
		st.Close()
		return nil, a, err
	}
	return st, a, nil
}

func runMailboxShow(env *cmdEnv) error {
	st, a, err := openAccount(env)
	if err != nil {
		return err
	}
	defer st.Close()
	w := env.stdout
	fmt.Fprintf(w, "Mailbox:     %s\n", describeAccount(a))
	if a.Demo {
		fmt.Fprintln(w, "             (the demo mailbox inside the app)")
	}
	password := "not set"
	if a.Password != "" {
		password = "set (kept sealed in the store)"
	}
	fmt.Fprintf(w, "Password:    %s\n", password)
	keyword := a.Keyword
	if keyword == "" {
		keyword = "$FrontDesk"
	}
	fmt.Fprintf(w, "Marks with:  %s\n", keyword)
	if a.MoveTo != "" {
		fmt.Fprintf(w, "Moves to:    %s\n", a.MoveTo)
	}
	interval := a.IntervalMinutes
	if interval == 0 {
		interval = 10
	}
	fmt.Fprintf(w, "Checks:      every %d minutes while the window is open\n", interval)
	if a.CAPEM != "" {
		fmt.Fprintln(w, "Trusts:      the certificate authority from --ca-file")
	}
	if a.TrustedFingerprint != "" {
		fmt.Fprintf(w, "Trusts:      the certificate with SHA-256 fingerprint %s\n", a.TrustedFingerprint)
	}
	return nil
}

// interruptible is a context that ends on Ctrl+C, so a stuck server can be
// left without killing the program mid-write.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// testStep is one stage of mailbox.Test as the test command lists it.
type testStep struct {
	step  mailbox.Step
	label string
}

// testSteps are the stages of mailbox.Test in order.
func testSteps(a storage.MailAccount, folder string) []testStep {
	steps := []testStep{{mailbox.StepNameLookup, "name lookup"}, {mailbox.StepConnect, "connection"}}
	if a.Security != storage.MailSecurityPlain {
		steps = append(steps, testStep{mailbox.StepTLS, "secure connection"})
	}
	return append(steps, testStep{mailbox.StepLogin, "login"}, testStep{mailbox.StepFolder, "folder " + folder})
}

func runMailboxTest(env *cmdEnv) error {
	st, a, err := openAccount(env)
	if err != nil {
		return err
	}
	st.Close() // the test only talks to the server
	acct := mailbox.AccountFromStore(a)
	folder := acct.Folder
	if folder == "" {
		folder = "INBOX"
	}
	fmt.Fprintf(env.stdout, "Testing the mailbox %s\n", describeAccount(a))
	ctx, cancel := interruptible()
	defer cancel()
	err = mailbox.Test(ctx, acct)
	steps := testSteps(a, folder)
	var me *mailbox.Error
	failed := -1
	if errors.As(err, &me) {
		for i, s := range steps {
			if s.step == me.Step || (me.Step == mailbox.StepCertificate && s.step == mailbox.StepTLS) {
				failed = i
			}
		}
	}
	switch {
	case err == nil:
		for _, s := range steps {
			fmt.Fprintf(env.stdout, "  %-20s ok\n", s.label)
		}
		fmt.Fprintln(env.stdout, "The mailbox works.")
		return nil
	case failed >= 0:
		for _, s := range steps[:failed] {
			fmt.Fprintf(env.stdout, "  %-20s ok\n", s.label)
		}
		fmt.Fprintf(env.stdout, "  %-20s FAILED\n", steps[failed].label)
	default:
		fmt.Fprintln(env.stdout, "  FAILED")
	}
	if me != nil && me.CertFingerprint != "" {
		fmt.Fprintf(env.stdout, "The server's certificate is not trusted.\n  subject: %s\n  SHA-256: %s\n", me.CertSubject, me.CertFingerprint)
		fmt.Fprintf(env.stdout, "If this is the clinic's own mail server (ask whoever runs it to confirm the fingerprint), trust it with:\n  frontdesk mailbox trust --fingerprint %s\n", me.CertFingerprint)
	}
	return err
}

// normalizeFingerprint reads a SHA-256 fingerprint typed with or without
// colons, spaces or dashes, in either case, and writes it as Test shows it.
func normalizeFingerprint(s string) (string, bool) {
	clean := strings.ToUpper(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s)))
	if len(clean) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(clean); err != nil {
		return "", false
	}
	pairs := make([]string, 0, 32)
	for i := 0; i < len(clean); i += 2 {
		pairs = append(pairs, clean[i:i+2])
	}
	return strings.Join(pairs, ":"), true
}

func runMailboxTrust(env *cmdEnv, opts mailboxOpts) error {
	fp, ok := normalizeFingerprint(*opts.fingerprint)
	if !ok {
		return usageError("trust needs the certificate's SHA-256 fingerprint (64 hex digits, colons allowed) as frontdesk mailbox test shows it: frontdesk mailbox trust --fingerprint AB:CD:…")
	}
	st, a, err := openAccount(env)
	if err != nil {
		return err
	}
	defer st.Close()
	a.TrustedFingerprint = fp
	if err := st.SaveMailAccount(a); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Trusting the certificate of %s with SHA-256 fingerprint %s. Check with: frontdesk mailbox test\n", a.Host, fp)
	return nil
}

func runMailboxSync(env *cmdEnv) error {
	st, _, err := openAccount(env)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := interruptible()
	defer cancel()
	rep, err := mailbox.SyncStore(ctx, st, mailbox.SyncOptions{})
	if err != nil && rep == (mailbox.SyncReport{}) {
		return err
	}
	line := fmt.Sprintf("%d new, %d duplicates, %d need review", rep.New, rep.Duplicates, rep.NeedsReview)
	if rep.Errors > 0 {
		line += fmt.Sprintf(", %d could not be downloaded (kept to read in the mailbox)", rep.Errors)
	}
	if err != nil {
		line += " before the import stopped; the next sync continues from there"
	}
	fmt.Fprintln(env.stdout, line)
	return err
}

type requestsOpts struct {
	json   *bool
	status *string
}

// requestJSON is one request as `requests --json` prints it: the stored
// fields and its ranked candidates.
type requestJSON struct {
	storage.BookingRequest
	Candidates []candidateJSON `json:"candidates"`
}

type candidateJSON struct {
	PatientID  uint64   `json:"patient_id"`
	Name       string   `json:"name"`
	Reasons    []string `json:"reasons"`
	Confidence float64  `json:"confidence"`
}

func runRequests(env *cmdEnv, o any, args []string) error {
	opts := o.(requestsOpts)
	if len(args) > 0 {
		return usageError("requests takes no arguments: frontdesk requests [--json] [--status new|needs-review|linked|declined|done]")
	}
	status := storage.RequestStatus(strings.TrimSpace(*opts.status))
	if status != "" && !status.Valid() {
		return usageError(fmt.Sprintf("--status must be new, needs-review, linked, declined or done, not %q", status))
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.BookingRequests(status)
	if err != nil {
		return err
	}
	out := make([]requestJSON, 0, len(list))
	for _, r := range list {
		// The email's text, made from the stored email, where it is
		// printed: in JSON, and for a request needing review with no
		// message read from it.
		if *opts.json || (r.Status == storage.RequestNeedsReview && r.Message == "") {
			if r.BodyText, err = mailbox.RequestText(st, r); err != nil {
				return fmt.Errorf("booking request #%d: its original email could not be read: %w", r.ID, err)
			}
		}
		rj := requestJSON{BookingRequest: r, Candidates: []candidateJSON{}}
		for _, m := range mailbox.Candidates(st, r, "") {
			rj.Candidates = append(rj.Candidates, candidateJSON{PatientID: m.PatientID, Name: m.Name, Reasons: m.Reasons, Confidence: m.Confidence})
		}
		out = append(out, rj)
	}
	if *opts.json {
		return writeJSON(env.stdout, out)
	}
	printRequests(env.stdout, out, st.BookingRequestCounts(), status)
	return nil
}

// printRequests writes one block per request, then the counts.
func printRequests(w io.Writer, list []requestJSON, counts map[storage.RequestStatus]int, status storage.RequestStatus) {
	if len(list) == 0 {
		if status != "" {
			fmt.Fprintf(w, "No booking requests are %s.\n", status)
		} else {
			fmt.Fprintln(w, "No booking requests. Import them with: frontdesk mailbox sync")
		}
	}
	for _, r := range list {
		received := ""
		if !r.Received.IsZero() {
			received = r.Received.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(w, "#%d  %s  %s  %s  %q\n", r.ID, r.Status, received, r.Source, r.Subject)
		field := func(label, value string) {
			if value != "" {
				fmt.Fprintf(w, "    %-10s %s\n", label+":", value)
			}
		}
		field("name", r.DisplayName())
		field("email", r.Email)
		field("phone", r.Phone)
		field("born", r.DateOfBirth)
		wants := r.RequestedText
		if !r.Requested.IsZero() {
			wants = r.Requested.Local().Format("Mon 2 Jan 2006 15:04")
			if r.RequestedText != "" {
				wants += " (" + r.RequestedText + ")"
			}
		}
		field("wants", wants)
		field("message", oneLine(r.Message, 100))
		if r.PatientID != 0 {
			field("patient", fmt.Sprintf("#%d", r.PatientID))
		}
		if len(r.Problems) > 0 {
			field("review", strings.Join(r.Problems, " "))
		}
		if r.Status == storage.RequestNeedsReview && r.Message == "" {
			field("text", oneLine(r.BodyText, 100))
		}
		for i, c := range r.Candidates {
			label := ""
			if i == 0 {
				label = "may be"
			}
			fmt.Fprintf(w, "    %-10s #%d %s (%s) %.0f%%\n", label, c.PatientID, c.Name, strings.Join(c.Reasons, ", "), c.Confidence*100)
		}
	}
	parts := make([]string, 0, len(storage.RequestStatuses))
	total := 0
	for _, s := range storage.RequestStatuses {
		total += counts[s]
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	fmt.Fprintf(w, "\n%d booking requests: %s.\n", total, strings.Join(parts, ", "))
}

// oneLine squeezes text onto one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
