package storage

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ExportFormat and ExportFormatVersion identify Export's output.
const (
	ExportFormat        = "frontdesk-export"
	ExportFormatVersion = 1
)

// Export writes everything in the store as one JSON object, read in one
// consistent snapshot:
//
//	{
//	  "format": "frontdesk-export",   // always this
//	  "format_version": 1,            // this layout; a change gets a new number
//	  "schema_version": 3,            // the store's SchemaVersion
//	  "exported_at": "2026-11-26T22:00:00Z",
//	  "settings": { Settings as JSON: clinic_name, clinic_address, clinic_phone, paper, printer, region, date_order },
//	  "patients": [ Patient as JSON, by ID: id, given_name, family_name, preferred_name,
//	                date_of_birth (YYYY-MM-DD), sex, phones [{label, number, e164}], email, address,
//	                language, emergency {name, relationship, phone}, notes, demo, created_at,
//	                updated_at, version ],
//	  "intakes":  [ Intake as JSON, by ID: id, patient_id, template_id, template_version,
//	                answers {linkId: {bool | int | text | codes}}, status, red_flags,
//	                positive_flags, acknowledged_by, acknowledged_at, incomplete_reason,
//	                created_at, updated_at, version, demo ],
//	  "requests": [ BookingRequest as JSON, by ID: id, status, patient_id, message_id, subject,
//	                from, reply_to, received, source, name, given_name, family_name, email,
//	                phone, date_of_birth, requested, requested_text, message, body_text,
//	                problems, folder, uid, uid_validity, demo, imported_at, updated_at, version ]
//	}
//
// Times are RFC 3339 in UTC. Values are written unsealed: the export holds
// patient data and must be kept as carefully as the store. The original
// emails of booking requests are left out (body_text holds their readable
// text; the originals stay in the store and the mailbox), and so is the
// mail account with its password. "requests" is absent from exports made
// before booking requests existed.
func (s *Store) Export(w io.Writer) error {
	defer s.releaseLater() // the export read every record
	set, err := s.Settings()
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	head := struct {
		Format        string    `json:"format"`
		FormatVersion int       `json:"format_version"`
		SchemaVersion int       `json:"schema_version"`
		ExportedAt    time.Time `json:"exported_at"`
		Settings      Settings  `json:"settings"`
	}{ExportFormat, ExportFormatVersion, SchemaVersion, time.Now().UTC().Truncate(time.Second), set}
	raw, err := json.Marshal(head)
	if err != nil {
		return err
	}
	bw.Write(raw[:len(raw)-1]) // leave the object open for the lists
	err = s.db.View(func(tx *bolt.Tx) error {
		if err := s.exportBucket(bw, tx, bucketPatients, "patients", func() any { return new(Patient) }); err != nil {
			return err
		}
		if err := s.exportBucket(bw, tx, bucketIntakes, "intakes", func() any { return new(Intake) }); err != nil {
			return err
		}
		return s.exportBucket(bw, tx, bucketRequests, "requests", func() any { return new(BookingRequest) })
	})
	if err != nil {
		return err
	}
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	return s.Audit(AuditEvent{Action: ActionExport, Detail: "every patient and intake, as JSON"})
}

// exportBucket writes `,"name":[ … ]` with every record of the bucket,
// decoded into a fresh value from newRecord and encoded again, so the export
// holds plain JSON whatever the sealer.
func (s *Store) exportBucket(w *bufio.Writer, tx *bolt.Tx, bucket []byte, name string, newRecord func() any) error {
	w.WriteString(`,"` + name + `":[`)
	first := true
	err := tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		rec := newRecord()
		if err := s.unseal(v, rec, name, btoi(k)); err != nil {
			return err
		}
		out, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if !first {
			w.WriteByte(',')
		}
		first = false
		w.WriteString("\n")
		_, err = w.Write(out)
		return err
	})
	if err != nil {
		return err
	}
	w.WriteString("]")
	return nil
}
