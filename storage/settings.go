package storage

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
	bolt "go.etcd.io/bbolt"
)

// Settings are the clinic-wide settings kept in the store.
type Settings struct {
	ClinicName    string    `json:"clinic_name"`
	ClinicAddress string    `json:"clinic_address"`
	ClinicPhone   string    `json:"clinic_phone"`
	Paper         string    `json:"paper"`      // "Letter" or "A4"
	Printer       string    `json:"printer"`    // printer name; "" for the system default
	Region        string    `json:"region"`     // phone region for numbers without a country code, such as "US"
	DateOrder     DateOrder `json:"date_order"` // how ambiguous dates are read

	// Sign-in and backups (issue 6). Zero means the default.
	AutoLockMinutes  int    `json:"auto_lock_minutes,omitempty"`  // idle minutes before the window locks; default 10, at most 240
	BackupDir        string `json:"backup_dir,omitempty"`         // folder for scheduled backups ("" for none)
	BackupEveryHours int    `json:"backup_every_hours,omitempty"` // hours between scheduled backups; default 24
	BackupKeep       int    `json:"backup_keep,omitempty"`        // how many backups to keep there; default 14
	PacketKeepDays   int    `json:"packet_keep_days,omitempty"`   // days printed packets stay in the packets folder; 0: removed at exit (RemoveOldPackets)
}

// Defaults of the sign-in and backup settings.
const (
	DefaultAutoLockMinutes  = 10
	DefaultBackupEveryHours = 24
	DefaultBackupKeep       = 14
)

// Paper sizes.
const (
	PaperLetter = "Letter"
	PaperA4     = "A4"
)

// letterRegions use US Letter paper.
var letterRegions = map[string]bool{"US": true, "CA": true, "MX": true, "PH": true, "CL": true, "CO": true, "VE": true}

// Settings returns the clinic settings, with defaults filled in for what was
// never saved: the Options' region and date order, and the paper size usual
// in that region.
func (s *Store) Settings() (Settings, error) {
	var set Settings
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketSettings).Get(keyClinic)
		if raw == nil {
			return nil
		}
		return s.unseal(raw, &set, "settings", 0)
	})
	if err != nil {
		return set, err
	}
	if set.Region == "" {
		set.Region = s.opts.Region
	}
	if set.DateOrder == "" {
		set.DateOrder = s.opts.DateOrder
	}
	if set.AutoLockMinutes == 0 {
		set.AutoLockMinutes = DefaultAutoLockMinutes
	}
	if set.BackupEveryHours == 0 {
		set.BackupEveryHours = DefaultBackupEveryHours
	}
	if set.BackupKeep == 0 {
		set.BackupKeep = DefaultBackupKeep
	}
	if set.Paper == "" {
		set.Paper = PaperA4
		if letterRegions[set.Region] {
			set.Paper = PaperLetter
		}
	}
	return set, nil
}

// ValidateSettings lists what is wrong with set.
func ValidateSettings(set Settings) []FieldError {
	var errs []FieldError
	if set.Paper != PaperLetter && set.Paper != PaperA4 {
		errs = append(errs, FieldError{Field: "paper", Msg: fmt.Sprintf("Paper must be Letter or A4, not %q.", set.Paper)})
	}
	if !phonenumbers.GetSupportedRegions()[set.Region] {
		errs = append(errs, FieldError{Field: "region", Msg: fmt.Sprintf("%q is not a country code Front Desk knows; use two letters such as US, GB or DE.", set.Region)})
	}
	if set.DateOrder != MDY && set.DateOrder != DMY {
		errs = append(errs, FieldError{Field: "date_order", Msg: fmt.Sprintf("Date order must be MDY (month first) or DMY (day first), not %q.", set.DateOrder)})
	}
	if set.AutoLockMinutes < 0 || set.AutoLockMinutes > 240 {
		errs = append(errs, FieldError{Field: "auto_lock_minutes", Msg: "Lock the window after 1 to 240 idle minutes."})
	}
	if set.BackupEveryHours < 0 || set.BackupEveryHours > 24*30 {
		errs = append(errs, FieldError{Field: "backup_every_hours", Msg: "Back up at least every 30 days (720 hours)."})
	}
	if set.BackupKeep < 0 || set.BackupKeep > 1000 {
		errs = append(errs, FieldError{Field: "backup_keep", Msg: "Keep between 1 and 1000 backups."})
	}
	if set.PacketKeepDays < 0 || set.PacketKeepDays > 365 {
		errs = append(errs, FieldError{Field: "packet_keep_days", Msg: "Keep printed packets 0 to 365 days (0: remove them when Front Desk closes)."})
	}
	if set.ClinicPhone != "" && normalizePhone(set.ClinicPhone, set.Region) == "" {
		errs = append(errs, FieldError{Field: "clinic_phone", Msg: fmt.Sprintf("The clinic phone number %q cannot be read.", set.ClinicPhone)})
	}
	return errs
}

// SaveSettings validates and saves the clinic settings; the region and date
// order apply to searches and saves from now on.
func (s *Store) SaveSettings(set Settings) error {
	set.Region = strings.ToUpper(strings.TrimSpace(set.Region))
	if errs := ValidateSettings(set); len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		sealed, err := s.seal(set)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketSettings).Put(keyClinic, sealed); err != nil {
			return err
		}
		return s.unsafeAudit(tx, AuditEvent{Action: ActionUpdate, RecordKind: RecordSettings})
	})
	if err != nil {
		return err
	}
	s.applySettings(set)
	return nil
}

func (s *Store) applySettings(set Settings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set.Region != "" {
		s.region = set.Region
	}
	if set.DateOrder != "" {
		s.dateOrder = set.DateOrder
	}
}
