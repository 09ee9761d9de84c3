package main

// Sign-in for headless commands, and the commands of issue 6: setup, users,
// backup, restore, audit.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"frontdesk/storage"
)

// Environment variables that give credentials to headless commands.
const (
	envUser        = "FRONTDESK_USER"
	envPassword    = "FRONTDESK_PASSWORD"
	envNewPassword = "FRONTDESK_NEW_PASSWORD" // users add/reset, setup: the new account's password
	envRecoveryKey = "FRONTDESK_RECOVERY_KEY" // sign in with the recovery key instead
)

// signInUser is the --user flag every command takes.
var signInUser string

type setupOpts struct{ admin *string }

type usersOpts struct{ role *string }

type backupOpts struct {
	to   *string
	keep *int
}

type restoreOpts struct{ from *string }

type auditOpts struct {
	csv    *bool
	user   *string
	action *string
	limit  *int
}

// withSignInFlag adds --user (the staff name to sign in as) to a command's
// flags. A command whose own flags already have --user (mailbox set: the
// mailbox's username) signs in with $FRONTDESK_USER or a prompt instead.
func withSignInFlag(inner func(fs *flag.FlagSet) any) func(fs *flag.FlagSet) any {
	return func(fs *flag.FlagSet) any {
		signInUser = "" // no name left over from an earlier run in the same process
		opts := inner(fs)
		if fs.Lookup("user") == nil {
			fs.StringVar(&signInUser, "user", "", "staff name to sign in as (default $"+envUser+", else asked)")
		}
		return opts
	}
}

func init() {
	// Every command that opens the store takes --user.
	for name, c := range commands {
		c.flags = withSignInFlag(c.flags)
		commands[name] = c
	}
	add := func(name string, c command) {
		c.flags = withSignInFlag(c.flags)
		commands[name] = c
	}
	add("setup", command{
		flags: func(fs *flag.FlagSet) any {
			return setupOpts{admin: fs.String("admin", "", "the first admin's name (default --user, $"+envUser+", else asked)")}
		},
		run: runSetup,
	})
	add("users", command{
		flags: func(fs *flag.FlagSet) any {
			return usersOpts{role: fs.String("role", "reception", "role of a new account: admin, reception or practitioner")}
		},
		run: runUsers,
	})
	add("backup", command{
		flags: func(fs *flag.FlagSet) any {
			return backupOpts{to: fs.String("to", "", "folder to write the backup to"), keep: fs.Int("keep", 0, "keep only the newest N backups there (0: all)")}
		},
		run: runBackup,
	})
	add("restore", command{
		flags: func(fs *flag.FlagSet) any {
			return restoreOpts{from: fs.String("from", "", "backup file to restore")}
		},
		run: runRestore,
	})
	add("audit", command{
		flags: func(fs *flag.FlagSet) any {
			return auditOpts{
				csv:    fs.Bool("csv", false, "print CSV"),
				user:   fs.String("by", "", "only events of this staff member"),
				action: fs.String("action", "", "only this action (view-patient, create, update, print, export, sign-in, failed-sign-in, …)"),
				limit:  fs.Int("limit", 0, "at most the newest N events (0: all)"),
			}
		},
		run: runAudit,
	})
}

// openUnlockedStore opens the store in the command's data folder and signs
// in: --user or $FRONTDESK_USER and $FRONTDESK_PASSWORD, or
// $FRONTDESK_RECOVERY_KEY, else a prompt when standard input is a
// terminal. Every command that reads or writes patients should open the
// store with it.
func (env *cmdEnv) openUnlockedStore() (*storage.Store, error) {
	st, err := storage.Open(env.dataDir, storage.Options{})
	if err != nil {
		return nil, err
	}
	switch st.State() {
	case storage.StateNeedsSetup:
		st.Close()
		return nil, errors.New("Front Desk is not set up in " + env.dataDir + " yet: run frontdesk setup to create the first admin account")
	case storage.StateLocked:
		if key := os.Getenv(envRecoveryKey); key != "" {
			_, err = st.UnlockWithRecoveryKey(key)
		} else {
			var user, password string
			user, password, err = env.credentials()
			if err == nil {
				_, err = st.Unlock(user, password)
			}
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// credentials returns the staff name and password to sign in with.
func (env *cmdEnv) credentials() (user, password string, err error) {
	user = signInUser
	if user == "" {
		user = os.Getenv(envUser)
	}
	if user == "" {
		if user, err = env.promptLine("Staff name: "); err != nil {
			return "", "", err
		}
	}
	password = os.Getenv(envPassword)
	if password == "" {
		if password, err = env.promptPassword("Password for " + user + ": "); err != nil {
			return "", "", err
		}
	}
	return user, password, nil
}

var errNoTerminal = errors.New("no terminal to ask for a name or password on: give them with --user (or $" + envUser + ") and $" + envPassword)

func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

func (env *cmdEnv) promptLine(prompt string) (string, error) {
	if !stdinIsTerminal() {
		return "", errNoTerminal
	}
	fmt.Fprint(env.stderr, prompt)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func (env *cmdEnv) promptPassword(prompt string) (string, error) {
	if !stdinIsTerminal() {
		return "", errNoTerminal
	}
	fmt.Fprint(env.stderr, prompt)
	pw, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(env.stderr)
	return string(pw), err
}

// newPassword returns a new account's password: $FRONTDESK_NEW_PASSWORD,
// else asked twice on the terminal.
func (env *cmdEnv) newPassword(whose string) (string, error) {
	if pw := os.Getenv(envNewPassword); pw != "" {
		return pw, nil
	}
	if !stdinIsTerminal() {
		return "", errors.New("no terminal to ask for the new password on: give it in $" + envNewPassword)
	}
	pw, err := env.promptPassword(fmt.Sprintf("New password for %s (at least %d characters): ", whose, storage.MinPasswordLength))
	if err != nil {
		return "", err
	}
	again, err := env.promptPassword("The same password again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	return pw, nil
}

func runSetup(env *cmdEnv, o any, args []string) error {
	opts := o.(setupOpts)
	if len(args) > 0 {
		return usageError("setup takes no arguments: frontdesk setup [--admin NAME]")
	}
	st, err := storage.Open(env.dataDir, storage.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if st.State() != storage.StateNeedsSetup {
		return errors.New("Front Desk is already set up in " + env.dataDir + "; an admin adds accounts with frontdesk users add")
	}
	name := *opts.admin
	for _, v := range []string{signInUser, os.Getenv(envUser)} {
		if name == "" {
			name = v
		}
	}
	if name == "" {
		if name, err = env.promptLine("Name of the first admin: "); err != nil {
			return err
		}
	}
	pw, err := env.newPassword(name)
	if err != nil {
		return err
	}
	key, err := st.Setup(name, pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, `Front Desk is set up: the clinic database is encrypted and %s is its admin.

RECOVERY KEY (shown only this once):

    %s

Write it on paper and keep it locked away from this computer. It opens the
clinic database if every admin password is forgotten; without it and
without a password, nobody can read the data, not even Front Desk's makers.
`, name, key)
	return nil
}

func runUsers(env *cmdEnv, o any, args []string) error {
	opts := o.(usersOpts)
	const use = "frontdesk users list | add NAME [--role R] | disable NAME | reset NAME"
	if len(args) == 0 {
		return usageError("users needs an action: " + use)
	}
	action, rest := args[0], args[1:]
	name := strings.Join(rest, " ")
	if (action == "list") != (name == "") {
		return usageError(use)
	}
	st, err := env.openUnlockedStore()
	if err != nil {
		return err
	}
	defer st.Close()
	var u storage.StaffUser
	switch action {
	case "list":
		users, err := st.Users()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tSTATUS\tLAST SIGN-IN")
		for _, u := range users {
			status, last := "active", ""
			if u.Disabled {
				status = "disabled"
			}
			if !u.LastSignIn.IsZero() {
				last = u.LastSignIn.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Role, status, last)
		}
		return tw.Flush()
	case "add":
		pw, err := env.newPassword(name)
		if err != nil {
			return err
		}
		if u, err = st.AddUser(name, storage.Role(*opts.role), pw); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "Added %s (%s).\n", u.Name, u.Role)
	case "disable":
		if u, err = st.DisableUser(name); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "Disabled %s: the account can no longer sign in (a reset enables it again).\n", u.Name)
	case "reset":
		pw, err := env.newPassword(name)
		if err != nil {
			return err
		}
		if u, err = st.ResetPassword(name, pw); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "New password set for %s.\n", u.Name)
	default:
		return usageError(fmt.Sprintf("unknown users action %q: %s", action, use))
	}
	return nil
}

func runBackup(env *cmdEnv, o any, args []string) error {
	opts := o.(backupOpts)
	if *opts.to == "" || len(args) > 0 || *opts.keep < 0 {
		return usageError("backup needs a folder: frontdesk backup --to DIR [--keep N]")
	}
	st, err := env.openUnlockedStore()
	if err != nil {
		return err
	}
	defer st.Close()
	path, rep, err := st.Backup(*opts.to, *opts.keep)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Backed up to %s (%d patients, %d intakes, %.1f MB, verified) in %s.\n",
		path, rep.Patients, rep.Intakes, float64(rep.Bytes)/(1<<20), rep.Took.Round(time.Millisecond))
	for _, old := range rep.Removed {
		fmt.Fprintf(env.stdout, "Removed the older backup %s.\n", old)
	}
	return nil
}

func runRestore(env *cmdEnv, o any, args []string) error {
	opts := o.(restoreOpts)
	if *opts.from == "" || len(args) > 0 {
		return usageError("restore needs a backup file: frontdesk restore --from FILE")
	}
	var cred storage.Credentials
	if key := os.Getenv(envRecoveryKey); key != "" {
		cred.RecoveryKey = key
	} else {
		var err error
		if cred.User, cred.Password, err = env.credentials(); err != nil {
			return err
		}
	}
	rep, err := storage.Restore(env.dataDir, *opts.from, cred)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Restored %s (%d patients, %d intakes).\n", rep.Restored, rep.Patients, rep.Intakes)
	if rep.KeptAside != "" {
		fmt.Fprintf(env.stdout, "The store it replaced is kept as %s.\n", rep.KeptAside)
	}
	return nil
}

func runAudit(env *cmdEnv, o any, args []string) error {
	opts := o.(auditOpts)
	if len(args) > 0 {
		return usageError("audit takes no arguments: frontdesk audit [--csv] [--by NAME] [--action A] [--limit N]")
	}
	st, err := env.openUnlockedStore()
	if err != nil {
		return err
	}
	defer st.Close()
	f := storage.AuditFilter{User: *opts.user, Action: storage.AuditAction(*opts.action), Limit: *opts.limit}
	if *opts.csv {
		return st.WriteAuditCSV(env.stdout, f)
	}
	events, err := st.AuditEvents(f)
	if err != nil {
		return err
	}
	return printAudit(env.stdout, events)
}

func printAudit(w io.Writer, events []storage.AuditEvent) error {
	if len(events) == 0 {
		fmt.Fprintln(w, "No audit events match.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tUSER\tACTION\tRECORD\tDETAIL")
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		rec := ev.RecordKind
		if ev.RecordID != 0 {
			rec = fmt.Sprintf("%s %d", ev.RecordKind, ev.RecordID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ev.Time.Local().Format("2006-01-02 15:04:05"), ev.User, ev.Action, rec, ev.Detail)
	}
	return tw.Flush()
}
