package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"frontdesk/storage"
)

// Status is the outcome of one mailbox check, for the app's status line.
type Status struct {
	Checked time.Time  // when the check finished
	Report  SyncReport // what it imported
	Err     error      // nil when the check worked
	Offline bool       // the server could not be reached; Watch tries again later
	Next    time.Time  // when the next check is due
}

// String is the status line: "Checked 10:32 — 3 new", "Offline at 10:32 —
// trying again at 10:33", or the error in plain words.
func (s Status) String() string {
	at := s.Checked.Format("15:04")
	switch {
	case s.Offline:
		return fmt.Sprintf("Offline at %s — trying again at %s", at, s.Next.Format("15:04"))
	case s.Err != nil:
		return fmt.Sprintf("Checked %s — %s", at, errorText(s.Err))
	}
	line := fmt.Sprintf("Checked %s — %d new", at, s.Report.New)
	if s.Report.NeedsReview > 0 {
		line += fmt.Sprintf(", %d to review", s.Report.NeedsReview)
	}
	return line
}

func errorText(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// offlineRetry is how soon Watch tries again when the server is unreachable.
const offlineRetry = time.Minute

// isOffline reports errors that mean "no network or no server right now"
// rather than a setting to fix.
func isOffline(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Step {
	case StepNameLookup, StepConnect, StepTimeout:
		return true
	}
	return false
}

// Watch checks the mailbox now and then every interval until ctx ends,
// calling onStatus (from its own goroutine) after each check. When the
// server cannot be reached it says so and tries again sooner (within a
// minute). The returned checkNow asks for a check at once ("Check now");
// checks never overlap.
func Watch(ctx context.Context, a Account, st State, every time.Duration, opts SyncOptions, onStatus func(Status)) (checkNow func()) {
	return watch(ctx, func(ctx context.Context) (SyncReport, time.Duration, error) {
		rep, err := Sync(ctx, a, st, opts)
		return rep, every, err
	}, onStatus)
}

// check is one mailbox check; it also says how long to wait for the next.
type check func(ctx context.Context) (SyncReport, time.Duration, error)

const defaultEvery = 10 * time.Minute

func watch(ctx context.Context, run check, onStatus func(Status)) (checkNow func()) {
	now := make(chan struct{}, 1)
	go func() {
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			case <-now:
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			}
			rep, wait, err := run(ctx)
			if ctx.Err() != nil {
				return
			}
			if wait <= 0 {
				wait = defaultEvery
			}
			s := Status{Checked: time.Now(), Report: rep, Err: err, Offline: isOffline(err)}
			if s.Offline && offlineRetry < wait {
				wait = offlineRetry
			}
			s.Next = s.Checked.Add(wait)
			if onStatus != nil {
				onStatus(s)
			}
			timer.Reset(wait)
		}
	}()
	return func() {
		select {
		case now <- struct{}{}:
		default: // a check is already asked for
		}
	}
}

// WatchStore is Watch over the mail account kept in the store, read again
// before every check, so changed settings (or the demo mailbox) apply from
// the next check on without a restart; the interval is the account's
// IntervalMinutes (10 minutes when unset). With no account set up, each
// check reports an Error wrapping ErrNoAccount and the next one waits the
// usual 10 minutes; checkNow after saving an account imports at once.
func WatchStore(ctx context.Context, st *storage.Store, opts SyncOptions, onStatus func(Status)) (checkNow func()) {
	return watch(ctx, func(ctx context.Context) (SyncReport, time.Duration, error) {
		m, _, err := st.MailAccount()
		every := time.Duration(m.IntervalMinutes) * time.Minute
		if err != nil {
			return SyncReport{}, every, err
		}
		rep, err := SyncStore(ctx, st, opts)
		return rep, every, err
	}, onStatus)
}
