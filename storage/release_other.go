//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package storage

// releaseMapped does nothing where madvise is not available.
func (s *Store) releaseMapped() {}
