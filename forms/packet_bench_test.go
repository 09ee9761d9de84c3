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
	benchPacket(b, PacketInput{Clinic: packetClinic, Patient: latinPacketPatient(), PrintedAt: packetTime})
}

func BenchmarkPacketCompletedLatin(b *testing.B) {
	tpl := packetTemplate(b)
	benchPacket(b, PacketInput{Clinic: packetClinic, Patient: latinPacketPatient(), PrintedAt: packetTime,
		Intake: &PacketIntake{ID: 4, Template: tpl, Answers: packetAnswers(tpl, "rf-bladder"), Status: "completed"}})
}

func BenchmarkPacketBlankCJK(b *testing.B) {
	benchPacket(b, PacketInput{Clinic: packetClinic, Patient: scriptsPacketPatient(), PrintedAt: packetTime})
}

func BenchmarkPacketCompletedCJK(b *testing.B) {
	tpl := packetTemplate(b)
	benchPacket(b, PacketInput{Clinic: packetClinic, Patient: scriptsPacketPatient(), PrintedAt: packetTime,
		Intake: &PacketIntake{ID: 4, Template: tpl, Answers: packetAnswers(tpl, "rf-bladder"), Status: "completed"}})
}

// BenchmarkPacketChineseName is a Latin packet for a patient with a
// Chinese name: the core DejaVu cuts plus a small CJK font.
func BenchmarkPacketChineseName(b *testing.B) {
	pt := latinPacketPatient()
	pt.FamilyName, pt.GivenName = "李", "小龙"
	benchPacket(b, PacketInput{Clinic: packetClinic, Patient: pt, PrintedAt: packetTime})
}

// BenchmarkPacketCJKFirstUse is the one-off cost of a packet bringing CJK
// characters the process has not printed before: Droid Sans Fallback is cut
// down again to every character seen so far.
func BenchmarkPacketCJKFirstUse(b *testing.B) {
	fonts, err := loadFonts()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cjkSeen.Lock()
		cjkSeen.runes, cjkSeen.font = nil, nil
		cjkSeen.Unlock()
		if _, err := cjkSeenFont(fonts.face(kindCJK), []rune("李小龙")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/cut")
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
	res, err := RenderPacket(io.Discard, PacketInput{Clinic: packetClinic, Patient: scriptsPacketPatient(), PrintedAt: packetTime})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("FRONTDESK_PACKET_ONESHOT") != "" {
		t.Logf("first packet in process: %v, %d bytes", time.Since(start), res.Bytes)
	}
}
