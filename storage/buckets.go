package storage

import bolt "go.etcd.io/bbolt"

// Bucket names and the fixed keys used in them. Every other key is an 8-byte
// big-endian ID from the bucket's NextSequence; no key ever holds patient data.
var (
	bucketMeta           = []byte("meta")            // fixed keys below
	bucketPatients       = []byte("patients")        // patient ID -> sealed Patient JSON
	bucketPatientKeys    = []byte("patient_keys")    // patient ID -> sealed search keys (folded, binary), read at open
	bucketIntakes        = []byte("intakes")         // intake ID -> sealed Intake JSON
	bucketIntakePatients = []byte("intake_patients") // intake ID -> sealed intakeLink (patient ID + flags), read at open
	bucketSettings       = []byte("settings")        // fixed keys below
	bucketRequests       = []byte("requests")        // booking request ID -> sealed BookingRequest JSON
	bucketRequestRaw     = []byte("request_raw")     // booking request ID -> the sealed raw email
	bucketRequestKeys    = []byte("request_keys")    // booking request ID -> sealed requestKey (Message-ID, status), read at open

	keySchemaVersion = []byte("schema_version") // in meta: sealed 8-byte big-endian version
	keyClinic        = []byte("clinic")         // in settings: sealed Settings JSON
	keyMailAccount   = []byte("mail_account")   // in settings: sealed MailAccount JSON (with its password)
	keyMailSync      = []byte("mail_sync")      // in settings: sealed JSON of each folder's sync position
)

// appendOnly packs pages fuller than bbolt's default of half: keys from
// NextSequence only grow, so a page that splits is never filled again.
func appendOnly(b *bolt.Bucket) *bolt.Bucket {
	b.FillPercent = 0.9
	return b
}

// allBuckets lists every bucket of the current schema.
var allBuckets = [][]byte{bucketMeta, bucketPatients, bucketPatientKeys, bucketIntakes, bucketIntakePatients, bucketSettings,
	bucketRequests, bucketRequestRaw, bucketRequestKeys}

// fixedKeys lists every key that is a name rather than an ID.
var fixedKeys = [][]byte{keySchemaVersion, keyClinic, keyMailAccount, keyMailSync}
