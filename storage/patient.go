package storage

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Phone is one of a patient's phone numbers.
type Phone struct {
	Label  string `json:"label,omitempty"` // "mobile", "home", "work", …
	Number string `json:"number"`          // as typed
	E164   string `json:"e164,omitempty"`  // set by the store on every save: "+15551234567", or "" when Number cannot be read
}

// EmergencyContact is who to call in an emergency.
type EmergencyContact struct {
	Name         string `json:"name,omitempty"`
	Relationship string `json:"relationship,omitempty"`
	Phone        string `json:"phone,omitempty"`
}

// Patient is one person registered at the clinic.
type Patient struct {
	ID            uint64           `json:"id"`
	GivenName     string           `json:"given_name"`
	FamilyName    string           `json:"family_name"`
	PreferredName string           `json:"preferred_name,omitempty"`
	DateOfBirth   string           `json:"date_of_birth"` // YYYY-MM-DD
	Sex           string           `json:"sex,omitempty"` // "female", "male", "other", "unknown" or ""
	Phones        []Phone          `json:"phones,omitempty"`
	Email         string           `json:"email,omitempty"`
	Address       string           `json:"address,omitempty"`
	Language      string           `json:"language,omitempty"`
	Emergency     EmergencyContact `json:"emergency"`
	Notes         string           `json:"notes,omitempty"`
	Demo          bool             `json:"demo,omitempty"` // synthetic demo data from Seed
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
	Version       uint64           `json:"version"` // 1 when created, +1 on every update
}

// Sex values the store keeps.
var sexValues = []string{"female", "male", "other", "unknown"}

// DisplayName is the name to show: "Zoë Nguyễn", `Robert "Bob" Smith`, or
// family name first without a space for names written in ideographs ("李小龙").
func (p Patient) DisplayName() string {
	given, family := strings.TrimSpace(p.GivenName), strings.TrimSpace(p.FamilyName)
	if isIdeographString(given+family) && !strings.ContainsAny(given+family, " ") {
		return family + given
	}
	if pref := strings.TrimSpace(p.PreferredName); pref != "" && !strings.EqualFold(pref, given) && given != "" {
		given += " “" + pref + "”"
	}
	return strings.TrimSpace(given + " " + family)
}

// normalizePatient trims every field, writes the date of birth as
// YYYY-MM-DD, the sex as one of sexValues, drops empty phone rows and sets
// each phone's E164.
func normalizePatient(p *Patient, region string, order DateOrder) {
	trim := func(s *string) { *s = strings.TrimSpace(*s) }
	for _, f := range []*string{&p.GivenName, &p.FamilyName, &p.PreferredName, &p.DateOfBirth, &p.Sex,
		&p.Email, &p.Address, &p.Language, &p.Emergency.Name, &p.Emergency.Relationship, &p.Emergency.Phone, &p.Notes} {
		trim(f)
	}
	if iso, ok := ParseDate(p.DateOfBirth, order); ok {
		p.DateOfBirth = iso
	}
	p.Sex = normalizeSex(p.Sex)
	phones := p.Phones[:0:0]
	for _, ph := range p.Phones {
		ph.Label, ph.Number = strings.TrimSpace(ph.Label), strings.TrimSpace(ph.Number)
		if ph.Number == "" {
			continue
		}
		ph.E164 = normalizePhone(ph.Number, region)
		phones = append(phones, ph)
	}
	p.Phones = phones
}

func normalizeSex(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f", "female", "woman", "w":
		return "female"
	case "m", "male", "man":
		return "male"
	case "o", "other", "x":
		return "other"
	case "u", "unknown":
		return "unknown"
	}
	return strings.TrimSpace(s)
}

// ValidatePatient lists what is wrong with p, in messages a receptionist
// can act on; nil means p can be saved. Phone numbers without a country code
// are read as numbers of region ("US", "GB", …). A date of birth may be typed
// as 1986-03-14, 03/14/1986 or 14.03.1986.
func ValidatePatient(p Patient, region string) []FieldError {
	return validatePatient(p, region, false)
}

// validatePatient is ValidatePatient; with normalized, p has been through
// normalizePatient and each phone's E164 says whether it could be read, so
// numbers are not parsed twice on a save.
func validatePatient(p Patient, region string, normalized bool) []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(p.GivenName) == "" && strings.TrimSpace(p.FamilyName) == "" {
		add("given_name", "Enter the patient's name: a given name, a family name or both.")
	}
	dob := strings.TrimSpace(p.DateOfBirth)
	switch iso, ok := ParseDate(dob, MDY); {
	case dob == "":
		add("date_of_birth", "Enter the date of birth, for example 1986-03-14.")
	case !ok:
		add("date_of_birth", "The date of birth %q is not a real date; type it as 1986-03-14 (year-month-day).", dob)
	case iso > time.Now().Format("2006-01-02"):
		add("date_of_birth", "The date of birth %s is in the future.", iso)
	case iso < "1900-01-01":
		add("date_of_birth", "The date of birth %s is before 1900; check the year.", iso)
	}
	if sex := normalizeSex(p.Sex); sex != "" && !contains(sexValues, sex) {
		add("sex", "Sex must be female, male, other or unknown (or left empty), not %q.", p.Sex)
	}
	if email := strings.TrimSpace(p.Email); email != "" && !validEmail(email) {
		add("email", "The email address %q does not look right; it should look like name@example.com.", email)
	}
	for i, ph := range p.Phones {
		if normalized && ph.E164 != "" {
			continue
		}
		if n := strings.TrimSpace(ph.Number); n != "" && normalizePhone(n, region) == "" {
			add(fmt.Sprintf("phones[%d]", i), "The phone number %q cannot be read; type it with its area code, or with + and the country code for a number abroad.", n)
		}
	}
	if n := strings.TrimSpace(p.Emergency.Phone); n != "" && normalizePhone(n, region) == "" {
		add("emergency.phone", "The emergency contact's phone number %q cannot be read; type it with its area code.", n)
	}
	return errs
}

func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Validate checks p with the store's phone region and date order.
func (s *Store) Validate(p Patient) []FieldError {
	region, order := s.Region(), s.DateOrder()
	normalizePatient(&p, region, order)
	return ValidatePatient(p, region)
}

// preparePatient returns a copy of p normalised with the store's region and
// date order, or why it cannot be saved.
func (s *Store) preparePatient(p Patient) (Patient, error) {
	p.Phones = append([]Phone(nil), p.Phones...)
	region, order := s.Region(), s.DateOrder()
	normalizePatient(&p, region, order)
	if errs := validatePatient(p, region, true); len(errs) > 0 {
		return p, &ValidationError{Fields: errs}
	}
	return p, nil
}

// indexEntry puts a saved patient's entry in the search index (the old one
// is replaced).
func (s *Store) indexEntry(e *entry) {
	s.mu.Lock()
	s.idx.putEntry(e)
	s.idx.finish()
	s.mu.Unlock()
}

// CreatePatient validates p and saves it as a new patient, setting its ID,
// Version (1) and timestamps. It does not refuse look-alikes: call
// DuplicateCandidates first and let the receptionist decide.
func (s *Store) CreatePatient(p *Patient) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	q, err := s.preparePatient(*p)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	q.CreatedAt, q.UpdatedAt, q.Version = now, now, 1
	var e *entry
	err = s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if e, err = s.unsafeInsertPatient(tx, &q); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionCreate, RecordKind: RecordPatient, RecordID: q.ID})
	})
	if err != nil {
		return err
	}
	s.indexEntry(e)
	*p = q
	return nil
}

// unsafeInsertPatient gives p the next ID and writes it with its search
// keys, returning its index entry. It needs a write transaction.
func (s *Store) unsafeInsertPatient(tx *bolt.Tx, p *Patient) (*entry, error) {
	b := appendOnly(tx.Bucket(bucketPatients))
	id, err := b.NextSequence()
	if err != nil {
		return nil, err
	}
	p.ID = id
	return s.unsafeWritePatient(tx, p)
}

// unsafeWritePatient writes p and its search keys under p.ID, returning its
// index entry. It needs a write transaction.
func (s *Store) unsafeWritePatient(tx *bolt.Tx, p *Patient) (*entry, error) {
	sealed, err := s.seal(p)
	if err != nil {
		return nil, err
	}
	if err := appendOnly(tx.Bucket(bucketPatients)).Put(itob(p.ID), sealed); err != nil {
		return nil, err
	}
	f := fieldsOf(p)
	e := makeEntry(&f)
	keys, err := s.sealBytes(e.encode())
	if err != nil {
		return nil, err
	}
	return e, appendOnly(tx.Bucket(bucketPatientKeys)).Put(itob(p.ID), keys)
}

// Patient returns the patient with the ID; the error wraps ErrNotFound when
// there is none.
func (s *Store) Patient(id uint64) (Patient, error) {
	var p Patient
	defer s.releaseLater()
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = s.unsafeGetPatient(tx, id)
		return err
	})
	return p, err
}

// unsafeGetPatient reads one patient. It needs an open transaction.
func (s *Store) unsafeGetPatient(tx *bolt.Tx, id uint64) (Patient, error) {
	var p Patient
	raw := tx.Bucket(bucketPatients).Get(itob(id))
	if raw == nil {
		return p, notFound("patient", id)
	}
	err := s.unseal(raw, &p, "patient", id)
	return p, err
}

// UpdatePatient saves changes to an existing patient. p.Version must be the
// version that was read; if someone saved the patient since, nothing is
// written and the error is a *ConflictError holding the stored patient. On
// success p.Version is incremented and p.UpdatedAt set.
func (s *Store) UpdatePatient(p *Patient) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	q, err := s.preparePatient(*p)
	if err != nil {
		return err
	}
	var e *entry
	err = s.db.Update(func(tx *bolt.Tx) error {
		stored, err := s.unsafeGetPatient(tx, q.ID)
		if err != nil {
			return err
		}
		if stored.Version != q.Version {
			return &ConflictError{Current: stored}
		}
		q.CreatedAt = stored.CreatedAt
		q.UpdatedAt = time.Now().UTC()
		q.Version = stored.Version + 1
		if e, err = s.unsafeWritePatient(tx, &q); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionUpdate, RecordKind: RecordPatient, RecordID: q.ID})
	})
	if err != nil {
		return err
	}
	s.indexEntry(e)
	*p = q
	return nil
}

// DeletePatient removes a patient. A patient with intake forms is never
// deleted: the error wraps ErrHasIntakes. Nor is one that booking requests
// are linked to (linked, done or declined with that patient): the error
// wraps ErrHasRequests, and the requests must be linked to someone else
// or moved back to new first, so that no request points at nobody.
func (s *Store) DeletePatient(id uint64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	n := len(s.idx.patientIntakes(id))
	var withPatient []uint64 // requests that may name a patient
	for rid, st := range s.reqs.status {
		if st != RequestNew && st != RequestNeedsReview {
			withPatient = append(withPatient, rid)
		}
	}
	s.mu.RUnlock()
	if n > 0 {
		forms := "intake forms"
		if n == 1 {
			forms = "an intake form"
		} else {
			forms = fmt.Sprintf("%d intake forms", n)
		}
		return &Error{Msg: fmt.Sprintf("this patient has %s, so their record cannot be deleted", forms), Kind: ErrHasIntakes}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPatients)
		if b.Get(itob(id)) == nil {
			return notFound("patient", id)
		}
		linked := 0
		for _, rid := range withPatient {
			r, err := s.unsafeGetRequest(tx, rid)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			if r.PatientID == id {
				linked++
			}
		}
		if linked > 0 {
			requests := "a booking request is"
			if linked > 1 {
				requests = fmt.Sprintf("%d booking requests are", linked)
			}
			return &Error{Msg: fmt.Sprintf("%s linked to this patient, so their record cannot be deleted; link them to another patient or move them back to new first", requests), Kind: ErrHasRequests}
		}
		if err := b.Delete(itob(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPatientKeys).Delete(itob(id)); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionDelete, RecordKind: RecordPatient, RecordID: id})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.idx.removePatient(id)
	s.idx.finish()
	s.mu.Unlock()
	return nil
}

// ListPatients returns up to limit patients in alphabetical order (family
// name, then given name, folded), starting at offset.
func (s *Store) ListPatients(offset, limit int) ([]Patient, error) {
	ids := s.pageIDs(offset, limit)
	return s.patientsByID(ids)
}

// patientsByID reads patients in the order given, skipping any deleted since.
func (s *Store) patientsByID(ids []uint64) ([]Patient, error) {
	out := make([]Patient, 0, len(ids))
	defer s.releaseLater()
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, id := range ids {
			p, err := s.unsafeGetPatient(tx, id)
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// patientMap reads the patients with the given IDs in one transaction, by
// ID; IDs no longer in the store are left out.
func (s *Store) patientMap(ids []uint64) (map[uint64]Patient, error) {
	patients, err := s.patientsByID(ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[uint64]Patient, len(patients))
	for _, p := range patients {
		byID[p.ID] = p
	}
	return byID, nil
}

// PatientCount is the number of patients in the store.
func (s *Store) PatientCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx.live
}
