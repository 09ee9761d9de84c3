package storage

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MailAccount is the clinic mailbox that booking requests are imported
// from. It is kept sealed in the store, password included: the password is
// never written to a plain file or to preferences, and Export leaves the
// account out.
type MailAccount struct {
	Host     string `json:"host"`
	Port     int    `json:"port,omitempty"` // 0: 993 for TLS, 143 otherwise
	Security string `json:"security"`       // "tls", "starttls", or "plain" (only to this computer)
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	Folder   string `json:"folder,omitempty"`  // folder to watch; "" is INBOX
	Keyword  string `json:"keyword,omitempty"` // keyword added to imported messages; "" is $FrontDesk
	MoveTo   string `json:"move_to,omitempty"` // folder imported messages are moved to; "" leaves them

	// CAPEM holds the PEM certificates of extra authorities to trust (the
	// contents of the CA file, so the setting survives the file moving).
	CAPEM string `json:"ca_pem,omitempty"`
	// TrustedFingerprint is the SHA-256 fingerprint of a server certificate
	// an administrator chose to trust explicitly.
	TrustedFingerprint string `json:"trusted_fingerprint,omitempty"`

	IntervalMinutes int           `json:"interval_minutes,omitempty"` // background check every N minutes; 0: the app's default
	Timeout         time.Duration `json:"timeout,omitempty"`          // per network step; 0: the mailbox default

	// Demo marks the demo mailbox that runs inside the app; it may be
	// replaced or removed at any time, a real account never is by the demo.
	Demo bool `json:"demo,omitempty"`
}

// Mail account security settings.
const (
	MailSecurityTLS      = "tls"
	MailSecurityStartTLS = "starttls"
	MailSecurityPlain    = "plain"
)

// ValidateMailAccount lists what is wrong with a, in words an administrator
// can act on. Whether plain connections go only to this computer is checked
// when connecting (it needs the name looked up).
func ValidateMailAccount(a MailAccount) []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(a.Host) == "" {
		add("host", "Enter the mail server's name, for example imap.example.com.")
	}
	if a.Port < 0 || a.Port > 65535 {
		add("port", "The port %d is not valid; IMAP uses 993 with TLS and 143 with STARTTLS.", a.Port)
	}
	switch a.Security {
	case MailSecurityTLS, MailSecurityStartTLS, MailSecurityPlain:
	default:
		add("security", "Security must be tls or starttls, not %q.", a.Security)
	}
	if strings.TrimSpace(a.Username) == "" {
		add("username", "Enter the username the mail server knows the clinic mailbox by.")
	}
	if a.IntervalMinutes < 0 {
		add("interval_minutes", "The check interval cannot be negative.")
	}
	if a.Timeout < 0 {
		add("timeout", "The timeout cannot be negative.")
	}
	if a.CAPEM != "" && !holdsCertificate(a.CAPEM) {
		add("ca_pem", "The certificate authority file holds no PEM certificate.")
	}
	return errs
}

// holdsCertificate reports whether text holds at least one PEM certificate
// that parses.
func holdsCertificate(text string) bool {
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return false
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err == nil {
			return true
		}
	}
}

// MailAccount returns the mail account and true, or false when none is set.
func (s *Store) MailAccount() (MailAccount, bool, error) {
	var a MailAccount
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		a, ok, err = s.unsafeMailAccount(tx)
		return err
	})
	return a, ok, err
}

func (s *Store) unsafeMailAccount(tx *bolt.Tx) (MailAccount, bool, error) {
	var a MailAccount
	raw := tx.Bucket(bucketSettings).Get(keyMailAccount)
	if raw == nil {
		return a, false, nil
	}
	err := s.unseal(raw, &a, "mail account", 0)
	return a, err == nil, err
}

// SaveMailAccount validates and saves the mail account, replacing the one
// before. Pointing it at another server, port or user forgets the folders'
// sync positions (that mailbox numbers its messages differently); emails
// imported before are still recognised by their Message-ID.
func (s *Store) SaveMailAccount(a MailAccount) error {
	a.Host = strings.TrimSpace(a.Host)
	a.Username = strings.TrimSpace(a.Username)
	a.Security = strings.ToLower(strings.TrimSpace(a.Security))
	a.Folder = strings.TrimSpace(a.Folder)
	if errs := ValidateMailAccount(a); len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		old, had, err := s.unsafeMailAccount(tx)
		if err != nil {
			return err
		}
		return s.unsafeReplaceMailAccount(tx, old, had, a)
	})
}

// unsafeReplaceMailAccount puts a in place of old (had: there was one),
// forgetting the sync positions when a is another mailbox.
func (s *Store) unsafeReplaceMailAccount(tx *bolt.Tx, old MailAccount, had bool, a MailAccount) error {
	if had && !sameMailbox(old, a) {
		if err := tx.Bucket(bucketSettings).Delete(keyMailSync); err != nil {
			return err
		}
	}
	sealed, err := s.seal(a)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSettings).Put(keyMailAccount, sealed)
}

// DeleteMailAccount removes the mail account and the sync positions; the
// imported requests stay.
func (s *Store) DeleteMailAccount() error {
	return s.deleteMailAccount(false)
}

// SaveDemoMailAccount saves a as the demo mailbox's account (Demo set),
// unless a real account is set: then nothing changes and saved is false.
func (s *Store) SaveDemoMailAccount(a MailAccount) (saved bool, err error) {
	a.Demo = true
	if errs := ValidateMailAccount(a); len(errs) > 0 {
		return false, &ValidationError{Fields: errs}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err = s.db.Update(func(tx *bolt.Tx) error {
		old, had, err := s.unsafeMailAccount(tx)
		if err != nil || (had && !old.Demo) {
			return err
		}
		saved = true
		return s.unsafeReplaceMailAccount(tx, old, had, a)
	})
	return saved && err == nil, err
}

// DeleteDemoMailAccount removes the demo mailbox's account and the sync
// positions, leaving a real account alone.
func (s *Store) DeleteDemoMailAccount() error {
	return s.deleteMailAccount(true)
}

func (s *Store) deleteMailAccount(onlyDemo bool) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		old, had, err := s.unsafeMailAccount(tx)
		if err != nil || !had || (onlyDemo && !old.Demo) {
			return err
		}
		if err := tx.Bucket(bucketSettings).Delete(keyMailSync); err != nil {
			return err
		}
		return tx.Bucket(bucketSettings).Delete(keyMailAccount)
	})
}

// sameMailbox reports whether two accounts reach the same mailbox.
func sameMailbox(a, b MailAccount) bool {
	return strings.EqualFold(a.Host, b.Host) && a.Port == b.Port && a.Username == b.Username && a.Demo == b.Demo
}
