package mailbox

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// importGCHeadroom is how much memory an import may fill with garbage
// before the collector runs.
//
// An import is a burst of short-lived garbage: parsing, decoding and
// writing 2,000 requests allocates tens of MB while what stays alive grows by
// a few MB. With the default GOGC=100, a process whose live heap is small
// collects every few MB: ten collections per 2,000 messages, a quarter of
// the import's CPU on two cores. During an import the collector instead
// runs when the process's memory reaches what it was at the start plus
// this headroom (GOGC off under a memory limit), so memory stays bounded
// by a known amount and a few collections do the work of ten.
const importGCHeadroom = 64 << 20

var importGC struct {
	mu       sync.Mutex
	running  int // imports under way
	oldGOGC  int
	oldLimit int64
}

// relaxGCForImport lets the collector wait for importGCHeadroom of
// garbage until the returned function is called. Imports that overlap
// share one setting, made by the first and undone by the last. A memory
// limit set for the process (GOMEMLIMIT) that is lower is kept.
func relaxGCForImport() (restore func()) {
	importGC.mu.Lock()
	defer importGC.mu.Unlock()
	if importGC.running == 0 {
		limit := goMemory() + importGCHeadroom
		current := debug.SetMemoryLimit(-1) // reads it
		if current < limit {
			limit = current
		}
		importGC.oldLimit = debug.SetMemoryLimit(limit)
		importGC.oldGOGC = debug.SetGCPercent(-1)
	}
	importGC.running++
	var once sync.Once
	return func() {
		once.Do(func() {
			importGC.mu.Lock()
			defer importGC.mu.Unlock()
			importGC.running--
			if importGC.running == 0 {
				debug.SetGCPercent(importGC.oldGOGC)
				debug.SetMemoryLimit(importGC.oldLimit)
			}
		})
	}
}

// goMemory is the memory the Go runtime holds, as its memory limit counts
// it: everything it mapped minus what it returned to the system.
func goMemory() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	total, released := s[0].Value.Uint64(), s[1].Value.Uint64()
	if total < released || total-released > math.MaxInt64/2 {
		return 0
	}
	return int64(total - released)
}
