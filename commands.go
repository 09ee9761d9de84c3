package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"frontdesk/forms"
	"frontdesk/storage"
)

// cmdEnv is what every command gets: the data folder and where to print.
type cmdEnv struct {
	dataDir        string
	stdout, stderr io.Writer
}

// usageError is a mistake on the command line: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

// command is one subcommand: its flags and what it does.
type command struct {
	flags func(fs *flag.FlagSet) any
	run   func(env *cmdEnv, opts any, args []string) error
}

type searchOpts struct {
	json  *bool
	limit *int
}

type importOpts struct {
	csv         *string
	skipInvalid *bool
}

type jsonOpt struct{ json *bool }

type seedOpts struct{ patients *int }

type exportOpts struct {
	json *bool
	out  *string
}

type packetOpts struct {
	patient, intake *uint64
	blank           *bool
	out             *string
	open, print     *bool
}

var commands = map[string]command{
	"": {
		flags: func(fs *flag.FlagSet) any {
			return fs.Bool("demo", false, "start a demo mailbox of sample booking requests inside the app")
		},
		run: func(env *cmdEnv, o any, args []string) error {
			if len(args) > 0 {
				return usageError(fmt.Sprintf("unknown command %q (try --help)", args[0]))
			}
			return runWindow(env, *o.(*bool))
		},
	},
	"search": {
		flags: func(fs *flag.FlagSet) any {
			return searchOpts{json: fs.Bool("json", false, "print JSON"), limit: fs.Int("limit", 20, "at most this many results")}
		},
		run: runSearch,
	},
	"import": {
		flags: func(fs *flag.FlagSet) any {
			return importOpts{csv: fs.String("csv", "", "CSV file to import"), skipInvalid: fs.Bool("skip-invalid", false, "import the valid rows even if some are invalid")}
		},
		run: runImport,
	},
	"duplicates": {
		flags: func(fs *flag.FlagSet) any { return jsonOpt{json: fs.Bool("json", false, "print JSON")} },
		run:   runDuplicates,
	},
	"seed": {
		flags: func(fs *flag.FlagSet) any {
			return seedOpts{patients: fs.Int("patients", 200, "how many demo patients to add")}
		},
		run: runSeed,
	},
	"export": {
		flags: func(fs *flag.FlagSet) any {
			return exportOpts{json: fs.Bool("json", false, "export as JSON (the only format)"), out: fs.String("out", "", "write to FILE instead of standard output")}
		},
		run: runExport,
	},
	"packet": {
		flags: func(fs *flag.FlagSet) any {
			return packetOpts{
				patient: fs.Uint64("patient", 0, "patient ID"),
				intake:  fs.Uint64("intake", 0, "intake ID (a completed evaluation); default: a blank packet"),
				blank:   fs.Bool("blank", false, "a blank packet to fill in by hand"),
				out:     fs.String("out", "", "write the PDF here instead of the packets folder"),
				open:    fs.Bool("open", false, "open the PDF in the system viewer"),
				print:   fs.Bool("print", false, "print the PDF (lp) to the printer in settings"),
			}
		},
		run: runPacket,
	},
}

// openStore opens the store in the command's data folder and signs in
// (openUnlockedStore: --user / FRONTDESK_USER and FRONTDESK_PASSWORD, the
// recovery key, or a prompt).
func (env *cmdEnv) openStore() (*storage.Store, error) {
	return env.openUnlockedStore()
}

func runSearch(env *cmdEnv, o any, args []string) error {
	opts := o.(searchOpts)
	if len(args) == 0 {
		return usageError("search needs a query: frontdesk search QUERY [--json]")
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	results := st.Search(strings.Join(args, " "), *opts.limit)
	if *opts.json {
		out := make([]searchJSON, 0, len(results))
		for _, r := range results {
			out = append(out, searchJSON{Patient: r.Patient, Score: r.Score, Matched: r.Matched})
		}
		return writeJSON(env.stdout, out)
	}
	if len(results) == 0 {
		fmt.Fprintln(env.stdout, "No patients match.")
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tBORN\tPHONE\tEMAIL\tMATCHED")
	for _, r := range results {
		p := r.Patient
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.DisplayName(), p.DateOfBirth, firstPhone(p), p.Email, strings.Join(r.Matched, ", "))
	}
	return tw.Flush()
}

type searchJSON struct {
	Patient storage.Patient `json:"patient"`
	Score   float64         `json:"score"`
	Matched []string        `json:"matched"`
}

func firstPhone(p storage.Patient) string {
	if len(p.Phones) == 0 {
		return ""
	}
	return p.Phones[0].Number
}

func runImport(env *cmdEnv, o any, args []string) error {
	opts := o.(importOpts)
	if *opts.csv == "" || len(args) > 0 {
		return usageError("import needs a file: frontdesk import --csv FILE [--skip-invalid]")
	}
	f, err := os.Open(*opts.csv)
	if err != nil {
		return fmt.Errorf("cannot read the CSV file: %w", err)
	}
	defer f.Close()
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.ImportCSV(f, storage.ImportOptions{SkipInvalid: *opts.skipInvalid})
	printImportReport(env.stdout, rep)
	return err
}

func runDuplicates(env *cmdEnv, o any, args []string) error {
	opts := o.(jsonOpt)
	if len(args) > 0 {
		return usageError("duplicates takes no arguments: frontdesk duplicates [--json]")
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	pairs := st.AllDuplicates()
	if *opts.json {
		if pairs == nil {
			pairs = []storage.DuplicatePair{}
		}
		return writeJSON(env.stdout, pairs)
	}
	if len(pairs) == 0 {
		fmt.Fprintln(env.stdout, "No likely duplicates.")
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tBORN\tID\tNAME\tBORN\tWHY")
	for _, d := range pairs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", d.A.ID, d.A.DisplayName(), d.A.DateOfBirth, d.B.ID, d.B.DisplayName(), d.B.DateOfBirth, strings.Join(d.Reasons, "; "))
	}
	fmt.Fprintf(tw, "\n%d likely duplicate pairs.\n", len(pairs))
	return tw.Flush()
}

func runSeed(env *cmdEnv, o any, args []string) error {
	opts := o.(seedOpts)
	if len(args) > 0 || *opts.patients < 1 {
		return usageError("seed needs a positive count: frontdesk seed --patients N")
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	if err := st.Seed(*opts.patients, time.Now().UnixNano()); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Added %d demo patients with intakes in %s (store now holds %d patients).\n",
		*opts.patients, time.Since(start).Round(time.Millisecond), st.PatientCount())
	return nil
}

func runExport(env *cmdEnv, o any, args []string) error {
	opts := o.(exportOpts)
	if !*opts.json || len(args) > 0 {
		return usageError("export writes JSON: frontdesk export --json [--out FILE]")
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	if *opts.out == "" {
		return st.Export(env.stdout)
	}
	return writeFileAtomic(*opts.out, st.Export)
}

func runPacket(env *cmdEnv, o any, args []string) error {
	opts := o.(packetOpts)
	if *opts.patient == 0 || len(args) > 0 {
		return usageError("packet needs a patient: frontdesk packet --patient ID [--intake ID] [--blank] [--out FILE]")
	}
	if *opts.blank && *opts.intake != 0 {
		return usageError("choose --blank or --intake ID, not both")
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	in, err := st.PacketInput(*opts.patient, *opts.intake, time.Now())
	if err != nil {
		return err
	}
	var path string
	var res forms.PacketResult
	if *opts.out != "" {
		path = *opts.out
		err = writeFileAtomic(path, func(w io.Writer) error {
			var err error
			res, err = forms.RenderPacket(w, in)
			return err
		})
	} else {
		path, res, err = forms.SavePacket(filepath.Join(env.dataDir, "packets"), in)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Wrote %s (%d pages, %d bytes).\n", path, res.Pages, res.Bytes)
	if len(res.Missing) > 0 {
		fmt.Fprintf(env.stderr, "Warning: no font has these characters; they print as a placeholder: %s\n", quoteRunes(res.Missing))
	}
	if *opts.open {
		if err := forms.OpenFile(path); err != nil {
			return err
		}
	}
	if *opts.print {
		settings, err := st.Settings()
		if err != nil {
			return err
		}
		if err := forms.PrintFile(path, settings.Printer); err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, "Sent to the printer.")
	}
	return nil
}

func quoteRunes(rs []rune) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%q (U+%04X)", r, r)
	}
	return strings.Join(parts, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeFileAtomic writes through a temporary file in the same folder and
// renames it into place, so a crash never leaves half a file under the name.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printImportReport says what happened to every row that was not simply imported.
func printImportReport(w io.Writer, rep storage.ImportReport) {
	for _, r := range rep.Invalid {
		fmt.Fprintf(w, "line %d: not imported: %s\n", r.Line, r.Reason)
	}
	for _, r := range rep.Skipped {
		fmt.Fprintf(w, "line %d: skipped, already in the store as #%d %s (%s)\n", r.Line, r.Existing.ID, r.Existing.DisplayName(), r.Reason)
	}
	for _, d := range rep.PossibleDuplicates {
		var names []string
		for _, c := range d.Candidates {
			names = append(names, fmt.Sprintf("#%d %s (%s)", c.Patient.ID, c.Patient.DisplayName(), strings.Join(c.Reasons, ", ")))
		}
		fmt.Fprintf(w, "line %d: imported as #%d, but resembles %s — see frontdesk duplicates\n", d.Line, d.Patient.ID, strings.Join(names, "; "))
	}
	fmt.Fprintf(w, "Imported %d, skipped %d already in the store, %d invalid, %d to review as possible duplicates.\n",
		rep.Imported, len(rep.Skipped), len(rep.Invalid), len(rep.PossibleDuplicates))
}
