package storage

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CSVColumns are the column names ImportCSV understands, in the order a
// template spreadsheet would use. The first row of the file names the
// columns, in any order and any case; at least given_name or family_name must
// be there. phone and phone2 become the patient's phone numbers; dates of
// birth may be written 1986-03-14, 03/14/1986 or 14.03.1986 (ambiguous ones
// follow the clinic's date order); sex may be F, M, female, male, other or
// unknown.
var CSVColumns = []string{
	"given_name", "family_name", "preferred_name", "date_of_birth", "sex",
	"phone", "phone2", "email", "address", "language",
	"emergency_name", "emergency_relationship", "emergency_phone", "notes",
}

// ImportOptions tune ImportCSV.
type ImportOptions struct {
	// SkipInvalid imports the valid rows even when others fail validation;
	// without it a file with any invalid row imports nothing.
	SkipInvalid bool
}

// ImportReport says what ImportCSV did with each row. Line numbers count the
// header as line 1.
type ImportReport struct {
	Imported           int                 `json:"imported"`
	ImportedIDs        []uint64            `json:"imported_ids"`
	Skipped            []SkippedRow        `json:"skipped"`             // already in the store: not imported
	Invalid            []InvalidRow        `json:"invalid"`             // failed validation: not imported
	PossibleDuplicates []ImportedDuplicate `json:"possible_duplicates"` // imported, but resembling someone: review them
}

// SkippedRow is a row that is plainly a patient already in the store (same
// name and date of birth, or same email), or repeats an earlier row.
type SkippedRow struct {
	Line     int     `json:"line"`
	Existing Patient `json:"existing"`
	Reason   string  `json:"reason"`
}

// InvalidRow is a row that failed validation.
type InvalidRow struct {
	Line   int          `json:"line"`
	Reason string       `json:"reason"`
	Errors []FieldError `json:"errors,omitempty"`
}

// ImportedDuplicate is an imported row that resembles stored patients.
type ImportedDuplicate struct {
	Line       int         `json:"line"`
	Patient    Patient     `json:"patient"`
	Candidates []Candidate `json:"candidates"`
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// importRow is a valid row waiting to be written.
type importRow struct {
	line    int
	patient Patient
	entry   *entry
}

// ImportCSV brings patients over from a spreadsheet: UTF-8 CSV with or
// without a byte-order mark, a header row naming CSVColumns. Every row is
// checked first. If any row is invalid and SkipInvalid is false, nothing is
// imported and the error wraps ErrImportFailed (the report lists the rows).
// A row that is plainly a stored patient is skipped, so importing a file
// twice adds nothing; a row that only resembles one is imported and listed
// in PossibleDuplicates (and later in AllDuplicates). All rows are written in
// one transaction.
func (s *Store) ImportCSV(r io.Reader, opts ImportOptions) (ImportReport, error) {
	var rep ImportReport
	br := bufio.NewReader(r)
	if head, err := br.Peek(3); err == nil && bytes.Equal(head, utf8BOM) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return rep, &Error{Msg: "the file is empty; it needs a header row naming the columns, such as given_name,family_name,date_of_birth", Kind: ErrImportFailed}
		}
		return rep, &Error{Msg: "cannot read the header row: " + err.Error(), Kind: ErrImportFailed}
	}
	col := make(map[string]int)
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		name = strings.ReplaceAll(name, " ", "_")
		if !slices.Contains(CSVColumns, name) {
			return rep, &Error{Msg: fmt.Sprintf("the header names an unknown column %q; the columns are %s", h, strings.Join(CSVColumns, ", ")), Kind: ErrImportFailed}
		}
		if _, dup := col[name]; dup {
			return rep, &Error{Msg: fmt.Sprintf("the header names the column %q twice", name), Kind: ErrImportFailed}
		}
		col[name] = i
	}
	_, hasGiven := col["given_name"]
	_, hasFamily := col["family_name"]
	if !hasGiven && !hasFamily {
		return rep, &Error{Msg: "the header needs a given_name or family_name column", Kind: ErrImportFailed}
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	region, order := s.Region(), s.DateOrder()
	var rows []importRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				return rep, &Error{Msg: fmt.Sprintf("line %d cannot be read as CSV (%v); nothing was imported", perr.StartLine, perr.Err), Kind: ErrImportFailed}
			}
			return rep, &Error{Msg: "cannot read the file: " + err.Error(), Kind: ErrImportFailed}
		}
		if allEmpty(rec) {
			continue
		}
		if len(rec) > len(header) {
			rep.Invalid = append(rep.Invalid, InvalidRow{Line: line, Reason: fmt.Sprintf("the row has %d values but the header names %d columns", len(rec), len(header))})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		p := Patient{
			GivenName: get("given_name"), FamilyName: get("family_name"), PreferredName: get("preferred_name"),
			DateOfBirth: get("date_of_birth"), Sex: get("sex"), Email: get("email"), Address: get("address"),
			Language: get("language"), Notes: get("notes"),
			Emergency: EmergencyContact{Name: get("emergency_name"), Relationship: get("emergency_relationship"), Phone: get("emergency_phone")},
		}
		for _, c := range []string{"phone", "phone2"} {
			if n := get(c); n != "" {
				p.Phones = append(p.Phones, Phone{Number: n})
			}
		}
		normalizePatient(&p, region, order)
		if errs := validatePatient(p, region, true); len(errs) > 0 {
			msgs := make([]string, len(errs))
			for i, e := range errs {
				msgs[i] = e.Msg
			}
			rep.Invalid = append(rep.Invalid, InvalidRow{Line: line, Reason: strings.Join(msgs, " "), Errors: errs})
			continue
		}
		f := fieldsOf(&p)
		rows = append(rows, importRow{line: line, patient: p, entry: makeEntry(&f)})
	}
	if len(rep.Invalid) > 0 && !opts.SkipInvalid {
		first := rep.Invalid[0]
		return rep, &Error{Msg: fmt.Sprintf("%d row(s) have problems (line %d: %s); nothing was imported. Fix them, or import with --skip-invalid to bring over the other rows",
			len(rep.Invalid), first.Line, first.Reason), Kind: ErrImportFailed}
	}

	// Skip rows that are plainly stored patients or repeat an earlier row.
	// Who they are is filled in once the kept rows have their IDs.
	type skip struct {
		at         int    // index in rep.Skipped
		existingID uint64 // the stored patient, or 0
		earlier    int    // else the index in keep of the earlier row
	}
	var keep []importRow
	var skips []skip
	byNameDOB := make(map[string]int) // folded name + DOB -> index in keep
	byEmail := make(map[string]int)   // folded email -> index in keep
	s.mu.RLock()
	for _, row := range rows {
		e := row.entry
		if id, reason, ok := s.idx.plainDuplicate(e); ok {
			skips = append(skips, skip{at: len(rep.Skipped), existingID: id})
			rep.Skipped = append(rep.Skipped, SkippedRow{Line: row.line, Reason: reason})
			continue
		}
		nameDOB := e.name + "\x00" + e.dob
		k, repeated := byNameDOB[nameDOB]
		if !repeated && e.email != "" {
			k, repeated = byEmail[e.email]
		}
		if repeated {
			skips = append(skips, skip{at: len(rep.Skipped), earlier: k})
			rep.Skipped = append(rep.Skipped, SkippedRow{Line: row.line, Reason: fmt.Sprintf("repeats line %d of this file", keep[k].line)})
			continue
		}
		if e.name != "" {
			byNameDOB[nameDOB] = len(keep)
		}
		if e.email != "" {
			byEmail[e.email] = len(keep)
		}
		keep = append(keep, row)
	}
	s.mu.RUnlock()

	now := time.Now().UTC()
	if len(keep) > 0 {
		err = s.db.Update(func(tx *bolt.Tx) error {
			for i := range keep {
				p := &keep[i].patient
				p.CreatedAt, p.UpdatedAt, p.Version = now, now, 1
				e, err := s.unsafeInsertPatient(tx, p)
				if err != nil {
					return err
				}
				keep[i].entry = e
			}
			return s.unsafeAudit(tx, AuditEvent{Action: ActionImport, RecordKind: RecordPatient,
				Detail: fmt.Sprintf("%d patients from a CSV file (IDs %d–%d)", len(keep), keep[0].patient.ID, keep[len(keep)-1].patient.ID)})
		})
		if err != nil {
			return rep, err
		}
		s.mu.Lock()
		if len(keep) > 100 {
			s.idx.beginBatch()
		}
		for i := range keep {
			s.idx.putEntry(keep[i].entry)
		}
		s.idx.finishBatch()
		s.mu.Unlock()
	}
	var existingIDs []uint64
	for _, sk := range skips {
		if sk.existingID != 0 {
			existingIDs = append(existingIDs, sk.existingID)
		}
	}
	byID, err := s.patientMap(existingIDs)
	if err != nil {
		return rep, err
	}
	for _, sk := range skips {
		if sk.existingID != 0 {
			rep.Skipped[sk.at].Existing = byID[sk.existingID]
		} else {
			rep.Skipped[sk.at].Existing = keep[sk.earlier].patient
		}
	}
	for _, row := range keep {
		rep.Imported++
		rep.ImportedIDs = append(rep.ImportedIDs, row.patient.ID)
		if cands := s.DuplicateCandidates(row.patient); len(cands) > 0 {
			rep.PossibleDuplicates = append(rep.PossibleDuplicates, ImportedDuplicate{Line: row.line, Patient: row.patient, Candidates: cands})
		}
	}
	return rep, nil
}

func allEmpty(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// plainDuplicate finds a stored patient that e plainly is: same folded name
// and date of birth, or same email.
func (x *index) plainDuplicate(e *entry) (id uint64, reason string, ok bool) {
	if e.name != "" {
		for _, i := range x.dobs.exact(e.dob) {
			if o := x.entry(i); o != nil && o.name == e.name {
				return o.id, "already in the store: " + ReasonSameNameDOB, true
			}
		}
	}
	if e.email != "" {
		for _, i := range x.emails.exact(e.email) {
			if o := x.entry(i); o != nil {
				return o.id, "already in the store: " + ReasonSameEmail, true
			}
		}
	}
	return 0, "", false
}
