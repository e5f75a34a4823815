package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/profile/sources"
	"github.com/gotune/gotune/safetext"
	"github.com/spf13/cobra"
)

// analysisFlags are the flags top and folded share: go tool pprof's
// sample selection, refinements and granularity, with its flag names
// (show_from is spelt --show-from).
type analysisFlags struct {
	sampleIndex string
	focus       string
	ignore      string
	hide        string
	show        string
	showFrom    string
	tagFocus    string
	tagIgnore   string
	granularity string
	src         profileSource
}

func (f *analysisFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.sampleIndex, "sample-index", "", "sample type to show (e.g. alloc_space, inuse_objects, samples, contentions); default: the profile's default")
	fl.StringVar(&f.focus, "focus", "", "keep only samples with a frame matching this regexp")
	fl.StringVar(&f.ignore, "ignore", "", "drop samples with a frame matching this regexp")
	fl.StringVar(&f.hide, "hide", "", "remove frames matching this regexp from stacks")
	fl.StringVar(&f.show, "show", "", "keep only frames matching this regexp in stacks")
	fl.StringVar(&f.showFrom, "show-from", "", "drop the frames above (callers of) the outermost frame matching this regexp, and samples without one")
	fl.StringVar(&f.tagFocus, "tagfocus", "", "keep only samples with labels matching: regexp[,regexp] on key:value, or key=regexp[,regexp]")
	fl.StringVar(&f.tagIgnore, "tagignore", "", "drop samples with labels matching, as --tagfocus")
	fl.StringVar(&f.granularity, "granularity", "functions", "aggregate by functions, files, lines or addresses")
	fl.StringVar(&f.src.kind, "kind", "", "profile to fetch from a base URL: heap, allocs, profile (CPU), goroutine, mutex, block, threadcreate")
	fl.IntVar(&f.src.seconds, "seconds", 0, "CPU profile duration when fetching from a URL (default 10)")
}

func (f *analysisFlags) options() (profile.Options, error) {
	g, err := profile.ParseGranularity(f.granularity)
	if err != nil {
		return profile.Options{}, err
	}
	o := profile.Options{SampleIndex: f.sampleIndex, Granularity: g, Focus: f.focus, Ignore: f.ignore, Hide: f.hide, Show: f.show,
		ShowFrom: f.showFrom, TagFocus: f.tagFocus, TagIgnore: f.tagIgnore}
	return o, o.Validate()
}

func topCmd(e *env) *cobra.Command {
	var (
		af           analysisFlags
		nodeCount    int
		nodeFraction float64
		cum          bool
		asJSON       bool
		diffBase     string
		normalize    bool
		unit         string
		peek, list   string
		sourcePath   string
	)
	cmd := &cobra.Command{
		Use:   "top SOURCE",
		Short: "Print the top functions of a profile, like go tool pprof -top",
		Long: `Print the flat/cum table of a profile (file or URL), with the same figures as
go tool pprof -top. SOURCE is a .pb.gz (or raw) pprof file, a base URL such as
http://127.0.0.1:6060 (fetches --kind, default heap) or a full pprof URL such as
http://127.0.0.1:6060/debug/pprof/profile?seconds=5.

With --diff-base BASE the table shows SOURCE minus BASE, in percent of the base
total (go tool pprof -diff_base); add --normalize to scale SOURCE to the base
total first.

With --peek REGEXP it prints the callers and callees of the matching nodes
(go tool pprof -peek); with --list REGEXP the per-line flat and cum of the
matching functions, with their source when it is found (go tool pprof -list:
as recorded, under --source-path, in the module cache or GOROOT).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if normalize && diffBase == "" {
				return fmt.Errorf("--normalize needs --diff-base")
			}
			opts, err := af.options()
			if err != nil {
				return err
			}
			p, name, err := af.src.loadProfile(e.ctx, args[0], profile.KindHeap)
			if err != nil {
				return err
			}
			switch {
			case peek != "" && list != "":
				return fmt.Errorf("--peek and --list exclude each other")
			case (peek != "" || list != "") && (diffBase != "" || asJSON):
				return fmt.Errorf("--peek and --list print text reports of one profile: no --diff-base or --json")
			case peek != "":
				pk, err := profile.NewPeek(p, profile.PeekOptions{Options: opts, Match: peek, Cum: cum})
				if err != nil {
					return err
				}
				return writeReport(safetext.NewWriter(e.stdout), p, pk.SampleType.Type, opts, func(w io.Writer) error { return pk.WriteText(w, unit) })
			case list != "":
				l, err := profile.NewListing(p, profile.ListOptions{Options: opts, Match: list, SearchPath: filepath.SplitList(sourcePath)}, sources.Default(filepath.SplitList(sourcePath)...))
				if err != nil {
					return err
				}
				return l.WriteText(safetext.NewWriter(e.stdout), unit)
			}
			to := profile.TopOptions{Options: opts, NodeCount: nodeCount, NodeFraction: nodeFraction, Cum: cum}
			var t *profile.Top
			var baseName string
			if diffBase != "" {
				var base *profile.Profile
				if base, baseName, err = af.src.loadProfile(e.ctx, diffBase, p.Kind()); err != nil {
					return err
				}
				t, err = profile.NewDiffTop(base, p, to, normalize)
			} else {
				t, err = profile.NewTop(p, to)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeTopJSON(e.jsonOut(), name, baseName, normalize, p, t, to)
			}
			return writeTopText(safetext.NewWriter(e.stdout), p, t, opts, baseName, normalize, unit)
		},
	}
	af.register(cmd)
	fl := cmd.Flags()
	fl.IntVar(&nodeCount, "nodecount", 0, "show at most N rows (0: all above the node fraction)")
	fl.Float64Var(&nodeFraction, "nodefraction", profile.DefaultNodeFraction, "hide rows whose cum is below this fraction of the total")
	fl.BoolVar(&cum, "cum", false, "sort by cumulative value")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.StringVar(&diffBase, "diff-base", "", "subtract this profile (file or URL) and show the difference")
	fl.BoolVar(&normalize, "normalize", false, "with --diff-base: scale SOURCE to the base's total first")
	fl.StringVar(&unit, "unit", "", "print values in this unit (B, kB, MB, ns, ms, s); default: chosen per table")
	fl.StringVar(&peek, "peek", "", "print the callers and callees of the nodes matching this regexp (go tool pprof -peek)")
	fl.StringVar(&list, "list", "", "print the source lines of the functions matching this regexp with their flat and cum (go tool pprof -list)")
	fl.StringVar(&sourcePath, "source-path", "", "directories to find source files in for --list, separated by "+string(filepath.ListSeparator)+" (go tool pprof -source_path)")
	return cmd
}

// writeTopText prints the header go tool pprof prints, then the table.
func writeTopText(w io.Writer, p *profile.Profile, t *profile.Top, o profile.Options, baseName string, normalize bool, unit string) error {
	typ := t.SampleType.Type
	if baseName != "" {
		how := "diff"
		if normalize {
			how = "normalized diff"
		}
		typ += fmt.Sprintf(" (%s against %s: new minus base, %% of base total)", how, baseName)
	}
	return writeReport(w, p, typ, o, func(w io.Writer) error { return t.WriteText(w, unit) })
}

// writeReport prints the header go tool pprof prints above its text
// reports (file, type, time, duration, active filters), then the report.
func writeReport(w io.Writer, p *profile.Profile, typ string, o profile.Options, report func(io.Writer) error) error {
	var b strings.Builder
	if len(p.Mappings) > 0 && p.Mappings[0].File != "" {
		fmt.Fprintf(&b, "File: %s\n", filepath.Base(p.Mappings[0].File))
	}
	fmt.Fprintf(&b, "Type: %s\n", typ)
	if p.TimeNanos != 0 {
		fmt.Fprintf(&b, "Time: %s\n", time.Unix(0, p.TimeNanos).UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if p.DurationNanos != 0 {
		fmt.Fprintf(&b, "Duration: %s\n", profile.FormatValue(p.DurationNanos, "nanoseconds", "auto"))
	}
	if fs := o.Filters(); len(fs) > 0 {
		// internal/report.legendActiveFilters.
		b.WriteString("Active filters:\n")
		for _, f := range fs {
			if len(f) > 80 {
				f = f[:80] + "…"
			}
			fmt.Fprintf(&b, "   %s\n", f)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return report(w)
}

type topJSON struct {
	Source       string            `json:"source"`
	Base         string            `json:"base,omitempty"`
	Normalized   bool              `json:"normalized,omitempty"`
	Kind         profile.Kind      `json:"kind,omitempty"`
	SampleType   profile.ValueType `json:"sample_type"`
	Granularity  string            `json:"granularity"`
	Time         string            `json:"time,omitempty"`
	Total        int64             `json:"total"`
	Shown        int64             `json:"shown"`
	DroppedNodes int               `json:"dropped_nodes"`
	Rows         []topRowJSON      `json:"rows"`
}

type topRowJSON struct {
	Name    string  `json:"name"`
	Flat    int64   `json:"flat"`
	FlatPct float64 `json:"flat_pct"`
	Cum     int64   `json:"cum"`
	CumPct  float64 `json:"cum_pct"`
}

func writeTopJSON(w io.Writer, name, baseName string, normalize bool, p *profile.Profile, t *profile.Top, o profile.TopOptions) error {
	out := topJSON{
		Source: name, Base: baseName, Normalized: normalize, Kind: p.Kind(),
		SampleType: t.SampleType, Granularity: o.Granularity.String(),
		Total: t.Total, Shown: t.Shown, DroppedNodes: t.DroppedNodes,
		Rows: make([]topRowJSON, 0, len(t.Rows)),
	}
	if p.TimeNanos != 0 {
		out.Time = time.Unix(0, p.TimeNanos).UTC().Format(time.RFC3339)
	}
	pct := func(v int64) float64 {
		if t.Total == 0 {
			return 0
		}
		return float64(int64(float64(v)/float64(t.Total)*1e6)) / 1e4
	}
	for _, r := range t.Rows {
		out.Rows = append(out.Rows, topRowJSON{Name: r.Name, Flat: r.Flat, FlatPct: pct(r.Flat), Cum: r.Cum, CumPct: pct(r.Cum)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
