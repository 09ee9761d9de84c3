//go:build linux || darwin || freebsd || netbsd || openbsd

package storage

import (
	"golang.org/x/sys/unix"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped tells the kernel this process no longer needs the pages of
// the mapped database file it has read: every patient's search keys while
// building the index (about 50 MB at 100,000 patients), and the records
// that searches and lists read since (each read maps some 64 KB around the
// record: about 17 MB after a few dozen searches). They stay in the page
// cache and come back on the next read; until then they no longer count in
// the desk's resident memory. It runs in tx, so that bbolt cannot remap the
// file meanwhile. Best effort: errors are ignored.
func (s *Store) releaseMapped(tx *bolt.Tx) {
	info := s.db.Info()
	size := tx.Size()
	if info == nil || info.Data == 0 || size <= 0 {
		return
	}
	// bbolt maps the file read-only and shared: dropped pages are read back
	// from the file on the next access, unchanged.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), uintptr(unix.MADV_DONTNEED))
}
