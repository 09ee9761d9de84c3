package storage

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RequestStatus is where a booking request stands in the Requests inbox.
type RequestStatus string

// The statuses of a booking request.
const (
	RequestNew         RequestStatus = "new"          // imported, nobody has looked at it
	RequestNeedsReview RequestStatus = "needs-review" // the email could not be fully understood: a person must read it
	RequestLinked      RequestStatus = "linked"       // linked to a patient (PatientID)
	RequestDeclined    RequestStatus = "declined"     // not a booking, or turned down
	RequestDone        RequestStatus = "done"         // handled
)

// RequestStatuses lists every status in the order the inbox shows them.
var RequestStatuses = []RequestStatus{RequestNew, RequestNeedsReview, RequestLinked, RequestDeclined, RequestDone}

// Valid reports whether st is one of RequestStatuses.
func (st RequestStatus) Valid() bool { return slices.Contains(RequestStatuses, st) }

// BookingRequest is one appointment request imported from the clinic
// mailbox: what was understood of the email, where it came from and where
// it stands. The original email is kept beside it (BookingRequestRaw).
type BookingRequest struct {
	ID        uint64        `json:"id"`
	Status    RequestStatus `json:"status"`
	PatientID uint64        `json:"patient_id,omitempty"` // the patient it is linked to; kept when the request is then done or declined

	MessageID string    `json:"message_id"` // the email's Message-ID (without <>); never in a key
	Subject   string    `json:"subject,omitempty"`
	From      string    `json:"from,omitempty"`
	ReplyTo   string    `json:"reply_to,omitempty"`
	Received  time.Time `json:"received,omitzero"`
	Source    string    `json:"source,omitempty"` // "web-form", "scheduling-service", "calendar-invitation", "patient-email"

	Name        string `json:"name,omitempty"`
	GivenName   string `json:"given_name,omitempty"`
	FamilyName  string `json:"family_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`         // E.164 when it could be read, else as written
	DateOfBirth string `json:"date_of_birth,omitempty"` // YYYY-MM-DD

	Requested     time.Time `json:"requested,omitzero"`       // the date and time asked for; zero when none could be read
	RequestedText string    `json:"requested_text,omitempty"` // the same, as written
	Message       string    `json:"message,omitempty"`        // reason for the visit, in the patient's words
	BodyText      string    `json:"body_text,omitempty"`      // the email's whole readable text; the mailbox import leaves it empty and makes it from the raw email when shown
	Problems      []string  `json:"problems,omitempty"`       // why it needs review, in plain words

	Folder      string `json:"folder,omitempty"` // mailbox folder it was imported from
	UID         uint32 `json:"uid,omitempty"`    // its IMAP UID there, under UIDValidity
	UIDValidity uint32 `json:"uid_validity,omitempty"`
	Demo        bool   `json:"demo,omitempty"` // imported from the demo mailbox

	ImportedAt time.Time `json:"imported_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    uint64    `json:"version"` // 1 when imported, +1 on every change
}

// DisplayName is the requester's name as best known, or their email.
func (r BookingRequest) DisplayName() string {
	if r.Name != "" {
		return r.Name
	}
	if n := strings.TrimSpace(r.GivenName + " " + r.FamilyName); n != "" {
		return n
	}
	return r.Email
}

// ErrDuplicateRequest is what SaveBookingRequest's error wraps when the
// email was imported before.
var ErrDuplicateRequest = errors.New("storage: this email was imported before")

// DuplicateRequestError reports an email that was already imported, as the
// request with ID Existing.
type DuplicateRequestError struct {
	Existing uint64
}

var _ error = (*DuplicateRequestError)(nil)

func (e *DuplicateRequestError) Error() string {
	return fmt.Sprintf("storage: this email was imported before, as request %d", e.Existing)
}

// Unwrap makes errors.Is(err, ErrDuplicateRequest) true.
func (e *DuplicateRequestError) Unwrap() error { return ErrDuplicateRequest }

// RequestConflictError reports that a booking request was changed by
// someone else since it was read. Current holds the stored request.
type RequestConflictError struct {
	Current BookingRequest
}

var _ error = (*RequestConflictError)(nil)

func (e *RequestConflictError) Error() string {
	return "storage: someone else changed this booking request while you were looking at it; review it and try again"
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *RequestConflictError) Unwrap() error { return ErrConflict }

// requestKey is what open needs of a request, stored apart from it in
// request_keys so that requests (with their whole text) are not decoded at
// open.
type requestKey struct {
	MessageID string        `json:"m"`
	Status    RequestStatus `json:"s"`
}

// requestIndex answers HasMessageID and the counts from memory. It is
// guarded by Store.mu.
type requestIndex struct {
	byMessageID map[string]uint64
	status      map[uint64]RequestStatus
}

func newRequestIndex() *requestIndex {
	return &requestIndex{byMessageID: map[string]uint64{}, status: map[uint64]RequestStatus{}}
}

func (x *requestIndex) put(id uint64, k requestKey) {
	x.byMessageID[k.MessageID] = id
	x.status[id] = k.Status
}

// buildRequestIndex reads every request's key record into a new index.
func (s *Store) buildRequestIndex() error {
	x := newRequestIndex()
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRequestKeys).ForEach(func(k, v []byte) error {
			var rk requestKey
			if err := s.unseal(v, &rk, "booking request key", btoi(k)); err != nil {
				return err
			}
			x.put(btoi(k), rk)
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.reqs = x
	s.mu.Unlock()
	return nil
}

func migrateRequestBuckets(_ *Store, tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketRequests, bucketRequestRaw, bucketRequestKeys} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// MessageIDOf names an email that has no Message-ID by its content, as the
// mailbox import does: "sha256:" and the hex SHA-256 of the raw message.
func MessageIDOf(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// normalizeMessageID trims spaces and the angle brackets of a Message-ID.
func normalizeMessageID(id string) string {
	return strings.Trim(strings.TrimSpace(id), "<>")
}

// HasMessageID reports whether an email with this Message-ID (with or
// without its angle brackets) was imported. It is answered from memory.
func (s *Store) HasMessageID(id string) bool {
	id = normalizeMessageID(id)
	if id == "" {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.reqs.byMessageID[id]
	return ok
}

// SaveBookingRequest saves a newly imported request with its raw email,
// setting r's ID, Version (1), ImportedAt (unless set) and UpdatedAt. An
// empty Status means RequestNew; an empty MessageID is made from the raw
// email (MessageIDOf). The raw email is sealed in its own bucket under the
// request's ID. An email already imported (same Message-ID) is not saved
// again: the error is a *DuplicateRequestError wrapping ErrDuplicateRequest.
func (s *Store) SaveBookingRequest(r *BookingRequest, raw []byte) error {
	q, err := prepareImport(r, raw)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	existing, dup := s.reqs.byMessageID[q.MessageID]
	s.mu.RUnlock()
	if dup {
		return &DuplicateRequestError{Existing: existing}
	}
	saved, err := s.importLocked([]BookingRequest{q}, [][]byte{raw}, MailSyncPosition{})
	if err != nil {
		return err
	}
	*r = saved[0]
	return nil
}

// RequestImport is one imported email for ImportBookingRequests: the
// request understood from it and the raw message.
type RequestImport struct {
	Request BookingRequest
	Raw     []byte
}

// MailSyncPosition is how far a mailbox folder has been imported: the
// folder's UIDVALIDITY and the highest UID done.
type MailSyncPosition struct {
	Folder      string
	UIDValidity uint32
	LastUID     uint32
}

// ImportBookingRequests saves a batch of imported requests as
// SaveBookingRequest does, all in one transaction (one write to disk for
// the batch), and, when pos.Folder is set, records that folder's sync
// position in the same transaction: the requests and the position reach
// the disk together or not at all. Emails already imported, in the store
// or earlier in the batch, are skipped. It returns the requests saved,
// with their IDs, in batch order.
func (s *Store) ImportBookingRequests(batch []RequestImport, pos MailSyncPosition) ([]BookingRequest, error) {
	reqs := make([]BookingRequest, len(batch)) // copies, set and returned by importLocked
	raws := make([][]byte, len(batch))
	for i := range batch {
		var err error
		if reqs[i], err = prepareImport(&batch[i].Request, batch[i].Raw); err != nil {
			return nil, err
		}
		raws[i] = batch[i].Raw
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	seen := make(map[string]bool, len(reqs))
	s.mu.RLock()
	n := 0
	for i := range reqs {
		id := reqs[i].MessageID
		if _, dup := s.reqs.byMessageID[id]; !dup && !seen[id] {
			seen[id] = true
			if n != i {
				reqs[n], raws[n] = reqs[i], raws[i]
			}
			n++
		}
	}
	s.mu.RUnlock()
	return s.importLocked(reqs[:n], raws[:n], pos)
}

// prepareImport copies r with its Message-ID (from raw when it has none)
// and status filled in, and checks it.
func prepareImport(r *BookingRequest, raw []byte) (BookingRequest, error) {
	q := *r
	q.Problems = slices.Clone(r.Problems)
	q.MessageID = normalizeMessageID(q.MessageID)
	if q.MessageID == "" {
		q.MessageID = MessageIDOf(raw)
	}
	if q.Status == "" {
		q.Status = RequestNew
	}
	return q, validateRequest(&q)
}

// importLocked writes prepared, new requests, each with its raw email
// (raws[i]), and the sync position in one transaction, and returns reqs
// with their IDs, times and versions set in place. The caller holds writeMu
// and has checked for duplicates; reqs is its own copy.
func (s *Store) importLocked(reqs []BookingRequest, raws [][]byte, pos MailSyncPosition) ([]BookingRequest, error) {
	now := time.Now().UTC()
	var a importArena
	defer a.release() // after the transaction: bbolt holds the arena's slices until it commits
	var plain []byte  // an encrypted store's JSON, sealed into the arena
	defer func() { clear(plain[:cap(plain)]) }()
	kr, _ := s.sealer.(*keyring)
	err := s.db.Update(func(tx *bolt.Tx) error {
		requests := appendOnly(tx.Bucket(bucketRequests))
		keys := appendOnly(tx.Bucket(bucketRequestKeys))
		rawBucket := appendOnly(tx.Bucket(bucketRequestRaw))
		// seal seals b into the arena: the keyring's values are written
		// there; any other sealer's come back as it made them (the
		// identity sealer's is b itself, which the caller keeps).
		seal := func(b []byte) ([]byte, error) {
			if kr == nil {
				return s.sealBytes(b)
			}
			out, err := kr.sealTo(a.room(len(b)+sealOverhead), b)
			if err != nil {
				return nil, s.sealError(err)
			}
			return a.keep(out), nil
		}
		for i := range reqs {
			q := &reqs[i]
			if q.ImportedAt.IsZero() {
				q.ImportedAt = now
			}
			q.UpdatedAt, q.Version = now, 1
			if q.Status == RequestLinked {
				if _, err := s.unsafeGetPatient(tx, q.PatientID); err != nil {
					return err
				}
			}
			id, err := requests.NextSequence()
			if err != nil {
				return err
			}
			q.ID = id
			key := a.key(id)
			// The request's JSON: into the arena when the sealer may
			// return it as it is, else into one buffer reused for
			// every request (cleared after the batch).
			var j []byte
			if kr == nil {
				j, err = appendRequestJSON(a.room(requestJSONSize(q)), q)
				j = a.keep(j)
			} else {
				j, err = appendRequestJSON(plain[:0], q)
				plain = j
			}
			if err != nil {
				return err
			}
			sealed, err := seal(j)
			if err != nil {
				return err
			}
			if err := requests.Put(key, sealed); err != nil {
				return err
			}
			if kr == nil {
				j = a.keep(appendRequestKeyJSON(a.room(requestKeyJSONSize(q.MessageID, q.Status)), requestKey{MessageID: q.MessageID, Status: q.Status}))
			} else {
				j = appendRequestKeyJSON(plain[:0], requestKey{MessageID: q.MessageID, Status: q.Status})
				plain = j
			}
			if sealed, err = seal(j); err != nil {
				return err
			}
			if err := keys.Put(key, sealed); err != nil {
				return err
			}
			if sealed, err = seal(raws[i]); err != nil {
				return err
			}
			if err := rawBucket.Put(key, sealed); err != nil {
				return err
			}
		}
		if pos.Folder == "" {
			return nil
		}
		m, err := s.unsafeMailSync(tx)
		if err != nil {
			return err
		}
		m[pos.Folder] = mailSyncPosition{UIDValidity: pos.UIDValidity, LastUID: pos.LastUID}
		return s.unsafePutMailSync(tx, m)
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	for i := range reqs {
		s.reqs.put(reqs[i].ID, requestKey{MessageID: reqs[i].MessageID, Status: reqs[i].Status})
	}
	s.mu.Unlock()
	return reqs, nil
}

// validateRequest checks what the store relies on.
func validateRequest(r *BookingRequest) error {
	if !r.Status.Valid() {
		return &ValidationError{Fields: []FieldError{{Field: "status", Msg: fmt.Sprintf("A booking request is new, needs-review, linked, declined or done, not %q.", r.Status)}}}
	}
	if r.Status == RequestLinked && r.PatientID == 0 {
		return &ValidationError{Fields: []FieldError{{Field: "patient_id", Msg: "Choose the patient to link this booking request to."}}}
	}
	return nil
}

// unsafePutRequest writes r and its key record under r.ID. It needs a write
// transaction. Both records are written with the reflection-free encoders of
// requestjson.go, which write json.Marshal's bytes.
func (s *Store) unsafePutRequest(tx *bolt.Tx, r *BookingRequest) error {
	plain, err := marshalRequest(r)
	if err != nil {
		return err
	}
	sealed, err := s.sealBytes(plain)
	if err != nil {
		return err
	}
	if err := appendOnly(tx.Bucket(bucketRequests)).Put(itob(r.ID), sealed); err != nil {
		return err
	}
	key, err := s.sealBytes(marshalRequestKey(requestKey{MessageID: r.MessageID, Status: r.Status}))
	if err != nil {
		return err
	}
	return appendOnly(tx.Bucket(bucketRequestKeys)).Put(itob(r.ID), key)
}

// unsafeGetRequest reads one request. It needs an open transaction.
func (s *Store) unsafeGetRequest(tx *bolt.Tx, id uint64) (BookingRequest, error) {
	var r BookingRequest
	raw := tx.Bucket(bucketRequests).Get(itob(id))
	if raw == nil {
		return r, notFound("booking request", id)
	}
	err := s.unseal(raw, &r, "booking request", id)
	return r, err
}

// BookingRequest returns the request with the ID; the error wraps
// ErrNotFound when there is none.
func (s *Store) BookingRequest(id uint64) (BookingRequest, error) {
	var r BookingRequest
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = s.unsafeGetRequest(tx, id)
		return err
	})
	return r, err
}

// BookingRequestRaw returns the original email of a request, unsealed; the
// error wraps ErrNotFound when there is no such request.
func (s *Store) BookingRequestRaw(id uint64) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		sealed := tx.Bucket(bucketRequestRaw).Get(itob(id))
		if sealed == nil {
			return notFound("booking request", id)
		}
		plain, err := s.sealer.Unseal(sealed)
		if err != nil {
			return &Error{Msg: fmt.Sprintf("cannot unseal the email of booking request %d: %v", id, err), Kind: ErrUnreadable}
		}
		out = slices.Clone(plain) // the identity sealer returns bbolt's own bytes
		return nil
	})
	return out, err
}

// BookingRequests returns the requests with the status (every request when
// status is ""), newest first: by when the email was received, then by ID.
// The result is never nil.
func (s *Store) BookingRequests(status RequestStatus) ([]BookingRequest, error) {
	if status != "" && !status.Valid() {
		return []BookingRequest{}, &Error{Msg: fmt.Sprintf("%q is not a booking request status; use new, needs-review, linked, declined or done", status), Kind: ErrInvalid}
	}
	s.mu.RLock()
	ids := make([]uint64, 0, len(s.reqs.status))
	for id, st := range s.reqs.status {
		if status == "" || st == status {
			ids = append(ids, id)
		}
	}
	s.mu.RUnlock()
	slices.Sort(ids)
	out := make([]BookingRequest, 0, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, id := range ids {
			r, err := s.unsafeGetRequest(tx, id)
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return []BookingRequest{}, err
	}
	slices.SortStableFunc(out, func(a, b BookingRequest) int {
		if c := b.Received.Compare(a.Received); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// BookingRequestCounts counts the requests in each status, every status
// present (zero included). It is answered from memory.
func (s *Store) BookingRequestCounts() map[RequestStatus]int {
	out := make(map[RequestStatus]int, len(RequestStatuses))
	for _, st := range RequestStatuses {
		out[st] = 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, st := range s.reqs.status {
		out[st]++
	}
	return out
}

// UpdateBookingRequest saves changes to a request (its extracted details,
// status, patient link). r.Version must be the version that was read, else
// nothing is written and the error is a *RequestConflictError holding the
// stored request. The Message-ID, where it was imported from and when never
// change. On success r.Version is incremented and r.UpdatedAt set.
func (s *Store) UpdateBookingRequest(r *BookingRequest) error {
	q := *r
	q.Problems = slices.Clone(r.Problems)
	if err := validateRequest(&q); err != nil {
		return err
	}
	return s.changeRequest(q.ID, q.Version, func(tx *bolt.Tx, stored *BookingRequest) error {
		q.MessageID, q.Folder, q.UID, q.UIDValidity, q.ImportedAt = stored.MessageID, stored.Folder, stored.UID, stored.UIDValidity, stored.ImportedAt
		*stored = q
		return nil
	}, r)
}

// LinkBookingRequest links a request to a patient and marks it linked.
// version must be the request's version that was read (else the error is a
// *RequestConflictError); the error wraps ErrNotFound when the request or
// the patient does not exist. Nothing is ever linked without this call.
func (s *Store) LinkBookingRequest(id, patientID uint64, version uint64) error {
	return s.changeRequest(id, version, func(tx *bolt.Tx, r *BookingRequest) error {
		r.Status, r.PatientID = RequestLinked, patientID
		return nil
	}, nil)
}

// SetBookingRequestStatus moves a request to another status. version must
// be the version that was read (else the error is a *RequestConflictError).
// Linking needs a patient: use LinkBookingRequest. Moving a request back to
// new or needs-review forgets its patient; done and declined keep it.
func (s *Store) SetBookingRequestStatus(id uint64, st RequestStatus, version uint64) error {
	if st == RequestLinked {
		return &Error{Msg: "a booking request is linked to a patient with LinkBookingRequest", Kind: ErrInvalid}
	}
	return s.changeRequest(id, version, func(tx *bolt.Tx, r *BookingRequest) error {
		r.Status = st
		if st == RequestNew || st == RequestNeedsReview {
			r.PatientID = 0
		}
		return nil
	}, nil)
}

// changeRequest reads a request, checks its version, lets change modify it,
// checks the result and writes it with the next version. With out set, the
// saved request is copied there.
func (s *Store) changeRequest(id, version uint64, change func(tx *bolt.Tx, r *BookingRequest) error, out *BookingRequest) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var saved BookingRequest
	err := s.db.Update(func(tx *bolt.Tx) error {
		stored, err := s.unsafeGetRequest(tx, id)
		if err != nil {
			return err
		}
		if stored.Version != version {
			return &RequestConflictError{Current: stored}
		}
		r := stored
		if err := change(tx, &r); err != nil {
			return err
		}
		r.ID = id
		if err := validateRequest(&r); err != nil {
			return err
		}
		if r.PatientID != 0 && r.PatientID != stored.PatientID {
			if _, err := s.unsafeGetPatient(tx, r.PatientID); err != nil {
				return err
			}
		}
		r.UpdatedAt, r.Version = time.Now().UTC(), stored.Version+1
		saved = r
		return s.unsafePutRequest(tx, &r)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.reqs.put(saved.ID, requestKey{MessageID: saved.MessageID, Status: saved.Status})
	s.mu.Unlock()
	if out != nil {
		*out = saved
	}
	return nil
}

// mailSyncPosition is how far one folder has been imported.
type mailSyncPosition struct {
	UIDValidity uint32 `json:"uid_validity"`
	LastUID     uint32 `json:"last_uid"`
}

// unsafeMailSync reads every folder's position. It needs an open transaction.
func (s *Store) unsafeMailSync(tx *bolt.Tx) (map[string]mailSyncPosition, error) {
	out := map[string]mailSyncPosition{}
	raw := tx.Bucket(bucketSettings).Get(keyMailSync)
	if raw == nil {
		return out, nil
	}
	plain, err := s.sealer.Unseal(raw)
	if err != nil {
		return nil, &Error{Msg: "cannot unseal the mailbox sync positions: " + err.Error(), Kind: ErrUnreadable}
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, &Error{Msg: "the mailbox sync positions are damaged: " + err.Error(), Kind: ErrUnreadable}
	}
	return out, nil
}

func (s *Store) unsafePutMailSync(tx *bolt.Tx, m map[string]mailSyncPosition) error {
	sealed, err := s.seal(m)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSettings).Put(keyMailSync, sealed)
}

// MailSyncState returns a mailbox folder's UIDVALIDITY and the highest UID
// imported from it: 0, 0 before its first import.
func (s *Store) MailSyncState(folder string) (uidValidity, lastUID uint32, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		m, err := s.unsafeMailSync(tx)
		if err != nil {
			return err
		}
		pos := m[folder]
		uidValidity, lastUID = pos.UIDValidity, pos.LastUID
		return nil
	})
	return uidValidity, lastUID, err
}

// SaveMailSyncState records how far a folder has been imported.
func (s *Store) SaveMailSyncState(folder string, uidValidity, lastUID uint32) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.db.Update(func(tx *bolt.Tx) error {
		m, err := s.unsafeMailSync(tx)
		if err != nil {
			return err
		}
		m[folder] = mailSyncPosition{UIDValidity: uidValidity, LastUID: lastUID}
		return s.unsafePutMailSync(tx, m)
	})
}
