package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/spf13/cobra"
)

// analysisFlags are the flags top and folded share.
type analysisFlags struct {
	sampleIndex string
	focus       string
	ignore      string
	hide        string
	show        string
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
	fl.StringVar(&f.granularity, "granularity", "functions", "aggregate by functions, files or lines")
	fl.StringVar(&f.src.kind, "kind", "", "profile to fetch from a base URL: heap, allocs, profile (CPU), goroutine, mutex, block, threadcreate")
	fl.IntVar(&f.src.seconds, "seconds", 0, "CPU profile duration when fetching from a URL (default 10)")
}

func (f *analysisFlags) options() (profile.Options, error) {
	g, err := profile.ParseGranularity(f.granularity)
	if err != nil {
		return profile.Options{}, err
	}
	return profile.Options{SampleIndex: f.sampleIndex, Granularity: g, Focus: f.focus, Ignore: f.ignore, Hide: f.hide, Show: f.show}, nil
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
total first.`,
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
			return writeTopText(safetext.NewWriter(e.stdout), p, t, baseName, normalize, unit)
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
	return cmd
}

// writeTopText prints the header go tool pprof prints, then the table.
func writeTopText(w io.Writer, p *profile.Profile, t *profile.Top, baseName string, normalize bool, unit string) error {
	var b strings.Builder
	if len(p.Mappings) > 0 && p.Mappings[0].File != "" {
		fmt.Fprintf(&b, "File: %s\n", filepath.Base(p.Mappings[0].File))
	}
	typ := t.SampleType.Type
	if baseName != "" {
		how := "diff"
		if normalize {
			how = "normalized diff"
		}
		typ += fmt.Sprintf(" (%s against %s: new minus base, %% of base total)", how, baseName)
	}
	fmt.Fprintf(&b, "Type: %s\n", typ)
	if p.TimeNanos != 0 {
		fmt.Fprintf(&b, "Time: %s\n", time.Unix(0, p.TimeNanos).UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if p.DurationNanos != 0 {
		fmt.Fprintf(&b, "Duration: %s\n", profile.FormatValue(p.DurationNanos, "nanoseconds", "auto"))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return t.WriteText(w, unit)
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
