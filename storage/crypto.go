package storage

// Encryption at rest. Every value the store writes through the Sealer seam is
// sealed with AES-256-GCM under one random 256-bit data key:
//
//	sealed = nonce (12 random bytes) || AES-256-GCM(data key, nonce, plain, no additional data)
//
// Values carry no additional data binding them to their bucket and ID, so
// that the seam (Sealer.Seal(plain)) stays the one it was and every record
// type, including ones added later, is sealed without knowing where it goes.
// GCM still authenticates each value: a changed byte makes it unreadable. What
// the choice allows is that someone able to write the file could swap two
// sealed values of the clinic's own; they cannot read or forge any.
//
// The data key is never stored as it is. It is wrapped (sealed with AES-GCM
// under a key-encryption key, KEK) once per staff user, with the KEK derived
// from the user's password by Argon2id, and once by the recovery key, with
// the KEK derived by HKDF-SHA256 (the recovery key is 160 random bits, so a
// slow KDF adds nothing). Each wrap stores its KDF, salt and parameters, so
// parameters can be raised later without breaking old wraps.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// dataKeySize is the size of the data key and of every KEK: AES-256.
const dataKeySize = 32

// Argon2id parameters for new password wraps: 2 passes over 64 MiB with 2
// lanes (RFC 9106's second recommended option has 3 passes and 4 lanes; a
// front-desk PC has 2–4 cores). On the 2-core development machine one
// derivation takes 100 ms idle and up to 180 ms under load; 3 passes took
// 150–260 ms and put sign-in past 1.5× an unencrypted open. An attacker
// with a stolen file pays as much, and 64 MiB, per guess. The parameters
// are stored with each wrap, so raising them later affects only new and
// reset passwords.
var passwordKDF = argonParams{Time: 2, MemoryKiB: 64 << 10, Threads: 2}

type argonParams struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// KDF names stored in a wrap.
const (
	kdfArgon2id = "argon2id"
	kdfHKDF     = "hkdf-sha256"
)

// wrappedKey is the data key sealed under a key derived from a secret. It is
// stored unsealed (it cannot be sealed by the key it holds) and holds no
// patient data.
type wrappedKey struct {
	KDF    string       `json:"kdf"`
	Salt   []byte       `json:"salt"`
	Argon  *argonParams `json:"argon2,omitempty"`
	Sealed []byte       `json:"sealed"` // nonce || AES-GCM(KEK, data key, additional data = purpose)
}

// wrapKey seals dataKey under a KEK derived from secret. Password wraps use
// Argon2id; the recovery key uses HKDF. purpose is bound as additional data,
// so a wrap cannot be moved from one user to another.
func wrapKey(dataKey []byte, secret []byte, kdf, purpose string) (*wrappedKey, error) {
	w := &wrappedKey{KDF: kdf, Salt: randomBytes(16)}
	if kdf == kdfArgon2id {
		p := passwordKDF
		w.Argon = &p
	}
	kek, err := w.kek(secret)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	w.Sealed = sealWith(aead, dataKey, []byte(purpose))
	return w, nil
}

// unwrap returns the data key, or errBadSecret when secret is not the one
// the key was wrapped with.
func (w *wrappedKey) unwrap(secret []byte, purpose string) ([]byte, error) {
	kek, err := w.kek(secret)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	key, err := openWith(aead, w.Sealed, []byte(purpose))
	if err != nil || len(key) != dataKeySize {
		return nil, errBadSecret
	}
	return key, nil
}

var errBadSecret = errors.New("wrong password or key")

func (w *wrappedKey) kek(secret []byte) ([]byte, error) {
	switch w.KDF {
	case kdfArgon2id:
		if w.Argon == nil || w.Argon.Time == 0 || w.Argon.MemoryKiB == 0 || w.Argon.Threads == 0 {
			return nil, errors.New("the key's Argon2id parameters are missing")
		}
		return argon2.IDKey(secret, w.Salt, w.Argon.Time, w.Argon.MemoryKiB, w.Argon.Threads, dataKeySize), nil
	case kdfHKDF:
		return hkdf.Key(sha256.New, secret, w.Salt, "frontdesk recovery key", dataKeySize)
	}
	return nil, errors.New("unknown key derivation " + w.KDF)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealWith returns nonce || ciphertext with a fresh random nonce.
func sealWith(aead cipher.AEAD, plain, additional []byte) []byte {
	return appendSealed(make([]byte, 0, aead.NonceSize()+len(plain)+aead.Overhead()), aead, plain, additional)
}

// appendSealed appends a random nonce and plain sealed with it to dst,
// which must not overlap plain.
func appendSealed(dst []byte, aead cipher.AEAD, plain, additional []byte) []byte {
	n, ns := len(dst), aead.NonceSize()
	dst = append(dst, make([]byte, ns)...)
	rand.Read(dst[n:]) // crypto/rand.Read never fails (it panics rather)
	return aead.Seal(dst, dst[n:], plain, additional)
}

func openWith(aead cipher.AEAD, sealed, additional []byte) ([]byte, error) {
	ns := aead.NonceSize()
	if len(sealed) < ns+aead.Overhead() {
		return nil, errors.New("too short to be sealed")
	}
	return aead.Open(nil, sealed[:ns], sealed[ns:], additional)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// keyring is the Sealer of a store that can be encrypted. It holds the data
// key while the store is unlocked and nothing while it is locked, when Seal
// and Unseal fail with ErrLocked. In plain mode (only while Setup migrates a
// plaintext file's schema) it passes values through.
type keyring struct {
	mu    sync.RWMutex
	key   []byte
	aead  cipher.AEAD
	plain bool
}

var _ Sealer = (*keyring)(nil)

var errLockedSeal = &Error{Msg: "the clinic database is locked: sign in to see or change patient records", Kind: ErrLocked}

func (k *keyring) Seal(plain []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	switch {
	case k.plain:
		return plain, nil
	case k.aead == nil:
		return nil, errLockedSeal
	}
	return sealWith(k.aead, plain, nil), nil
}

// sealTo is Seal appending the sealed value to dst, which must not overlap
// plain: an import seals its values into pooled chunks (importArena).
func (k *keyring) sealTo(dst, plain []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	switch {
	case k.plain:
		return append(dst, plain...), nil
	case k.aead == nil:
		return nil, errLockedSeal
	}
	return appendSealed(dst, k.aead, plain, nil), nil
}

// sealOverhead is what the keyring's sealing adds to a value: the nonce and
// the GCM tag.
const sealOverhead = 12 + 16

func (k *keyring) Unseal(sealed []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	switch {
	case k.plain:
		return sealed, nil
	case k.aead == nil:
		return nil, errLockedSeal
	}
	plain, err := openWith(k.aead, sealed, nil)
	if err != nil {
		return nil, errors.New("the value is damaged or was sealed with another key")
	}
	return plain, nil
}

// unsealInto is Unseal writing the plaintext into dst's storage, so that a
// loop over many values (building the index) reuses one buffer.
func (k *keyring) unsealInto(dst, sealed []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	switch {
	case k.plain:
		return sealed, nil
	case k.aead == nil:
		return nil, errLockedSeal
	}
	ns := k.aead.NonceSize()
	if len(sealed) < ns+k.aead.Overhead() {
		return nil, errors.New("too short to be sealed")
	}
	plain, err := k.aead.Open(dst, sealed[:ns], sealed[ns:], nil)
	if err != nil {
		return nil, errors.New("the value is damaged or was sealed with another key")
	}
	return plain, nil
}

// set makes the keyring seal with key (which it keeps).
func (k *keyring) set(key []byte) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.key, k.aead, k.plain = key, aead, false
	return nil
}

func (k *keyring) setPlain(plain bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.plain = plain
}

// clear forgets the data key, overwriting the copy the keyring holds. (Go
// cannot promise no other copy is left in freed memory, and the AES key
// schedule inside the cipher is dropped, not overwritten.)
func (k *keyring) clear() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.key)
	k.key, k.aead, k.plain = nil, nil, false
}

// dataKey returns a copy of the data key, or nil when locked.
func (k *keyring) dataKey() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.key == nil {
		return nil
	}
	return append([]byte(nil), k.key...)
}

func (k *keyring) unlocked() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.aead != nil
}

// macKey derives the key that authenticates staff user records from the
// data key, so that a role or a disabled flag cannot be changed in the file
// by someone without a password.
func macKey(dataKey []byte) []byte {
	k, _ := hkdf.Key(sha256.New, dataKey, nil, "frontdesk staff user records", 32)
	return k
}

func mac(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p))
		h.Write(n[:])
		h.Write(p)
	}
	return h.Sum(nil)
}

// Recovery keys are 160 random bits written as 32 characters of base32
// (A–Z, 2–7) in 8 groups of 4: "ABCD-EFGH-…". Typing is forgiving: case,
// spaces and dashes do not matter, and 0, 1 and 8 are read as O, I and B.
const recoveryKeyBytes = 20

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newRecoveryKey() (display string, raw []byte) {
	raw = randomBytes(recoveryKeyBytes)
	s := recoveryEncoding.EncodeToString(raw)
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:min(i+4, len(s))])
	}
	return strings.Join(groups, "-"), raw
}

func parseRecoveryKey(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\n', '\r':
			return -1
		case '0':
			return 'O'
		case '1':
			return 'I'
		case '8':
			return 'B'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
	raw, err := recoveryEncoding.DecodeString(s)
	if err != nil || len(raw) != recoveryKeyBytes {
		return nil, false
	}
	return raw, true
}

// Audit events written while the store is locked (failed sign-ins) cannot be
// sealed with the data key. They are sealed to the audit public key instead
// (X25519 with an ephemeral key, HKDF-SHA256, AES-256-GCM), whose private
// key is kept sealed by the data key; at the next unlock they are opened and
// moved into the audit log.
//
//	boxed = ephemeral public key (32) || nonce (12) || AES-GCM(HKDF(shared), event JSON)
func sealToPublic(pub *ecdh.PublicKey, plain []byte) ([]byte, error) {
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	aead, err := boxAEAD(eph, pub, eph.PublicKey())
	if err != nil {
		return nil, err
	}
	return append(eph.PublicKey().Bytes(), sealWith(aead, plain, nil)...), nil
}

func openFromPublic(priv *ecdh.PrivateKey, boxed []byte) ([]byte, error) {
	if len(boxed) < 32 {
		return nil, errors.New("too short")
	}
	ephPub, err := ecdh.X25519().NewPublicKey(boxed[:32])
	if err != nil {
		return nil, err
	}
	aead, err := boxAEAD(priv, ephPub, ephPub)
	if err != nil {
		return nil, err
	}
	return openWith(aead, boxed[32:], nil)
}

func boxAEAD(priv *ecdh.PrivateKey, peer, ephPub *ecdh.PublicKey) (cipher.AEAD, error) {
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Key(sha256.New, shared, ephPub.Bytes(), "frontdesk audit while locked", dataKeySize)
	if err != nil {
		return nil, err
	}
	return newAEAD(key)
}
