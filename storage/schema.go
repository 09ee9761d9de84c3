package storage

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the schema this build writes. Files with an older version
// are migrated at open; files with a newer one are refused.
//
// History:
//
//	1: buckets meta, patients, intakes, settings; a patient's phone was one
//	   string field "phone".
//	2: a patient has a list "phones" of {label, number, e164}; the bucket
//	   patient_keys holds each patient's folded search keys and
//	   intake_patients links each intake to its patient, so that open reads
//	   neither whole patients nor intakes. A change to folding or to the
//	   keys' format needs a new version whose migration calls
//	   unsafeRebuildPatientKeys.
//	3: booking requests from the mailbox: buckets requests, request_raw
//	   (each request's original email, sealed) and request_keys (its
//	   Message-ID and status, read at open); the mail account and the
//	   folders' sync positions are fixed keys in settings.
const SchemaVersion = 3

// migration brings a file from version to-1 to version to. It runs inside the
// one write transaction of migrate.
type migration struct {
	to    uint64
	what  string
	apply func(s *Store, tx *bolt.Tx) error
}

// migrations run in order; each runs when the file's version is below its to.
var migrations = []migration{
	{to: 1, what: "create the buckets", apply: migrateCreateBuckets},
	{to: 2, what: "phone numbers as a list; intake links", apply: migratePhonesList},
	{to: 3, what: "booking requests", apply: migrateRequestBuckets},
}

// migrate runs every pending migration in one transaction, or refuses a file
// from a newer Front Desk.
func (s *Store) migrate() error {
	var current uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		current, err = s.unsafeSchemaVersion(tx)
		return err
	}); err != nil {
		return err
	}
	if current > SchemaVersion {
		return &Error{Msg: fmt.Sprintf("this clinic database was written by a newer Front Desk (schema version %d); this Front Desk understands schema version %d at most. Install the newer Front Desk to open it.", current, SchemaVersion), Kind: ErrNewerSchema}
	}
	if current == SchemaVersion {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, m := range migrations {
			if m.to <= current {
				continue
			}
			if err := m.apply(s, tx); err != nil {
				return &Error{Msg: fmt.Sprintf("cannot upgrade the clinic database to schema version %d (%s): %v", m.to, m.what, err), Kind: ErrUnreadable}
			}
		}
		return s.unsafePutSchemaVersion(tx, SchemaVersion)
	})
}

// unsafeSchemaVersion reads the schema version; 0 is a new, empty file.
// It needs an open transaction.
func (s *Store) unsafeSchemaVersion(tx *bolt.Tx) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get(keySchemaVersion)
	if raw == nil {
		return 0, nil
	}
	plain, err := s.sealer.Unseal(raw)
	if err != nil {
		return 0, &Error{Msg: "cannot unseal the schema version: " + err.Error(), Kind: ErrUnreadable}
	}
	if len(plain) != 8 {
		return 0, &Error{Msg: "the schema version in the clinic database is damaged", Kind: ErrUnreadable}
	}
	return binary.BigEndian.Uint64(plain), nil
}

// unsafePutSchemaVersion writes the schema version. It needs a write transaction.
func (s *Store) unsafePutSchemaVersion(tx *bolt.Tx, v uint64) error {
	sealed, err := s.sealBytes(itob(v))
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keySchemaVersion, sealed)
}

func migrateCreateBuckets(s *Store, tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketPatients, bucketIntakes, bucketSettings} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// patientV1 is a patient as schema 1 stored it: one phone string.
type patientV1 struct {
	Patient
	Phone string `json:"phone,omitempty"`
}

// migratePhonesList moves schema 1's "phone" into "phones" and links every
// intake to its patient in intake_patients.
func migratePhonesList(s *Store, tx *bolt.Tx) error {
	patients := tx.Bucket(bucketPatients)
	type rewrite struct {
		key   []byte
		value []byte
	}
	var rewrites []rewrite
	err := patients.ForEach(func(k, v []byte) error {
		var old patientV1
		if err := s.unseal(v, &old, "patient", btoi(k)); err != nil {
			return err
		}
		p := old.Patient
		if old.Phone != "" {
			p.Phones = append([]Phone{{Number: old.Phone}}, p.Phones...)
		}
		for i := range p.Phones {
			p.Phones[i].E164 = normalizePhone(p.Phones[i].Number, s.region)
		}
		sealed, err := s.seal(p)
		if err != nil {
			return err
		}
		rewrites = append(rewrites, rewrite{key: append([]byte(nil), k...), value: sealed})
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range rewrites {
		if err := patients.Put(r.key, r.value); err != nil {
			return err
		}
	}
	if err := s.unsafeRebuildPatientKeys(tx); err != nil {
		return err
	}
	links, err := tx.CreateBucketIfNotExists(bucketIntakePatients)
	if err != nil {
		return err
	}
	var linkRewrites []rewrite
	err = tx.Bucket(bucketIntakes).ForEach(func(k, v []byte) error {
		var in Intake
		if err := s.unseal(v, &in, "intake", btoi(k)); err != nil {
			return err
		}
		sealed, err := s.sealBytes(linkFor(&in).encode())
		if err != nil {
			return err
		}
		linkRewrites = append(linkRewrites, rewrite{key: append([]byte(nil), k...), value: sealed})
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range linkRewrites {
		if err := links.Put(r.key, r.value); err != nil {
			return err
		}
	}
	return nil
}

// unsafeRebuildPatientKeys writes every patient's search keys afresh from the
// patient records. It needs a write transaction.
func (s *Store) unsafeRebuildPatientKeys(tx *bolt.Tx) error {
	if tx.Bucket(bucketPatientKeys) != nil {
		if err := tx.DeleteBucket(bucketPatientKeys); err != nil {
			return err
		}
	}
	keys, err := tx.CreateBucket(bucketPatientKeys)
	if err != nil {
		return err
	}
	appendOnly(keys)
	return tx.Bucket(bucketPatients).ForEach(func(k, v []byte) error {
		var f indexFields
		if err := s.unseal(v, &f, "patient", btoi(k)); err != nil {
			return err
		}
		sealed, err := s.sealBytes(makeEntry(&f).encode())
		if err != nil {
			return err
		}
		return keys.Put(append([]byte(nil), k...), sealed)
	})
}
