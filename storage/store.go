// Package storage keeps the clinic's patients, their intake forms and the
// clinic settings in one embedded bbolt file, with an in-memory search index
// built when the file is opened and kept current on every write.
//
// The file holds no patient data in its keys: every key is an 8-byte
// big-endian ID from NextSequence or a fixed name (see buckets.go). Every
// value is JSON passed through one seal/unseal seam, the Sealer: by default
// AES-256-GCM under a random data key that is stored only wrapped, by each
// staff member's password (Argon2id) and by a recovery key (crypto.go,
// keys.go). A store opens locked or needing set-up (State); Setup, Unlock
// and Lock move it between states, and patient data, the search index
// included, is only in memory while it is unlocked. The schema version
// lives in the meta bucket; migrations run in order, in one transaction,
// once the values can be read, and a file written by a newer Front Desk is
// refused.
//
// Staff accounts (users.go), the append-only audit log (audit.go) and
// verified online backups and restore (backup.go) complete what HIPAA's
// technical safeguards (45 CFR 164.312) ask of the store.
//
// Only one process may open the file at a time; a second one gets ErrInUse
// ("the clinic database is in use by another Front Desk") after
// Options.Timeout instead of hanging.
package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the store's file inside its folder.
const FileName = "frontdesk.db"

// DateOrder says how an ambiguous date such as 03/04/1986 is read.
type DateOrder string

// The day/month orders a clinic can choose.
const (
	MDY DateOrder = "MDY" // 03/04/1986 is March 4 (United States)
	DMY DateOrder = "DMY" // 03/04/1986 is 3 April (most other countries)
)

// Options tune Open. The zero value is usable.
type Options struct {
	Timeout   time.Duration // how long to wait for another Front Desk to let go of the file; default 1s
	Region    string        // default phone region (ISO 3166 code such as "US"), used until the clinic settings name one; default "US"
	DateOrder DateOrder     // how ambiguous dates are read until the clinic settings say; default MDY
	Sealer    Sealer        // tests only: seals every value with this instead of the data key; implies no sign-in

	// Plaintext opens a file that is not encrypted without sign-in, for
	// tests, benchmarks and tools: a new file stays unencrypted. It has no
	// effect on an encrypted file. The app never sets it: by default a new
	// or plaintext file needs Setup, and an encrypted one Unlock.
	Plaintext bool

	// FreeMemoryWhenIdle also hands the Go heap's free memory back to the
	// system when reads of records stop (see releaseLater): the garbage of
	// a burst of searches otherwise stays resident until the next garbage
	// collection, which an idle desk may not run for minutes. For the
	// window, which stays open all day; it costs one collection per burst.
	FreeMemoryWhenIdle bool
}

// Sealer is the one seam every stored value passes through: Seal before a
// value is written, Unseal after it is read. Unseal must not keep or modify
// the slice it is given (it belongs to the database), and must return a
// slice it owns or that is only read before the transaction ends.
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	Unseal(sealed []byte) ([]byte, error)
}

// identitySealer stores values as they are, until encryption lands.
type identitySealer struct{}

func (identitySealer) Seal(plain []byte) ([]byte, error)    { return plain, nil }
func (identitySealer) Unseal(sealed []byte) ([]byte, error) { return sealed, nil }

// Store is an open clinic database. Its methods are safe for concurrent use.
type Store struct {
	db     *bolt.DB
	path   string
	sealer Sealer
	opts   Options

	writeMu sync.Mutex // serialises writers so the index follows commit order

	keyring *keyring // the sealer of an encryptable store; nil for Plaintext and Sealer stores

	mu        sync.RWMutex  // guards everything below
	reqs      *requestIndex // booking requests' Message-IDs and statuses (requests.go)
	idx       *index        // empty while locked
	region    string
	dateOrder DateOrder
	state     State
	user      *StaffUser // who unlocked the store; nil while locked and for Plaintext stores

	releaseMu    sync.Mutex
	releaseTimer *time.Timer // releases the file's mapped pages after reads (releaseLater)
}

// DefaultDir returns the folder Front Desk keeps its data in by default: the
// user's configuration folder plus "FrontDesk" (for example
// ~/.config/FrontDesk, ~/Library/Application Support/FrontDesk or
// %AppData%\FrontDesk).
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", &Error{Msg: "cannot find the folder for Front Desk's data: " + err.Error(), Kind: ErrNotFound}
	}
	return filepath.Join(base, "FrontDesk"), nil
}

// EnvDataDir names the environment variable that overrides the data folder.
const EnvDataDir = "FRONTDESK_DATA"

// DataDir picks the folder to open: dir when it is not empty (the --data
// flag), else $FRONTDESK_DATA when set, else DefaultDir().
func DataDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if env := os.Getenv(EnvDataDir); env != "" {
		return env, nil
	}
	return DefaultDir()
}

// Open opens the clinic database in dir, creating the folder (mode 0700) and
// the file (mode 0600) when they do not exist.
//
// What happens next depends on the file, see State: an encrypted file opens
// StateLocked (call Unlock or UnlockWithRecoveryKey); a new or plaintext
// file opens StateNeedsSetup (call Setup, which encrypts it). Until then
// every patient read or write fails with an error wrapping ErrLocked, and
// Search and the lists find nothing. With Options.Plaintext (tests, benchmarks) a
// plaintext file opens StateUnlocked at once, as before encryption existed:
// pending migrations run and the search index is built before Open returns.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Region == "" {
		opts.Region = "US"
	}
	if opts.DateOrder == "" {
		opts.DateOrder = MDY
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &Error{Msg: "cannot create the data folder: " + err.Error(), Kind: ErrUnreadable}
	}
	path := filepath.Join(dir, FileName)
	db, err := openBolt(path, opts.Timeout)
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, ErrInUse
		}
		return nil, &Error{Msg: "cannot open the clinic database " + path + ": " + err.Error(), Kind: ErrUnreadable}
	}
	s := &Store{db: db, path: path, opts: opts, region: opts.Region, dateOrder: opts.DateOrder, idx: newIndex(), reqs: newRequestIndex()}
	encrypted, err := isEncrypted(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if encrypted || (!opts.Plaintext && opts.Sealer == nil) {
		s.keyring = &keyring{}
		s.sealer = s.keyring
		s.state = StateNeedsSetup
		if encrypted {
			s.state = StateLocked
			return s, nil
		}
		// A new or plaintext file: bring its schema up to date as it is,
		// so that a newer file is refused now and every bucket exists.
		s.keyring.setPlain(true)
		err := s.migrate()
		s.keyring.setPlain(false)
		if err != nil {
			db.Close()
			return nil, err
		}
		return s, nil
	}
	s.sealer = opts.Sealer
	if s.sealer == nil {
		s.sealer = identitySealer{}
	}
	if err := s.activate(); err != nil {
		db.Close()
		return nil, err
	}
	s.state = StateUnlocked
	return s, nil
}

// openBolt opens the store's file for writing, mapping initialMmapSize of
// it. Where the system refuses that much address space (a limit on virtual
// memory), it maps the file as bbolt does by default instead: imports into
// a growing store cost more CPU, nothing else changes.
func openBolt(path string, timeout time.Duration) (*bolt.DB, error) {
	opts := &bolt.Options{Timeout: timeout, InitialMmapSize: initialMmapSize}
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil && opts.InitialMmapSize > 0 && errors.Is(err, syscall.ENOMEM) {
		opts.InitialMmapSize = 0
		db, err = bolt.Open(path, 0o600, opts)
	}
	return db, err
}

// initialMmapSize is how much of the file bbolt maps at open: 1 GB on
// 64-bit systems other than Windows, else bbolt's default (the file's size).
//
// bbolt maps the file read-only and maps it again, larger, when a write
// transaction needs pages past the mapping (doubling from 32 KB up to 1 GB,
// then by 1 GB). Before it does, it copies every key and value of the nodes
// the transaction has changed (node.dereference), the batch's new values
// included. A new store's first mail import crosses about ten such sizes,
// each in the middle of a batch of up to 500 emails of 5 KB: the copying was
// over a quarter of the import's CPU (BenchmarkImportBookingRequests).
// Mapping 1 GB from the start removes it, and a write no longer waits for
// read transactions to end so that it can remap.
//
// Mapping past the end of the file only reserves address space: bbolt reads
// no page it has not written. The file still grows only as it is written,
// but 16 MB ahead (bbolt's AllocSize) rather than to the mapping's size, so
// a new store's file is 16 MB long (sparse) instead of 32 KB. On Windows
// bbolt sets the file's length to the mapping's, so a new store would be a
// 1 GB file; on 32-bit systems address space is scarce.
var initialMmapSize = func() int {
	if runtime.GOOS == "windows" || strconv.IntSize < 64 {
		return 0
	}
	return 1 << 30
}()

// activate runs pending migrations, reads the settings and builds the
// search index; the sealer must be able to read the file.
func (s *Store) activate() error {
	if err := s.migrate(); err != nil {
		return err
	}
	set, err := s.Settings()
	if err != nil {
		return err
	}
	s.applySettings(set)
	if err := s.buildIndex(); err != nil {
		return err
	}
	s.releaseNow()
	return nil
}

// Close closes the database file and forgets the data key. The store must
// not be used afterwards.
func (s *Store) Close() error {
	if s.keyring != nil {
		s.keyring.clear()
	}
	s.releaseMu.Lock()
	if s.releaseTimer != nil {
		s.releaseTimer.Stop()
	}
	s.releaseMu.Unlock()
	return s.db.Close()
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Region is the phone region used for numbers typed without a country code.
func (s *Store) Region() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.region
}

// DateOrder is how the store reads ambiguous dates such as 03/04/1986.
func (s *Store) DateOrder() DateOrder {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.dateOrder
}

// itob encodes an ID as an 8-byte big-endian key.
func itob(id uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, id)
	return k
}

// btoi decodes an 8-byte big-endian key.
func btoi(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// seal encodes v as JSON and seals it.
func (s *Store) seal(v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return s.sealBytes(plain)
}

func (s *Store) sealBytes(plain []byte) ([]byte, error) {
	sealed, err := s.sealer.Seal(plain)
	if err != nil {
		return nil, s.sealError(err)
	}
	return sealed, nil
}

// sealError is the error of a Seal that failed.
func (s *Store) sealError(err error) error {
	if errors.Is(err, ErrLocked) {
		return err
	}
	return &Error{Msg: "cannot seal a record: " + err.Error(), Kind: ErrUnreadable}
}

// unseal unseals a value read from the database and decodes its JSON into v.
// raw belongs to the transaction; v keeps no reference to it.
func (s *Store) unseal(raw []byte, v any, what string, id uint64) error {
	plain, err := s.sealer.Unseal(raw)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return err
		}
		return &Error{Msg: fmt.Sprintf("cannot unseal %s %d: %v", what, id, err), Kind: ErrUnreadable}
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return &Error{Msg: fmt.Sprintf("%s %d is damaged: %v", what, id, err), Kind: ErrUnreadable}
	}
	return nil
}

// releaseDelay is how long reads of records must have stopped before the
// mapped pages they brought in are released.
const releaseDelay = 2 * time.Second

// releaseLater releases the mapped pages of the file once reads have
// stopped for releaseDelay: a search reads its results' records, and
// typing a name runs one search per key.
func (s *Store) releaseLater() {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	if s.releaseTimer == nil {
		s.releaseTimer = time.AfterFunc(releaseDelay, s.releaseIdle)
		return
	}
	s.releaseTimer.Reset(releaseDelay)
}

// releaseNow releases the mapped pages of the file (see releaseMapped).
func (s *Store) releaseNow() {
	_ = s.db.View(func(tx *bolt.Tx) error {
		s.releaseMapped(tx)
		return nil
	})
}

// releaseIdle runs once reads have stopped for releaseDelay.
func (s *Store) releaseIdle() {
	s.releaseNow()
	if s.opts.FreeMemoryWhenIdle {
		debug.FreeOSMemory()
	}
}
