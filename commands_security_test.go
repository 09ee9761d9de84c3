package main

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCmd runs frontdesk with args and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSecurityCommands(t *testing.T) {
	dir := t.TempDir()
	backups := filepath.Join(t.TempDir(), "usb")
	t.Setenv("FRONTDESK_USER", "")
	t.Setenv("FRONTDESK_PASSWORD", "")
	t.Setenv("FRONTDESK_RECOVERY_KEY", "")
	t.Setenv("FRONTDESK_NEW_PASSWORD", "admin password 1")

	code, out, errOut := runCmd(t, "setup", "--data", dir, "--admin", "Maya")
	if code != 0 || !regexp.MustCompile(`(?m)^    ([A-Z2-7]{4}-){7}[A-Z2-7]{4}$`).MatchString(out) {
		t.Fatalf("setup: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd(t, "setup", "--data", dir, "--admin", "Maya"); code != 1 || !strings.Contains(errOut, "already set up") {
		t.Errorf("second setup: %d %s", code, errOut)
	}

	t.Setenv("FRONTDESK_PASSWORD", "admin password 1")
	t.Setenv("FRONTDESK_NEW_PASSWORD", "reception pass")
	steps := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"users", "add", "Rita", "Reyes", "--user", "maya", "--role", "reception"}, 0, "Added Rita Reyes (reception)."},
		{[]string{"users", "list", "--user", "Maya"}, 0, "Rita Reyes"},
		{[]string{"users", "list", "--user", "Maya", "--data", dir}, 0, "admin"},
		{[]string{"users", "fire", "Rita", "--user", "Maya"}, 2, "unknown users action"},
		{[]string{"users", "add", "--user", "Maya"}, 2, "users list"},
		{[]string{"backup", "--user", "Maya"}, 2, "backup needs a folder"},
		{[]string{"backup", "--to", backups, "--keep", "2", "--user", "Maya"}, 0, "verified"},
		{[]string{"users", "add", "Eve", "--user", "Rita Reyes"}, 1, "wrong"}, // Rita's password is not $FRONTDESK_PASSWORD
		{[]string{"audit", "--user", "Maya", "--action", "backup"}, 0, "backup"},
		{[]string{"users", "disable", "Rita Reyes", "--user", "Maya"}, 0, "Disabled Rita Reyes"},
	}
	for _, st := range steps {
		args := append([]string{}, st.args...)
		if !strings.Contains(strings.Join(args, " "), "--data") {
			args = append(args, "--data", dir)
		}
		code, out, errOut := runCmd(t, args...)
		if code != st.code || !strings.Contains(out+errOut, st.want) {
			t.Errorf("frontdesk %s: exit %d, want %d, output lacks %q:\n%s%s", strings.Join(st.args, " "), code, st.code, st.want, out, errOut)
		}
	}

	code, out, errOut = runCmd(t, "audit", "--csv", "--data", dir, "--user", "Maya")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) < 6 || rows[0][3] != "action" {
		t.Fatalf("audit --csv: %d %v\n%s%s", code, err, out, errOut)
	}
	var actions []string
	for _, r := range rows[1:] {
		actions = append(actions, r[3])
	}
	for _, want := range []string{"setup", "add-user", "backup", "failed-sign-in", "disable-user"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("the audit CSV lacks %s: %v", want, actions)
		}
	}

	code, out, errOut = runCmd(t, "restore", "--from", filepath.Join(backups, "nothing.db"), "--data", dir, "--user", "Maya")
	if code != 1 || !strings.Contains(errOut, "cannot restore") {
		t.Errorf("restore of a missing file: %d %s%s", code, out, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(backups, "frontdesk-*.db"))
	if len(files) != 1 {
		t.Fatalf("backups: %v", files)
	}
	code, out, errOut = runCmd(t, "restore", "--from", files[0], "--data", dir, "--user", "Maya")
	if code != 0 || !strings.Contains(out, "kept as") {
		t.Errorf("restore: %d %s%s", code, out, errOut)
	}

	if !stdinIsTerminal() {
		t.Setenv("FRONTDESK_PASSWORD", "")
		t.Setenv("FRONTDESK_USER", "")
		code, _, errOut := runCmd(t, "users", "list", "--data", dir)
		if code != 1 || !strings.Contains(errOut, "no terminal to ask") {
			t.Errorf("no credentials and no terminal: %d %s", code, errOut)
		}
	}
	code, _, errOut = runCmd(t, "users", "list", "--data", t.TempDir(), "--user", "Maya")
	if code != 1 || !strings.Contains(errOut, "run frontdesk setup") {
		t.Errorf("a store not set up: %d %s", code, errOut)
	}
}
