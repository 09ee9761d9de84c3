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

// Buckets of staff sign-in and the audit log (see keys.go, users.go,
// audit.go). They are not in allBuckets: Setup creates keyring and users,
// the first audit event creates audit. Values of keyring, users and
// audit_pending are not sealed by the data key (they cannot be: they hold it,
// or are written while it is not in memory) and hold no patient data.
var (
	bucketKeyring      = []byte("keyring")       // fixed keys below
	bucketUsers        = []byte("users")         // staff user ID -> unsealed userRecord JSON (name, role, wrapped data key, MAC)
	bucketAudit        = []byte("audit")         // event ID -> sealed AuditEvent JSON; append-only
	bucketAuditPending = []byte("audit_pending") // event ID -> AuditEvent JSON sealed to the audit public key, written while locked

	keyRecoveryWrap    = []byte("recovery")         // in keyring: the data key wrapped by the recovery key (JSON)
	keyAuditPublic     = []byte("audit_public")     // in keyring: X25519 public key for events written while locked
	keyAuditPrivate    = []byte("audit_private")    // in keyring: its private key, sealed by the data key
	keyEncryptProgress = []byte("encrypt_progress") // in meta, unsealed: where encrypting a plaintext file resumes
	keyCompactPending  = []byte("compact_pending")  // in meta, unsealed: plaintext may linger in free pages until compacted
)

// unsealedBuckets hold values the data key does not seal.
var unsealedBuckets = [][]byte{bucketKeyring, bucketUsers, bucketAuditPending}

// unsealedMetaKeys are the meta keys the data key does not seal.
var unsealedMetaKeys = [][]byte{keyEncryptProgress, keyCompactPending}
