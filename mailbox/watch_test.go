package mailbox

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWatchChecksNowAndReportsOffline(t *testing.T) {
	m, a := startTestServer(t, nil)
	appendAll(t, m, a, fixtureMessages(t, 3))
	st := newMemState()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	statuses, next := statusQueue(t)
	checkNow := Watch(ctx, a, st, time.Hour, SyncOptions{}, func(s Status) { statuses <- s })

	first := next() // the check at start
	if first.Err != nil || first.Report.New == 0 || !strings.Contains(first.String(), " new") {
		t.Fatalf("first status %q (%v)", first, first.Err)
	}

	appendAll(t, m, a, [][]byte{generatedRequest(77)})
	checkNow()
	if s := next(); s.Report.New != 1 || s.String() != "Checked "+s.Checked.Format("15:04")+" — 1 new" {
		t.Fatalf("after Check now: %q", s)
	}

	m.stop() // the network goes away
	checkNow()
	s := next()
	if !s.Offline || !strings.HasPrefix(s.String(), "Offline at ") || s.Next.Sub(s.Checked) > offlineRetry {
		t.Fatalf("offline status %q (err %v)", s, s.Err)
	}
}

func TestStatusStringForErrors(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 32, 0, 0, time.UTC)
	tests := []struct {
		s    Status
		want string
	}{
		{Status{Checked: at, Report: SyncReport{New: 3}}, "Checked 10:32 — 3 new"},
		{Status{Checked: at, Report: SyncReport{New: 3, NeedsReview: 1}}, "Checked 10:32 — 3 new, 1 to review"},
		{Status{Checked: at, Err: newError(StepLogin, nil, "The mail server rejected the username or password.")},
			"Checked 10:32 — The mail server rejected the username or password."},
		{Status{Checked: at, Err: errors.New("mailbox: saving a request: disk full")}, "Checked 10:32 — mailbox: saving a request: disk full"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// statusQueue is where a watcher's statuses go, and next waits for the
// next one (failing the test after 30 s).
func statusQueue(t *testing.T) (chan Status, func() Status) {
	statuses := make(chan Status, 10)
	return statuses, func() Status {
		t.Helper()
		select {
		case s := <-statuses:
			return s
		case <-time.After(30 * time.Second):
			t.Fatal("no status")
		}
		return Status{}
	}
}
