package storage

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontdesk/forms"
)

// IntakeStatus says whether an intake is still being filled in.
type IntakeStatus string

// The statuses of an intake.
const (
	IntakeDraft     IntakeStatus = "draft"
	IntakeCompleted IntakeStatus = "completed"
)

// Intake is one patient's answers to one version of an intake form.
type Intake struct {
	ID              uint64             `json:"id"`
	PatientID       uint64             `json:"patient_id"`
	TemplateID      string             `json:"template_id"`
	TemplateVersion string             `json:"template_version"` // the version answered; the intake renders with it forever
	Answers         forms.Answers      `json:"answers"`
	Status          IntakeStatus       `json:"status"`
	RedFlags        forms.ScreenStatus `json:"red_flags"`                // set by the store at every save from the answers
	PositiveFlags   []string           `json:"positive_flags,omitempty"` // linkIds answered "yes", set with RedFlags
	AcknowledgedBy  string             `json:"acknowledged_by,omitempty"`
	AcknowledgedAt  time.Time          `json:"acknowledged_at,omitzero"`
	// IncompleteReason says why an intake was completed with red-flag items unanswered.
	IncompleteReason string    `json:"incomplete_reason,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	Version          uint64    `json:"version"`
	Demo             bool      `json:"demo,omitempty"`
}

// Urgent reports whether a red-flag item was answered "yes".
func (in Intake) Urgent() bool { return in.RedFlags == forms.ScreenUrgent }

// intakeLink is what the open path needs of an intake, stored apart from it
// in intake_patients so that intakes need not be decoded at open.
type intakeLink struct {
	patientID    uint64
	urgent       bool
	acknowledged bool
}

func linkFor(in *Intake) intakeLink {
	return intakeLink{patientID: in.PatientID, urgent: in.Urgent(), acknowledged: in.AcknowledgedBy != ""}
}

// encode is 8 bytes of patient ID then a flags byte (1 urgent, 2 acknowledged).
func (l intakeLink) encode() []byte {
	b := make([]byte, 9)
	binary.BigEndian.PutUint64(b, l.patientID)
	if l.urgent {
		b[8] |= 1
	}
	if l.acknowledged {
		b[8] |= 2
	}
	return b
}

func decodeIntakeLink(b []byte) (intakeLink, bool) {
	if len(b) != 9 {
		return intakeLink{}, false
	}
	return intakeLink{patientID: binary.BigEndian.Uint64(b), urgent: b[8]&1 != 0, acknowledged: b[8]&2 != 0}, true
}

// prepareIntake fills in the template version, status and red-flag screen,
// and checks the intake may be saved.
func prepareIntake(in *Intake, now time.Time) error {
	var t *forms.Template
	var err error
	if in.TemplateID == "" {
		in.TemplateID = forms.EvaluationID
	}
	if in.TemplateVersion == "" {
		t, err = forms.Current(in.TemplateID)
	} else {
		t, err = forms.Lookup(in.TemplateID, in.TemplateVersion)
	}
	if err != nil {
		return &Error{Msg: err.Error(), Kind: ErrInvalid}
	}
	in.TemplateVersion = t.Version
	if in.Status == "" {
		in.Status = IntakeDraft
	}
	if in.Status != IntakeDraft && in.Status != IntakeCompleted {
		return &ValidationError{Fields: []FieldError{{Field: "status", Msg: fmt.Sprintf("An intake is either draft or completed, not %q.", in.Status)}}}
	}
	if in.Answers == nil {
		in.Answers = forms.Answers{}
	}
	// Every saved answer fits its question (kind, range, options, known
	// question); unanswered questions are the completing screen's concern.
	if problems := forms.Validate(t, in.Answers, forms.Draft); len(problems) > 0 {
		fields := make([]FieldError, len(problems))
		for i, p := range problems {
			fields[i] = FieldError{Field: "answers." + p.LinkID, Msg: p.Msg}
		}
		return &ValidationError{Fields: fields}
	}
	screen := forms.ScreenRedFlags(t, in.Answers)
	in.RedFlags = screen.Status
	in.PositiveFlags = nil
	for _, it := range screen.Positive {
		in.PositiveFlags = append(in.PositiveFlags, it.LinkID)
	}
	in.AcknowledgedBy = strings.TrimSpace(in.AcknowledgedBy)
	in.IncompleteReason = strings.TrimSpace(in.IncompleteReason)
	if in.AcknowledgedBy == "" {
		in.AcknowledgedAt = time.Time{}
	} else if in.AcknowledgedAt.IsZero() {
		in.AcknowledgedAt = now
	}
	if in.Status == IntakeCompleted {
		switch {
		case in.RedFlags == forms.ScreenUrgent && in.AcknowledgedBy == "":
			return &ValidationError{Fields: []FieldError{{Field: "acknowledged_by", Msg: "The red-flag screen is positive: a staff member must acknowledge it before the intake is completed."}}}
		case in.RedFlags == forms.ScreenIncomplete && in.IncompleteReason == "":
			return &ValidationError{Fields: []FieldError{{Field: "incomplete_reason", Msg: "Some red-flag questions are unanswered: say why before completing the intake."}}}
		}
	}
	return nil
}

// CreateIntake saves a new intake for an existing patient, setting its ID,
// Version (1), timestamps and red-flag screen. An empty TemplateID means the
// evaluation form; an empty TemplateVersion means its newest version.
// Completing an intake needs a staff acknowledgement when it is urgent and an
// IncompleteReason when red-flag items are unanswered.
func (s *Store) CreateIntake(in *Intake) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	q := *in
	q.Answers = maps.Clone(in.Answers)
	now := time.Now().UTC()
	if err := prepareIntake(&q, now); err != nil {
		return err
	}
	q.CreatedAt, q.UpdatedAt, q.Version = now, now, 1
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPatients).Get(itob(q.PatientID)) == nil {
			return notFound("patient", q.PatientID)
		}
		if err := s.unsafeInsertIntake(tx, &q); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionCreate, RecordKind: RecordIntake, RecordID: q.ID})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.idx.addIntake(q.ID, linkFor(&q))
	s.mu.Unlock()
	*in = q
	return nil
}

// unsafeInsertIntake gives in the next ID and writes it with its link. It
// needs a write transaction.
func (s *Store) unsafeInsertIntake(tx *bolt.Tx, in *Intake) error {
	b := tx.Bucket(bucketIntakes)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	in.ID = id
	return s.unsafePutIntake(tx, in)
}

func (s *Store) unsafePutIntake(tx *bolt.Tx, in *Intake) error {
	sealed, err := s.seal(in)
	if err != nil {
		return err
	}
	if err := appendOnly(tx.Bucket(bucketIntakes)).Put(itob(in.ID), sealed); err != nil {
		return err
	}
	link, err := s.sealBytes(linkFor(in).encode())
	if err != nil {
		return err
	}
	return appendOnly(tx.Bucket(bucketIntakePatients)).Put(itob(in.ID), link)
}

// Intake returns the intake with the ID; the error wraps ErrNotFound when
// there is none.
func (s *Store) Intake(id uint64) (Intake, error) {
	var in Intake
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		in, err = s.unsafeGetIntake(tx, id)
		return err
	})
	return in, err
}

func (s *Store) unsafeGetIntake(tx *bolt.Tx, id uint64) (Intake, error) {
	var in Intake
	raw := tx.Bucket(bucketIntakes).Get(itob(id))
	if raw == nil {
		return in, notFound("intake", id)
	}
	err := s.unseal(raw, &in, "intake", id)
	return in, err
}

// UpdateIntake saves changes to an intake. in.Version must be the version
// that was read, else nothing is written and the error is an
// *IntakeConflictError. The patient, form and form version never change.
func (s *Store) UpdateIntake(in *Intake) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	q := *in
	q.Answers = maps.Clone(in.Answers)
	now := time.Now().UTC()
	var old intakeLink
	err := s.db.Update(func(tx *bolt.Tx) error {
		stored, err := s.unsafeGetIntake(tx, q.ID)
		if err != nil {
			return err
		}
		old = linkFor(&stored)
		if stored.Version != q.Version {
			return &IntakeConflictError{Current: stored}
		}
		if q.PatientID != stored.PatientID || (q.TemplateID != "" && q.TemplateID != stored.TemplateID) ||
			(q.TemplateVersion != "" && q.TemplateVersion != stored.TemplateVersion) {
			return &Error{Msg: "an intake stays with its patient and the form version it answered; start a new intake instead", Kind: ErrInvalid}
		}
		q.TemplateID, q.TemplateVersion = stored.TemplateID, stored.TemplateVersion
		if err := prepareIntake(&q, now); err != nil {
			return err
		}
		q.CreatedAt, q.UpdatedAt, q.Version = stored.CreatedAt, now, stored.Version+1
		if err := s.unsafePutIntake(tx, &q); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionUpdate, RecordKind: RecordIntake, RecordID: q.ID})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.idx.changeIntake(old, linkFor(&q))
	s.mu.Unlock()
	*in = q
	return nil
}

// IntakesFor returns the patient's intakes, newest first.
func (s *Store) IntakesFor(patientID uint64) ([]Intake, error) {
	s.mu.RLock()
	refs := s.idx.patientIntakes(patientID)
	ids := make([]uint64, len(refs))
	for i, r := range refs {
		ids[i] = r.intake
	}
	s.mu.RUnlock()
	slices.Sort(ids)
	slices.Reverse(ids)
	out := make([]Intake, 0, len(ids))
	defer s.releaseLater()
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, id := range ids {
			in, err := s.unsafeGetIntake(tx, id)
			if err != nil {
				if isNotFound(err) {
					continue
				}
				return err
			}
			out = append(out, in)
		}
		return nil
	})
	return out, err
}

// UrgentPatients returns the IDs of patients who have at least one intake
// whose red-flag screen is urgent (acknowledged or not), for the marker in
// the patient list. It is answered from memory.
func (s *Store) UrgentPatients() map[uint64]bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[uint64]bool, len(s.idx.urgentCount))
	for id, n := range s.idx.urgentCount {
		if n > 0 {
			out[id] = true
		}
	}
	return out
}
