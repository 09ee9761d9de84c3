//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package storage

import bolt "go.etcd.io/bbolt"

// releaseMapped does nothing where madvise is not available.
func (s *Store) releaseMapped(*bolt.Tx) {}
