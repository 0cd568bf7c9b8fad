package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/imports"
)

// importFlags are the flags of `kizuna import` besides the settings.
type importFlags struct {
	kind, file, mapping, format, crmSystem, currency, timeZone string
	dryRun                                                     bool
}

func (f *importFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "kind", "", "what the file holds: "+strings.Join(imports.Kinds, ", ")+" (required)")
	fs.StringVar(&f.file, "file", "", "the CSV or JSON Lines file, UTF-8 or Shift_JIS (required)")
	fs.StringVar(&f.mapping, "mapping", "", `JSON file mapping the file's headers to fields, e.g. {"Mail": "email", "備考": ""}`)
	fs.StringVar(&f.format, "format", "", "csv or jsonl (default: from the file name)")
	fs.StringVar(&f.crmSystem, "crm-system", "", `the CRM whose ids the crm_id column holds (default "crm")`)
	fs.StringVar(&f.currency, "currency", "", "currency of amounts written without one (default JPY)")
	fs.StringVar(&f.timeZone, "time-zone", "", "time zone of date-times written without an offset, e.g. 2025/01/02 10:30 (default Asia/Tokyo)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "check every row and report, writing nothing")
}

// importCommand runs `kizuna import`: it opens the app with the settings among args, then
// imports with the rest.
func (c *CLI) importCommand(ctx context.Context, args []string) error {
	var f importFlags
	a, err := c.open(ctx, "import", args, f.register)
	if err != nil {
		return err
	}
	defer a.Close()
	return c.importFile(ctx, a, args)
}

// importFile imports the file named by --file into a, printing a progress bar for long files
// and, when rows are wrong, each as FILE:LINE: field: message. args may hold the settings flags
// too (they were used to open a).
func (c *CLI) importFile(ctx context.Context, a *App, args []string) error {
	var f importFlags
	fs, _ := c.flags("import")
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case f.kind == "":
		return errs.Invalid("kind", "say what the file holds: %s", strings.Join(imports.Kinds, ", "))
	case f.file == "":
		return errs.Invalid("file", "name the file to import")
	}
	var mapping map[string]string
	if f.mapping != "" {
		b, err := os.ReadFile(f.mapping)
		if err != nil {
			return errs.Invalid("mapping", "%v", err)
		}
		if err := json.Unmarshal(b, &mapping); err != nil {
			return errs.Invalid("mapping", "%s is not a JSON object of header → field names: %v", f.mapping, err)
		}
	}
	file, err := os.Open(f.file)
	if err != nil {
		return errs.Invalid("file", "%v", err)
	}
	defer file.Close()
	var size int64
	if st, err := file.Stat(); err == nil {
		size = st.Size()
	}
	in := imports.Input{Kind: f.kind, Format: f.format, FileName: filepath.Base(f.file), Body: file, Mapping: mapping, DryRun: f.dryRun,
		Options: imports.Options{CRMSystem: f.crmSystem, Currency: f.currency, TimeZone: f.timeZone}}
	var bar *progressBar
	if size >= longFile {
		bar = newProgressBar(c.Stderr, time.Now)
		in.Progress = bar.update
	}
	rep, err := a.Imports.Run(ctx, accounts.System(), in)
	if bar != nil {
		bar.finish()
	}
	if len(rep.Errors) > 0 {
		for _, e := range rep.Errors {
			if e.Field == "" {
				fmt.Fprintf(c.Stderr, "%s:%d: %s\n", f.file, e.Line, e.Message)
			} else {
				fmt.Fprintf(c.Stderr, "%s:%d: %s: %s\n", f.file, e.Line, e.Field, e.Message)
			}
		}
		if more := rep.ErrorCount - len(rep.Errors); more > 0 {
			fmt.Fprintf(c.Stderr, "%s: … and %d more errors\n", f.file, more)
		}
	}
	if err != nil {
		if rep.ID != "" && rep.Message != "" && errors.Is(err, imports.ErrRowsInvalid) {
			return errors.New(rep.Message)
		}
		if rep.Message != "" {
			return fmt.Errorf("%s (import %s)", rep.Message, rep.ID)
		}
		return err
	}
	took := time.Duration(rep.TookMS) * time.Millisecond
	if rep.DryRun {
		fmt.Fprintf(c.Stdout, "%s is valid: %d %s rows (%s); dry run, nothing was written\n", f.file, rep.TotalRows, rep.Kind, rep.Encoding)
	} else {
		fmt.Fprintf(c.Stdout, "imported %d %s rows from %s (%s) in %s: %d changed, %d already up to date; import %s\n",
			rep.AppliedRows, rep.Kind, f.file, rep.Encoding, took.Round(10*time.Millisecond), rep.ChangedRows, rep.AppliedRows-rep.ChangedRows, rep.ID)
	}
	if len(rep.IgnoredColumns) > 0 {
		fmt.Fprintf(c.Stdout, "ignored columns (no %s field; map them with --mapping): %s\n", rep.Kind, strings.Join(rep.IgnoredColumns, ", "))
	}
	return nil
}

// longFile is the size from which the import shows a progress bar.
const longFile = 1 << 20

// progressBar draws `[#####     ] 45% 450000/1000000 rows  12s` on one terminal line, at most
// every 200 ms.
type progressBar struct {
	w     io.Writer
	now   func() time.Time
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, now func() time.Time) *progressBar {
	return &progressBar{w: w, now: now, start: now()}
}

const barWidth = 30

// update is an imports.Input.Progress: total is 0 while the file is being validated.
func (b *progressBar) update(done, total int) {
	t := b.now()
	if b.drawn && t.Sub(b.last) < 200*time.Millisecond && (total == 0 || done < total) {
		return
	}
	b.last, b.drawn = t, true
	elapsed := t.Sub(b.start).Truncate(time.Second)
	if total <= 0 {
		fmt.Fprintf(b.w, "\rchecking: %d rows read  %s   ", done, elapsed)
		return
	}
	n := done * barWidth / total
	fmt.Fprintf(b.w, "\r[%s%s] %3d%% %d/%d rows  %s   ", strings.Repeat("#", n), strings.Repeat(" ", barWidth-n), done*100/total, done, total, elapsed)
}

// finish ends the bar's line.
func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
