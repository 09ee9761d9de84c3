package mailbox

import (
	"runtime/debug"
	"testing"
)

// During an import the collector waits for a bounded amount of garbage
// (GOGC off under a memory limit of the memory at the start plus
// importGCHeadroom); the process's own settings come back after the last
// of overlapping imports.
func TestRelaxGCForImport(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(80))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 40))

	restore1 := relaxGCForImport()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC during an import = %d, want off (-1)", got)
	}
	limit := debug.SetMemoryLimit(-1)
	if limit < importGCHeadroom || limit > goMemory()+importGCHeadroom {
		t.Errorf("memory limit during an import = %d, want the memory at the start + %d", limit, importGCHeadroom)
	}
	restore2 := relaxGCForImport() // an overlapping import
	restore1()
	restore1() // twice is once
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("GOGC restored while an import still runs: %d", got)
	}
	restore2()
	if got := debug.SetGCPercent(80); got != 80 {
		t.Errorf("GOGC after the imports = %d, want 80 back", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("memory limit after the imports = %d, want %d back", got, int64(1<<40))
	}

	// A lower limit set for the process is kept.
	debug.SetMemoryLimit(1 << 20)
	restore := relaxGCForImport()
	if got := debug.SetMemoryLimit(-1); got != 1<<20 {
		t.Errorf("memory limit during an import = %d, want the process's lower %d", got, 1<<20)
	}
	restore()
}
