package mailbox

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"

	"frontdesk/storage"
)

// This file joins the mailbox to the clinic store: the store keeps the
// account, the sync positions and the imported requests; the mailbox
// imports and matches. The store never imports the mailbox.

// StoreState is the State that Sync keeps in the clinic store: sync
// positions per folder, and each request with its original email (sealed).
// A request Front Desk could not fully understand is saved as
// needs-review, every other one as new.
//
// It is a Flusher: requests wait in memory until Sync flushes them after
// each batch of messages, and are then written in one transaction with the
// folder's position, so a batch costs one disk write and an interruption
// never leaves the position ahead of the requests. Use it by pointer; one
// StoreState may serve many Sync passes (Watch), one at a time.
type StoreState struct {
	Store *storage.Store
	// Demo marks the requests saved as coming from the demo mailbox
	// (set it when the account is storage.MailAccount.Demo).
	Demo bool

	// writeMu is held while a batch is written: batches reach the disk
	// one at a time, in the order they were taken.
	writeMu sync.Mutex

	mu           sync.Mutex
	pending      []storage.RequestImport
	pendingIDs   map[string]bool
	pendingBytes int
	pos          storage.MailSyncPosition // the position to write with the pending requests
	posDirty     bool
	writing      map[string]bool // Message-IDs of the batch being written
	// spare and spareIDs are a written batch's slice and set, emptied,
	// for the next batch to fill: a batch of hundreds of requests (about
	// 500 bytes each) does not grow its slice and set from nothing again.
	spare    []storage.RequestImport
	spareIDs map[string]bool
	// failed is why a batch could not be written. Nothing more is
	// written in this pass (a later batch would carry the position past
	// the lost one); the next pass (SyncState) starts over from the disk.
	failed error
}

var (
	_ State   = (*StoreState)(nil)
	_ Flusher = (*StoreState)(nil)
)

// flushBytes bounds the memory pending requests may take between flushes.
const flushBytes = 32 << 20

// maxSpare is the longest written batch whose slice is kept for the next.
const maxSpare = 1024

// SyncState returns the folder's UIDVALIDITY and last imported UID.
func (s *StoreState) SyncState(folder string) (uidValidity, lastUID uint32, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = nil
	if s.posDirty && s.pos.Folder == folder {
		return s.pos.UIDValidity, s.pos.LastUID, nil
	}
	return s.Store.MailSyncState(folder)
}

// SaveSyncState records progress; it reaches the disk with the next Flush.
func (s *StoreState) SaveSyncState(folder string, uidValidity, lastUID uint32) error {
	s.mu.Lock()
	if s.posDirty && s.pos.Folder != folder {
		s.mu.Unlock()
		if err := s.Flush(); err != nil {
			return err
		}
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	s.pos = storage.MailSyncPosition{Folder: folder, UIDValidity: uidValidity, LastUID: lastUID}
	s.posDirty = true
	return nil
}

// HasMessageID reports whether the email was imported before, or is
// waiting to be written, or being written.
func (s *StoreState) HasMessageID(id string) bool {
	key := strings.Trim(strings.TrimSpace(id), "<>")
	s.mu.Lock()
	waiting := s.pendingIDs[key] || s.writing[key]
	s.mu.Unlock()
	return waiting || s.Store.HasMessageID(id)
}

// SaveRequest keeps a request with its raw email for the next Flush. The
// email's readable text (r.BodyText) is not stored beside the raw email it
// comes from: RequestText makes it again when the request is shown. That
// is a fifth of the bytes an import writes (1.5 MB of 7.8 MB for 2,000
// requests) and ~10 ms of its 200.
func (s *StoreState) SaveRequest(r Request, raw []byte) error {
	b := BookingFromRequest(r)
	b.BodyText = ""
	b.Demo = s.Demo
	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		return s.failed
	}
	if s.pendingIDs == nil {
		s.pendingIDs, s.spareIDs = s.spareIDs, nil
		if s.pendingIDs == nil {
			s.pendingIDs = map[string]bool{}
		}
	}
	if s.pending == nil {
		s.pending, s.spare = s.spare, nil
	}
	s.pending = append(s.pending, storage.RequestImport{Request: b, Raw: raw})
	s.pendingIDs[strings.Trim(strings.TrimSpace(b.MessageID), "<>")] = true
	s.pendingBytes += len(raw)
	full := s.pendingBytes > flushBytes
	s.mu.Unlock()
	if full {
		return s.Flush()
	}
	return nil
}

// Flush writes the waiting requests and the position in one transaction.
// It may run while another goroutine saves the next requests (Sync writes
// a batch while it saves the next one): it takes what waits when it
// starts. After a failure nothing waits any more and nothing more is
// written in this pass: neither was written, so the next Sync fetches
// those messages again.
func (s *StoreState) Flush() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	if s.failed != nil {
		s.pending, s.pendingIDs, s.pendingBytes = nil, nil, 0
		s.pos, s.posDirty = storage.MailSyncPosition{}, false
		s.mu.Unlock()
		return s.failed
	}
	batch, ids, dirty := s.pending, s.pendingIDs, s.posDirty
	var pos storage.MailSyncPosition
	if dirty {
		pos = s.pos
	}
	s.pending, s.pendingIDs, s.pendingBytes = nil, nil, 0
	s.pos, s.posDirty = storage.MailSyncPosition{}, false
	s.writing = ids
	s.mu.Unlock()
	if len(batch) == 0 && !dirty {
		return nil
	}
	_, err := s.Store.ImportBookingRequests(batch, pos) // keeps nothing of batch
	clear(batch)                                        // the raw emails are not held past their write
	s.mu.Lock()
	s.writing = nil
	clear(ids)
	if s.spare == nil && batch != nil && cap(batch) <= maxSpare {
		s.spare = batch[:0]
	}
	if s.spareIDs == nil && ids != nil {
		s.spareIDs = ids
	}
	if err != nil {
		s.failed = err
	}
	s.mu.Unlock()
	return err
}

// RequestText returns the readable text of a stored request's email, which
// the receptionist reads beside the request: the text stored with it by
// versions that kept it, else the text ParseRequest reads from the raw
// email kept with it (StoreState stores it once). Reading and parsing one
// email takes well under a millisecond.
func RequestText(st *storage.Store, r storage.BookingRequest) (string, error) {
	if r.BodyText != "" {
		return r.BodyText, nil
	}
	raw, err := st.BookingRequestRaw(r.ID)
	if err != nil {
		return "", err
	}
	return ParseRequest(raw, ParseOptions{DefaultRegion: st.Region()}).BodyText, nil
}

// BookingFromRequest is the store's record of a parsed request: status
// needs-review when a person must read it, else new.
func BookingFromRequest(r Request) storage.BookingRequest {
	status := storage.RequestNew
	if r.NeedsReview {
		status = storage.RequestNeedsReview
	}
	return storage.BookingRequest{
		Status: status, MessageID: r.MessageID, Subject: r.Subject, From: r.From, ReplyTo: r.ReplyTo,
		Received: r.Received, Source: string(r.Source),
		Name: r.Name, GivenName: r.GivenName, FamilyName: r.FamilyName, Email: r.Email, Phone: r.Phone,
		DateOfBirth: r.DateOfBirth, Requested: r.Requested, RequestedText: r.RequestedText,
		Message: r.Message, BodyText: r.BodyText, Problems: append([]string(nil), r.Problems...),
		Folder: r.Folder, UID: r.UID, UIDValidity: r.UIDValidity,
	}
}

// requestFromBooking turns a stored request back into what matching reads.
func requestFromBooking(b storage.BookingRequest) Request {
	return Request{
		MessageID: b.MessageID, Subject: b.Subject, From: b.From, ReplyTo: b.ReplyTo,
		Received: b.Received, Source: Source(b.Source),
		Name: b.Name, GivenName: b.GivenName, FamilyName: b.FamilyName, Email: b.Email, Phone: b.Phone,
		DateOfBirth: b.DateOfBirth, Requested: b.Requested, RequestedText: b.RequestedText,
		Message: b.Message, BodyText: b.BodyText, NeedsReview: b.Status == storage.RequestNeedsReview,
		Problems: b.Problems, Folder: b.Folder, UID: b.UID, UIDValidity: b.UIDValidity,
	}
}

// StoreCandidates is the CandidateSource backed by the store's patient
// search.
type StoreCandidates struct {
	Store *storage.Store
}

var _ CandidateSource = StoreCandidates{}

// Search returns the patients the store's search finds for query.
func (c StoreCandidates) Search(query string, limit int) []Person {
	results := c.Store.Search(query, limit)
	out := make([]Person, 0, len(results))
	for _, res := range results {
		p := res.Patient
		person := Person{ID: p.ID, GivenName: p.GivenName, FamilyName: p.FamilyName, DateOfBirth: p.DateOfBirth, Email: p.Email}
		for _, ph := range p.Phones {
			if ph.E164 != "" {
				person.Phones = append(person.Phones, ph.E164)
			} else {
				person.Phones = append(person.Phones, ph.Number)
			}
		}
		out = append(out, person)
	}
	return out
}

// Candidates ranks the patients a stored request may be about, best first,
// with their reasons (see MatchPatients). An empty region means the store's.
// It only suggests: nothing is linked.
func Candidates(st *storage.Store, r storage.BookingRequest, region string) []Match {
	if region == "" {
		region = st.Region()
	}
	return MatchPatients(requestFromBooking(r), StoreCandidates{Store: st}, region)
}

// AccountFromStore is the Account for the mail account kept in the store.
// Its CA certificates (CAPEM) are trusted on top of the system's.
func AccountFromStore(m storage.MailAccount) Account {
	a := Account{
		Host: m.Host, Port: m.Port, Security: m.Security, Username: m.Username, Password: m.Password,
		Folder: m.Folder, Keyword: m.Keyword, MoveTo: m.MoveTo,
		TrustedFingerprint: m.TrustedFingerprint, Timeout: m.Timeout,
	}
	if strings.TrimSpace(m.CAPEM) != "" {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		roots.AppendCertsFromPEM([]byte(m.CAPEM))
		a.RootCAs = roots
	}
	return a
}

// StoreAccount is the store's record of an Account; CAFile is not read (the
// caller puts the file's contents in CAPEM).
func StoreAccount(a Account) storage.MailAccount {
	return storage.MailAccount{
		Host: a.Host, Port: a.Port, Security: a.Security, Username: a.Username, Password: a.Password,
		Folder: a.Folder, Keyword: a.Keyword, MoveTo: a.MoveTo,
		TrustedFingerprint: a.TrustedFingerprint, Timeout: a.Timeout,
	}
}

// ErrNoAccount is what SyncStore's error wraps when no mailbox is set up.
var ErrNoAccount = errors.New("mailbox: no mailbox is set up")

// SyncStore runs one Sync pass of the store's mail account into the store.
// Phone numbers and dates are read with the store's region unless
// opts.Parse says otherwise.
func SyncStore(ctx context.Context, st *storage.Store, opts SyncOptions) (SyncReport, error) {
	m, ok, err := st.MailAccount()
	if err != nil {
		return SyncReport{}, err
	}
	if !ok {
		return SyncReport{}, &Error{Step: StepSettings, Message: "No mailbox is set up yet.", Err: ErrNoAccount}
	}
	if opts.Parse.DefaultRegion == "" {
		opts.Parse.DefaultRegion = st.Region()
	}
	return Sync(ctx, AccountFromStore(m), &StoreState{Store: st, Demo: m.Demo}, opts)
}

// StartDemoInto starts the demo mailbox (StartDemo) and makes it the
// store's mail account, marked Demo, so the app's usual background check
// imports its sample requests (marked demo too). A real account is never
// replaced: when one is set, nothing starts and the error says why. stop
// ends the demo mailbox and removes its account from the store (the
// imported requests stay; a later demo finds them already imported); call
// it before closing the store.
func StartDemoInto(ctx context.Context, st *storage.Store) (stop func(), err error) {
	a, stopDemo, err := StartDemo(ctx)
	if err != nil {
		return nil, err
	}
	m := StoreAccount(a)
	saved, err := st.SaveDemoMailAccount(m)
	if err != nil || !saved {
		stopDemo()
		if err == nil {
			err = &Error{Step: StepSettings, Message: "The clinic mailbox is set up, so the demo mailbox was not started: its sample requests would mix with real ones."}
		}
		return nil, err
	}
	return func() {
		stopDemo()
		_ = st.DeleteDemoMailAccount() // the store may already be closed; the next demo replaces a leftover
	}, nil
}
