package forms

import (
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Benchmarks: go test -run XXX -bench Packet -benchmem ./forms/
// Goals (issue 3): ≤ 35 ms warm for a Latin-only packet, ≤ 50 ms with CJK.

func benchPacket(b *testing.B, in PacketInput) {
	b.Helper()
	res, err := RenderPacket(io.Discard, in) // warm: fonts read, CJK blocks cut
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := RenderPacket(io.Discard, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/packet")
	b.ReportMetric(float64(res.Bytes), "bytes/pdf")
	b.ReportMetric(float64(res.Pages), "pages")
}

func BenchmarkPacketBlankLatin(b *testing.B) {
	benchPacket(b, PacketInput{Clinic: testClinic, Patient: latinPatient(), PrintedAt: packetTime})
}

func BenchmarkPacketCompletedLatin(b *testing.B) {
	tpl := evaluation(b)
	benchPacket(b, PacketInput{Clinic: testClinic, Patient: latinPatient(), PrintedAt: packetTime,
		Intake: &PacketIntake{ID: 4, Template: tpl, Answers: answersAll(tpl, "rf-bladder"), Status: "completed"}})
}

func BenchmarkPacketBlankCJK(b *testing.B) {
	benchPacket(b, PacketInput{Clinic: testClinic, Patient: testPatient(), PrintedAt: packetTime})
}

func BenchmarkPacketCompletedCJK(b *testing.B) {
	tpl := evaluation(b)
	benchPacket(b, PacketInput{Clinic: testClinic, Patient: testPatient(), PrintedAt: packetTime,
		Intake: &PacketIntake{ID: 4, Template: tpl, Answers: answersAll(tpl, "rf-bladder"), Status: "completed"}})
}

// BenchmarkPacketCJKBlockCut is the one-off cost, per process, of the first
// packet that needs a new 1,024-character block of Droid Sans Fallback.
func BenchmarkPacketCJKBlockCut(b *testing.B) {
	fonts, err := loadFonts()
	if err != nil {
		b.Fatal(err)
	}
	block := 0x9F99 >> cjkBlockBits
	b.ReportAllocs()
	for b.Loop() {
		cjkBlocks.Lock()
		delete(cjkBlocks.cut, block)
		cjkBlocks.Unlock()
		if _, err := cjkBlockFont(fonts.face(kindCJK), block); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/block")
}

// BenchmarkPacketFreshProcess starts this test binary to render one CJK
// packet and exit, like a `frontdesk packet` run: process start, reading
// the fonts, cutting the CJK blocks, rendering.
func BenchmarkPacketFreshProcess(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cmd := exec.Command(exe, "-test.run=^TestPacketOneShot$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FRONTDESK_PACKET_ONESHOT=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/process")
}

// TestPacketOneShot renders one packet; BenchmarkPacketFreshProcess times
// it in a fresh process. On its own it is a quick smoke test.
func TestPacketOneShot(t *testing.T) {
	start := time.Now()
	res, err := RenderPacket(io.Discard, PacketInput{Clinic: testClinic, Patient: testPatient(), PrintedAt: packetTime})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("FRONTDESK_PACKET_ONESHOT") != "" {
		t.Logf("first packet in process: %v, %d bytes", time.Since(start), res.Bytes)
	}
}
