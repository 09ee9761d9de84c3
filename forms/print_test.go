//go:build !windows

package forms

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakePathCommand puts a shell script named name first on PATH. It records its
// arguments, one a line, in the returned file.
func fakePathCommand(t *testing.T, name, body string) (argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '" + argsFile + "'; done\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return argsFile
}

func readFakeArgs(t *testing.T, file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the command was not run: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestPrintFile(t *testing.T) {
	pdf := filepath.Join(t.TempDir(), "Ñúñez-José-2026-11-26-intake.pdf")
	tests := []struct {
		name     string
		script   string
		printer  string
		wantArgs []string
		wantErr  string
	}{
		{name: "named printer", script: "exit 0", printer: "Front-Desk-Laser",
			wantArgs: []string{"-d", "Front-Desk-Laser", "-t", PrintJobTitle, pdf}},
		{name: "default printer", script: "exit 0",
			wantArgs: []string{"-t", PrintJobTitle, pdf}},
		{name: "refused", script: "echo 'lp: The printer or class does not exist.' >&2; exit 1", printer: "Nope",
			wantArgs: []string{"-d", "Nope", "-t", PrintJobTitle, pdf},
			wantErr:  "lp: The printer or class does not exist."},
		{name: "failed silently", script: "exit 3", wantErr: "exit status 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := fakePathCommand(t, "lp", tc.script)
			err := PrintFile(pdf, tc.printer)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("PrintFile: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if tc.wantArgs != nil {
				got := readFakeArgs(t, args)
				if strings.Join(got, "\x00") != strings.Join(tc.wantArgs, "\x00") {
					t.Errorf("lp %q, want lp %q", got, tc.wantArgs)
				}
			}
		})
	}
}

func TestPrintFileWithoutCUPS(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := PrintFile("/tmp/x.pdf", "")
	if err == nil || !strings.Contains(err.Error(), "CUPS") {
		t.Errorf("err = %v, want one saying CUPS is missing", err)
	}
}

func TestOpenFile(t *testing.T) {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	pdf := filepath.Join(t.TempDir(), "packet.pdf")
	args := fakePathCommand(t, name, "exit 0")
	if err := OpenFile(pdf); err != nil {
		t.Fatal(err)
	}
	if got := readFakeArgs(t, args); len(got) != 1 || got[0] != pdf {
		t.Errorf("%s %q, want the path alone", name, got)
	}
	fakePathCommand(t, name, "echo 'no application for application/pdf' >&2; exit 4")
	if err := OpenFile(pdf); err == nil || !strings.Contains(err.Error(), "no application for application/pdf") {
		t.Errorf("err = %v, want the viewer's message", err)
	}
}
