package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"frontdesk/storage"
)

// frontdesk runs the command line in-process and returns its exit status and output.
func frontdesk(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// Test staff account that setUpStore creates.
const (
	testAdmin    = "Test Admin"
	testPassword = "test admin password"
)

// setUpStore sets Front Desk up in dir, as a clinic does before first use
// (frontdesk setup), and signs later commands of the test in as its admin
// through FRONTDESK_USER and FRONTDESK_PASSWORD.
func setUpStore(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("FRONTDESK_RECOVERY_KEY", "")
	t.Setenv("FRONTDESK_USER", "")
	t.Setenv("FRONTDESK_PASSWORD", "")
	t.Setenv("FRONTDESK_NEW_PASSWORD", testPassword)
	if code, out, stderr := frontdesk(t, "setup", "--admin", testAdmin, "--data", dir); code != 0 || !strings.Contains(out, "RECOVERY KEY") {
		t.Fatalf("setup (exit %d): %s %s", code, out, stderr)
	}
	t.Setenv("FRONTDESK_NEW_PASSWORD", "")
	t.Setenv("FRONTDESK_USER", testAdmin)
	t.Setenv("FRONTDESK_PASSWORD", testPassword)
}

// openTestStore opens the store that setUpStore set up in dir and signs in
// as its admin. The caller closes it before running commands: the store
// file is open to one process at a time.
func openTestStore(t *testing.T, dir string) *storage.Store {
	t.Helper()
	st, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Unlock(testAdmin, testPassword); err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st
}

func writeCSV(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "patients.csv")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportSearchDuplicatesExport(t *testing.T) {
	dir := t.TempDir()
	setUpStore(t, dir)
	csv := writeCSV(t, t.TempDir(), "\ufeffgiven_name,family_name,date_of_birth,phone,email\n"+
		"Zoë,Nguyễn,1986-03-14,(555) 123-4567,zoe@example.org\n"+
		"小龙,李,1960-11-27,,\n"+
		"Zoe,Nguyen,1986-03-14,,other@example.org\n")

	code, out, stderr := frontdesk(t, "import", "--csv", csv, "--data", dir)
	if code != 0 {
		t.Fatalf("import exit %d: %s %s", code, out, stderr)
	}
	if !strings.Contains(out, "Imported 2") || !strings.Contains(out, "line 4: skipped") {
		t.Fatalf("import report:\n%s", out)
	}
	// The same file again adds nothing.
	code, out, _ = frontdesk(t, "import", "--csv", csv, "--data", dir)
	if code != 0 || !strings.Contains(out, "Imported 0") {
		t.Fatalf("second import (exit %d):\n%s", code, out)
	}

	code, out, _ = frontdesk(t, "search", "nguyen", "--json", "--data", dir)
	if code != 0 {
		t.Fatalf("search exit %d", code)
	}
	var results []struct {
		Patient storage.Patient `json:"patient"`
		Matched []string        `json:"matched"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("search --json is not JSON: %v\n%s", err, out)
	}
	if len(results) != 1 || results[0].Patient.GivenName != "Zoë" {
		t.Fatalf("search nguyen: %+v", results)
	}
	code, out, _ = frontdesk(t, "search", "李", "--data", dir)
	if code != 0 || !strings.Contains(out, "李小龙") {
		t.Fatalf("search 李 (exit %d):\n%s", code, out)
	}
	code, out, _ = frontdesk(t, "search", "555-123-4567", "--data", dir)
	if code != 0 || !strings.Contains(out, "Zoë Nguyễn") {
		t.Fatalf("search by phone (exit %d):\n%s", code, out)
	}

	code, out, _ = frontdesk(t, "duplicates", "--json", "--data", dir)
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("duplicates on a clean store (exit %d): %s", code, out)
	}

	code, out, _ = frontdesk(t, "export", "--json", "--data", dir)
	if code != 0 {
		t.Fatalf("export exit %d", code)
	}
	var export struct {
		Format   string            `json:"format"`
		Patients []storage.Patient `json:"patients"`
	}
	if err := json.Unmarshal([]byte(out), &export); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if export.Format != "frontdesk-export" || len(export.Patients) != 2 {
		t.Fatalf("export: format %q, %d patients", export.Format, len(export.Patients))
	}
}

func TestInvalidCSVImportsNothing(t *testing.T) {
	dir := t.TempDir()
	setUpStore(t, dir)
	csv := writeCSV(t, t.TempDir(), "given_name,family_name,date_of_birth\nAna,Souza,1999-02-30\nBo,Li,1980-01-01\n")
	code, out, stderr := frontdesk(t, "import", "--csv", csv, "--data", dir)
	if code == 0 {
		t.Fatalf("an invalid row was accepted:\n%s", out)
	}
	if !strings.Contains(out, "line 2") {
		t.Fatalf("the bad line is not named:\n%s\n%s", out, stderr)
	}
	code, out, _ = frontdesk(t, "search", "li", "--data", dir)
	if code != 0 || !strings.Contains(out, "No patients match") {
		t.Fatalf("something was imported (exit %d):\n%s", code, out)
	}
	code, out, _ = frontdesk(t, "import", "--csv", csv, "--skip-invalid", "--data", dir)
	if code != 0 || !strings.Contains(out, "Imported 1") {
		t.Fatalf("--skip-invalid (exit %d):\n%s", code, out)
	}
}

func TestBadCommandLinesFailClearly(t *testing.T) {
	dir := t.TempDir()
	setUpStore(t, dir)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"search", "--data", dir}, 2, "needs a query"},
		{[]string{"import", "--data", dir}, 2, "needs a file"},
		{[]string{"import", "--csv", filepath.Join(dir, "missing.csv"), "--data", dir}, 1, "cannot read the CSV file"},
		{[]string{"seed", "--patients", "0", "--data", dir}, 2, "positive count"},
		{[]string{"export", "--data", dir}, 2, "export writes JSON"},
		{[]string{"packet", "--data", dir}, 2, "needs a patient"},
		{[]string{"packet", "--patient", "999", "--data", dir}, 1, "no patient number 999"},
		{[]string{"search", "--bogus", "x", "--data", dir}, 2, "flag provided but not defined"},
	} {
		code, out, stderr := frontdesk(t, tc.args...)
		if code != tc.code || !strings.Contains(out+stderr, tc.want) {
			t.Errorf("%v: exit %d (want %d), output %q %q, want it to say %q", tc.args, code, tc.code, out, stderr, tc.want)
		}
	}
}

func TestSeedAndPacketCommand(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext (poppler-utils) is needed: make deps-test installs it")
	}
	dir := t.TempDir()
	setUpStore(t, dir)
	if code, out, stderr := frontdesk(t, "seed", "--patients", "20", "--data", dir); code != 0 || !strings.Contains(out, "Added 20 demo patients") {
		t.Fatalf("seed (exit %d): %s %s", code, out, stderr)
	}
	st := openTestStore(t, dir)
	p, _ := st.Patient(1)
	intakes, _ := st.IntakesFor(1)
	st.Close()
	if len(intakes) == 0 {
		t.Fatal("seeded patient has no intake")
	}

	code, out, stderr := frontdesk(t, "packet", "--patient", "1", "--blank", "--data", dir)
	if code != 0 {
		t.Fatalf("packet --blank (exit %d): %s %s", code, out, stderr)
	}
	path := strings.Fields(strings.TrimPrefix(out, "Wrote "))[0]
	if filepath.Dir(path) != filepath.Join(dir, "packets") || !strings.HasSuffix(path, "-intake.pdf") {
		t.Fatalf("packet written to %q, want the packets folder", path)
	}

	outFile := filepath.Join(t.TempDir(), "evaluation.pdf")
	code, out, stderr = frontdesk(t, "packet", "--patient", "1", "--intake", itoa(intakes[0].ID), "--out", outFile, "--data", dir)
	if code != 0 {
		t.Fatalf("packet --intake (exit %d): %s %s", code, out, stderr)
	}
	text, err := exec.Command(pdftotext, outFile, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{p.FamilyName, "Page 3 of 3", "red-flag screen"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("packet text lacks %q", want)
		}
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestCommandsNeedSetupAndTheRightPassword(t *testing.T) {
	notSetUp := t.TempDir()
	dir := t.TempDir()
	setUpStore(t, dir)
	csv := writeCSV(t, t.TempDir(), "given_name,family_name,date_of_birth\nBo,Li,1980-01-01\n")
	for _, tc := range []struct {
		name             string
		user, password   string
		recoveryKey      string
		data             string
		args             []string
		want, wantAbsent string
	}{
		{"search, never set up", testAdmin, testPassword, "", notSetUp, []string{"search", "li"}, "run frontdesk setup", ""},
		{"import, never set up", testAdmin, testPassword, "", notSetUp, []string{"import", "--csv", csv}, "run frontdesk setup", ""},
		{"mailbox sync, never set up", testAdmin, testPassword, "", notSetUp, []string{"mailbox", "sync"}, "run frontdesk setup", ""},
		{"search, wrong password", testAdmin, "not the password", "", dir, []string{"search", "li"}, "the name or password is wrong", "not the password"},
		{"import, wrong password", testAdmin, "not the password", "", dir, []string{"import", "--csv", csv}, "the name or password is wrong", "not the password"},
		{"export, unknown name", "Nobody", testPassword, "", dir, []string{"export", "--json"}, "the name or password is wrong", testPassword},
		{"--user beats FRONTDESK_USER", "Nobody", testPassword, "", dir, []string{"search", "li", "--user", "Somebody Else"}, "the name or password is wrong", ""},
		{"wrong recovery key", testAdmin, testPassword, "AAAA-BBBB", dir, []string{"search", "li"}, "recovery key", "AAAA-BBBB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FRONTDESK_USER", tc.user)
			t.Setenv("FRONTDESK_PASSWORD", tc.password)
			t.Setenv("FRONTDESK_RECOVERY_KEY", tc.recoveryKey)
			code, out, stderr := frontdesk(t, append(tc.args, "--data", tc.data)...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q (stdout %q)", code, stderr, tc.want, out)
			}
			if tc.wantAbsent != "" && strings.Contains(out+stderr, tc.wantAbsent) {
				t.Errorf("the output shows the secret %q: %s%s", tc.wantAbsent, out, stderr)
			}
		})
	}

	// Nothing was imported by the refused commands, and the right password
	// still works (two wrong passwords in a row do not yet make it wait).
	code, out, stderr := frontdesk(t, "search", "li", "--data", dir)
	if code != 0 || !strings.Contains(out, "No patients match") {
		t.Errorf("search with the right password (exit %d): %s %s", code, out, stderr)
	}
}
