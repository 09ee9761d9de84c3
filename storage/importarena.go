package storage

import (
	"sync"
	"unsafe"
)

// importArena holds the keys and values an import's transaction puts.
// bbolt keeps the slices given to Put, unread, until the transaction
// commits (it copies them into pages then), so nothing handed out may be
// reused before the transaction ends; after it, release gives the chunks
// back to a pool for the next batch. Carving the values of a batch out of
// a few pooled chunks instead of allocating each (a request's JSON, its
// sealed JSON, its sealed email, its key) takes most of the import's
// garbage away: fewer allocations to zero, fewer collections, fewer pages
// for the system to fault in.
//
// Chunks idle in the pool are dropped at the second garbage collection, so
// the memory is not kept past an import. What the chunks hold is what is
// written to the file: sealed values in an encrypted store.
type importArena struct {
	cur    []byte    // the chunk being carved: cur[:len(cur)] is handed out
	chunks []*[]byte // every chunk taken from the pool
}

// importChunkSize is the size of a pooled chunk: a few requests' values.
// A value larger than a quarter of it gets its own allocation.
const importChunkSize = 128 << 10

var importChunks = sync.Pool{New: func() any {
	b := make([]byte, importChunkSize)
	return &b
}}

// room returns an empty slice with room for at least n bytes, to append to
// and then pass to keep.
func (a *importArena) room(n int) []byte {
	if cap(a.cur)-len(a.cur) < n {
		if n > importChunkSize/4 {
			return make([]byte, 0, n)
		}
		c := importChunks.Get().(*[]byte)
		a.chunks = append(a.chunks, c)
		a.cur = (*c)[:0]
	}
	return a.cur[len(a.cur):len(a.cur):cap(a.cur)]
}

// keep marks b, appended to a slice from room, as handed out, and returns
// it with no room past its end. When b outgrew its room it is its own
// allocation and the arena is unchanged.
func (a *importArena) keep(b []byte) []byte {
	b = b[:len(b):len(b)]
	if len(b) > 0 && len(b) <= cap(a.cur)-len(a.cur) &&
		unsafe.SliceData(b) == unsafe.SliceData(a.cur[len(a.cur):cap(a.cur)]) {
		a.cur = a.cur[:len(a.cur)+len(b)]
	}
	return b
}

// key returns id as an 8-byte big-endian key (itob) from the arena.
func (a *importArena) key(id uint64) []byte {
	b := a.room(8)
	b = append(b, byte(id>>56), byte(id>>48), byte(id>>40), byte(id>>32), byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	return a.keep(b)
}

// release gives the chunks back to the pool. Call it only once the
// transaction that was given the arena's slices has ended.
func (a *importArena) release() {
	for _, c := range a.chunks {
		importChunks.Put(c)
	}
	*a = importArena{}
}
