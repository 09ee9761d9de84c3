package forms

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// PrintJobTitle is the job name a packet has in the print queue. It names no
// patient: print queues are visible to everyone on a shared printer.
const PrintJobTitle = "Front Desk intake packet"

// OpenFile opens a file in the system's default viewer: xdg-open on Linux
// and BSD, open on macOS, the file's registered program on Windows. It
// returns once the viewer has been started.
func OpenFile(path string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", path)
	case "darwin":
		cmd = exec.Command("open", notAnOption(path))
	default:
		cmd = exec.Command("xdg-open", notAnOption(path))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return &Error{Msg: "could not open the packet: no program to show PDF files was found (" + err.Error() + ")"}
	}
	// Launchers return at once; wait a little for an error, but never block
	// on a viewer that stays in the foreground.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return &Error{Msg: "could not open the packet: " + commandFailure(err, stderr.String())}
		}
	case <-time.After(3 * time.Second):
	}
	return nil
}

// PrintFile prints a PDF. On macOS and Linux it hands it to CUPS with
// `lp -d printer -t title path` (the default printer when printer is empty)
// and reports lp's own message when the printer refuses it. Windows has no
// lp: the packet opens in the viewer, where the user presses Print.
func PrintFile(path, printer string) error {
	if runtime.GOOS == "windows" {
		return OpenFile(path)
	}
	lp, err := exec.LookPath("lp")
	if err != nil {
		return &Error{Msg: "printing needs CUPS (the lp command), which was not found; open the packet and print it from the viewer"}
	}
	var args []string
	if printer = strings.TrimSpace(printer); printer != "" {
		args = append(args, "-d", printer)
	}
	args = append(args, "-t", PrintJobTitle, notAnOption(path))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lp, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &bytes.Buffer{}
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &Error{Msg: "the printer did not answer within 30 seconds; check that it is on and try again"}
		}
		return &Error{Msg: "the printer did not accept the packet: " + commandFailure(err, stderr.String())}
	}
	return nil
}

// notAnOption keeps a relative path that starts with "-" from being read as an
// option.
func notAnOption(path string) string {
	if strings.HasPrefix(path, "-") {
		return "./" + path
	}
	return path
}

// commandFailure is what a failed command said, or how it failed.
func commandFailure(err error, stderr string) string {
	if msg := strings.TrimSpace(stderr); msg != "" {
		return msg
	}
	return err.Error()
}
