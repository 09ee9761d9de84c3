package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"frontdesk/storage"
)

func (h *harness) signIn(t *testing.T, name, password string) {
	t.Helper()
	g := h.ui.gate
	g.name.SetText("")
	g.password.SetText("")
	test.Type(g.name, name)
	test.Type(g.password, password)
	test.Tap(g.button)
}

func TestFirstStartCreatesTheAdminAndShowsTheRecoveryKey(t *testing.T) {
	h := newLockedHarness(t)
	g := h.ui.gate
	if !g.content.Visible() || h.ui.tabs.Visible() || !g.setup {
		t.Fatal("a new store does not start on the set-up screen")
	}
	test.Type(g.name, "Maya")
	test.Type(g.password, "long enough 1")
	test.Type(g.confirm, "long enough 2")
	test.Tap(g.button)
	if h.store.State() != storage.StateNeedsSetup || !strings.Contains(g.message.Text, "not the same") {
		t.Fatalf("mismatched passwords: state %v, message %q", h.store.State(), g.message.Text)
	}
	test.Type(g.password, "long enough 1")
	test.Type(g.confirm, "long enough 1")
	test.Tap(g.button)
	if h.store.State() != storage.StateUnlocked || g.content.Visible() || !h.ui.tabs.Visible() {
		t.Fatal("set-up did not open the store")
	}
	if g.recoveryKeyDialog == nil || len(g.recoveryKey) < 20 || !strings.Contains(h.markup(), g.recoveryKey) {
		t.Fatal("the recovery key is not shown")
	}
	if h.ui.tabs.Items[len(h.ui.tabs.Items)-1] != h.ui.secTab {
		t.Fatal("the administrator has no Security tab")
	}
	if h.ui.settings.status.Text != "" || h.ui.settings.mail.result.Text != "" {
		t.Errorf("Settings still shows the locked store's error: %q %q", h.ui.settings.status.Text, h.ui.settings.mail.result.Text)
	}
	// The key opens the store again.
	if err := h.store.Lock(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.UnlockWithRecoveryKey(g.recoveryKey); err != nil {
		t.Fatalf("the key shown does not unlock: %v", err)
	}
}

func TestLockHidesEverythingAndKeepsTheDraft(t *testing.T) {
	h := newLockedHarness(t)
	if _, err := h.store.Setup("Maya", "long enough 1"); err != nil {
		t.Fatal(err)
	}
	h.ui.unlocked()
	p := storage.Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	is := h.startIntake(t, p)
	test.Type(is.inputs["visit-reason"].(*widget.Entry), "Sciatica")

	h.ui.lock("Locked.")
	if h.store.State() != storage.StateLocked || !h.ui.gate.content.Visible() || h.ui.tabs.Visible() {
		t.Fatal("locking left the records on screen or the key in memory")
	}
	if _, err := h.store.Patient(p.ID); !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("the store still reads patients while locked: %v", err)
	}
	if strings.Contains(h.markup(), "Nguyễn") {
		t.Fatal("the patient's name shows on the lock screen")
	}

	h.signIn(t, "Maya", "wrong password")
	if h.store.State() != storage.StateLocked || !strings.Contains(h.ui.gate.message.Text, "do not match") {
		t.Fatalf("a wrong password: state %v, message %q", h.store.State(), h.ui.gate.message.Text)
	}
	h.signIn(t, "Maya", "long enough 1")
	if h.store.State() != storage.StateUnlocked || h.ui.gate.content.Visible() {
		t.Fatal("the right password did not unlock")
	}
	if h.ui.patients.intake != is {
		t.Fatal("the open intake was lost across the lock")
	}
	test.Type(is.inputs["visit-reason"].(*widget.Entry), " on the left")
	saved := is.flush()
	got, err := h.store.Intake(saved.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Answers["visit-reason"].Text != "Sciatica on the left" {
		t.Fatalf("the draft after the lock reads %q", got.Answers["visit-reason"].Text)
	}
	// The view and the sign-ins are in the audit log.
	events, err := h.store.AuditEvents(storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[storage.AuditAction]bool{}
	for _, e := range events {
		seen[e.Action] = true
	}
	for _, a := range []storage.AuditAction{storage.ActionViewPatient, storage.ActionLock, storage.ActionFailedSignIn, storage.ActionSignIn} {
		if !seen[a] {
			t.Errorf("the audit log has no %s event", a)
		}
	}
}

func TestIdleWindowLocksItself(t *testing.T) {
	h := newLockedHarness(t)
	if _, err := h.store.Setup("Maya", "long enough 1"); err != nil {
		t.Fatal(err)
	}
	h.ui.unlocked()
	h.ui.settings.current.AutoLockMinutes = 1
	h.ui.idle.mu.Lock()
	h.ui.idle.last = time.Now().Add(-2 * time.Minute)
	h.ui.idle.mu.Unlock()
	h.ui.watchIdle()
	defer h.ui.Stop()
	waitFor(t, func() bool { return h.store.State() == storage.StateLocked })
	h.ui.Stop() // the lock ran on the ticker's goroutine; wait for it before reading the screen
	if !strings.Contains(h.ui.gate.message.Text, "quiet spell") || h.ui.tabs.Visible() {
		t.Fatalf("the lock screen says %q (records visible: %v)", h.ui.gate.message.Text, h.ui.tabs.Visible())
	}
}

func TestScheduledBackupRunsWhenDue(t *testing.T) {
	h := newLockedHarness(t)
	if _, err := h.store.Setup("Maya", "long enough 1"); err != nil {
		t.Fatal(err)
	}
	h.ui.unlocked()
	p := storage.Patient{GivenName: "Ana", FamilyName: "Souza", DateOfBirth: "1990-01-01"}
	if err := h.store.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h.ui.settings.current.BackupDir = dir
	h.ui.backupIfDue()
	files, err := storage.BackupFiles(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("after the first due check: %d backups (%v)", len(files), err)
	}
	if !strings.Contains(h.ui.security.status.Text, "1 patients") {
		t.Errorf("the Security tab says %q", h.ui.security.status.Text)
	}
	h.ui.lastBackupTry = time.Time{}
	h.ui.backupIfDue() // the last backup is minutes old: not due
	if files, _ := storage.BackupFiles(dir); len(files) != 1 {
		t.Fatalf("a backup ran before it was due: %d", len(files))
	}
}

func TestAdminAddsStaffAndOnlyAdminsSeeSecurity(t *testing.T) {
	h := newLockedHarness(t)
	if _, err := h.store.Setup("Maya", "long enough 1"); err != nil {
		t.Fatal(err)
	}
	h.ui.unlocked()
	sec := h.ui.security
	test.Type(sec.addName, "Rita")
	sec.addRole.SetSelected(string(storage.RoleReception))
	test.Type(sec.addPass, "short")
	test.Tap(sec.addButton)
	if !strings.Contains(sec.status.Text, "Not added") {
		t.Fatalf("a short password was accepted: %q", sec.status.Text)
	}
	sec.addPass.SetText("")
	test.Type(sec.addPass, "reception pass 1")
	test.Tap(sec.addButton)
	users, err := h.store.Users()
	if err != nil || len(users) != 2 {
		t.Fatalf("staff after adding Rita: %v %v", users, err)
	}
	h.ui.tabs.Select(h.ui.secTab)
	if !strings.Contains(h.markup(), "Rita — reception") {
		t.Error("the staff list does not show Rita")
	}
	sec.loadAudit()
	if !strings.Contains(sec.auditList.Text, "add-user") {
		t.Errorf("the audit log on screen lacks the new account: %q", sec.auditList.Text)
	}

	h.ui.lock("Locked.")
	h.signIn(t, "Rita", "reception pass 1")
	if h.store.State() != storage.StateUnlocked {
		t.Fatal("Rita could not sign in")
	}
	for _, tab := range h.ui.tabs.Items {
		if tab == h.ui.secTab {
			t.Fatal("a receptionist sees the Security tab")
		}
	}
}
