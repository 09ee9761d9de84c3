package storage

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PacketsDir is the folder inside the data folder where printed intake
// packets are written. Packets are patient data in plain PDF: they stay in
// the data folder and are removed by RemoveOldPackets.
func PacketsDir(dataDir string) string { return filepath.Join(dataDir, "packets") }

// RemoveOldPackets deletes the PDF packets (and leftover temporary files)
// in the data folder's packets folder last changed more than olderThan ago;
// olderThan ≤ 0 deletes them all (the default, at exit: see
// Settings.PacketKeepDays). It returns how many files it removed; a missing
// folder is not an error.
func RemoveOldPackets(dataDir string, olderThan time.Duration) (int, error) {
	dir := PacketsDir(dataDir)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, &Error{Msg: "cannot list the packets folder: " + err.Error(), Kind: ErrUnreadable}
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !(strings.HasSuffix(strings.ToLower(name), ".pdf") || strings.HasSuffix(name, ".tmp")) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if olderThan > 0 && fi.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return removed, &Error{Msg: "cannot remove the packet " + name + ": " + err.Error(), Kind: ErrUnreadable}
		}
		removed++
	}
	return removed, nil
}
