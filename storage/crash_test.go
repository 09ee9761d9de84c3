package storage

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontdesk/forms"
)

// envCrashDir makes the test binary, started again as a child, write to the
// encrypted store in that folder until it is killed.
const envCrashDir = "FRONTDESK_TEST_CRASH_DIR"

// TestHelperProcessWritesUntilKilled is the child of TestCrashSafety: it
// signs in and saves patients and intakes in a loop, printing "P id" or
// "I id" only after each save has returned (committed and synced). Between
// them it imports booking requests as the mail import does, in batches of
// 8 with the sync position, from where the position on disk says, and
// prints "R id" for each request once the batch has returned.
func TestHelperProcessWritesUntilKilled(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		return // only meaningful as a child
	}
	fail := func(err error) {
		fmt.Printf("ERROR %v\n", err)
		os.Exit(1)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fail(err)
	}
	if _, err := s.Unlock(adminName, adminPass); err != nil {
		fail(err)
	}
	_, lastUID, err := s.MailSyncState("INBOX")
	if err != nil {
		fail(err)
	}
	for i := 0; ; i++ {
		p := Patient{GivenName: "Crash", FamilyName: fmt.Sprintf("Test%d", i), DateOfBirth: "1980-01-02",
			Phones: []Phone{{Number: "(555) 010-" + fmt.Sprintf("%04d", i%10000)}}}
		if err := s.CreatePatient(&p); err != nil {
			fail(err)
		}
		fmt.Printf("P %d\n", p.ID)
		in := Intake{PatientID: p.ID, Answers: forms.Answers{"visit-reason": forms.Text("back pain")}}
		if err := s.CreateIntake(&in); err != nil {
			fail(err)
		}
		fmt.Printf("I %d\n", in.ID)
		in.Answers["rf-fever"] = forms.No()
		if err := s.UpdateIntake(&in); err != nil {
			fail(err)
		}
		batch := importBenchRequestsFrom(int(lastUID), 8)
		lastUID += uint32(len(batch))
		saved, err := s.ImportBookingRequests(batch, MailSyncPosition{Folder: "INBOX", UIDValidity: 1764000000, LastUID: lastUID})
		if err != nil {
			fail(err)
		}
		for _, r := range saved {
			fmt.Printf("R %d\n", r.ID)
		}
	}
}

// TestCrashSafety kills a writing child with SIGKILL at random moments, 100
// times. After every kill the store must open, unlock, pass bbolt's
// integrity check and hold every patient, intake and booking request (with
// its raw email) the child said it saved, and the mailbox's sync position
// must be exactly as far as the requests saved.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	s, _ := newEncryptedStore(t, dir)
	s.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	var patients, intakes, requests []uint64
	kills := 100
	for round := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessWritesUntilKilled$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment: sometimes while it opens and signs in,
		// mostly while it writes.
		var kill <-chan time.Time
		if rng.IntN(10) == 0 {
			kill = time.After(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
		saved := 0
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				if strings.HasPrefix(line, "ERROR") {
					t.Fatalf("round %d: child: %s", round, line)
				}
				kind, num, found := strings.Cut(line, " ")
				id, err := strconv.ParseUint(num, 10, 64)
				if !found || err != nil {
					continue
				}
				switch kind {
				case "P":
					patients = append(patients, id)
				case "I":
					intakes = append(intakes, id)
				case "R":
					requests = append(requests, id)
				}
				if saved++; saved == 1 && kill == nil {
					kill = time.After(time.Duration(rng.IntN(60)) * time.Millisecond)
				}
			case <-kill:
				cmd.Process.Signal(syscall.SIGKILL)
				kill = nil
			}
		}
		cmd.Wait()
		checkAfterCrash(t, dir, round, patients, intakes, requests)
	}
	t.Logf("%d kills; %d patients, %d intakes and %d booking requests confirmed and found after every kill",
		kills, len(patients), len(intakes), len(requests))
}

func checkAfterCrash(t *testing.T, dir string, round int, patients, intakes, requests []uint64) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("round %d: open after SIGKILL: %v", round, err)
	}
	defer s.Close()
	if _, err := s.Unlock(adminName, adminPass); err != nil {
		t.Fatalf("round %d: unlock after SIGKILL: %v", round, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("round %d: integrity check: %v", round, err)
	}
	for _, id := range patients {
		if _, err := s.Patient(id); err != nil {
			t.Fatalf("round %d: patient %d was confirmed saved but: %v", round, id, err)
		}
	}
	for _, id := range intakes {
		if _, err := s.Intake(id); err != nil {
			t.Fatalf("round %d: intake %d was confirmed saved but: %v", round, id, err)
		}
	}
	if s.PatientCount() < len(patients) {
		t.Fatalf("round %d: the index holds %d patients, %d confirmed", round, s.PatientCount(), len(patients))
	}
	for _, id := range requests {
		if _, err := s.BookingRequest(id); err != nil {
			t.Fatalf("round %d: booking request %d was confirmed saved but: %v", round, id, err)
		}
		if _, err := s.BookingRequestRaw(id); err != nil {
			t.Fatalf("round %d: the email of booking request %d was confirmed saved but: %v", round, id, err)
		}
	}
	// The requests and the position are written together: the requests
	// on disk are UIDs 1 to the position, no more, no fewer.
	_, last, err := s.MailSyncState("INBOX")
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	total := 0
	for _, n := range s.BookingRequestCounts() {
		total += n
	}
	if total != int(last) || total < len(requests) {
		t.Fatalf("round %d: %d booking requests on disk, sync position %d, %d confirmed", round, total, last, len(requests))
	}
}
