package trace

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
)

// Ranked is one trace in a ranking: its worst pause and the figures to
// compare traces by (golang/go#62461: find the worst GC pause among dozens
// of traces).
type Ranked struct {
	Name       string        `json:"name"`
	Worst      *Pause        `json:"worst,omitempty"`
	WorstGC    *Pause        `json:"worst_gc,omitempty"`
	Pauses     int           `json:"pauses"`
	PauseTotal time.Duration `json:"pause_total_ns"`
	Duration   time.Duration `json:"duration_ns"`
	// MMU10ms is the MMU at a 10 ms window, -1 when the trace is shorter.
	MMU10ms float64 `json:"mmu_10ms"`
	Err     string  `json:"error,omitempty"`
	// Summary is the whole analysis, for callers that want more.
	Summary *Summary `json:"-"`
}

// Summarize makes the ranking entry of one analysed trace; err is the
// analysis error, if any (a truncated trace keeps its figures).
func Summarize(name string, s *Summary, err error) Ranked {
	r := Ranked{Name: name, Summary: s, MMU10ms: -1}
	if err != nil {
		r.Err = err.Error()
	}
	if s == nil {
		return r
	}
	r.Pauses, r.PauseTotal, r.Duration = s.Pauses.Count, s.Pauses.Total, s.Duration
	if w, ok := s.Pauses.Worst(); ok {
		r.Worst = &w
	}
	for _, p := range s.Pauses.List {
		if p.GC {
			r.WorstGC = &p
			break
		}
	}
	for _, m := range s.MMU {
		if m.Window == 10*time.Millisecond {
			r.MMU10ms = m.MMU
		}
	}
	return r
}

// Rank orders traces by their worst pause, longest first (then by total
// pause time, then name); traces that could not be read come last.
func Rank(rs []Ranked) []Ranked {
	out := slices.Clone(rs)
	worst := func(r Ranked) time.Duration {
		if r.Worst == nil {
			return -1
		}
		return r.Worst.Duration
	}
	slices.SortStableFunc(out, func(a, b Ranked) int {
		if (a.Summary == nil) != (b.Summary == nil) {
			if a.Summary == nil {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(worst(b), worst(a)), cmp.Compare(b.PauseTotal, a.PauseTotal), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// RankFiles analyses each file in turn (one in memory at a time) and ranks
// them with Rank. A file that cannot be read is ranked last with its error.
func RankFiles(ctx context.Context, paths []string, o Options) []Ranked {
	rs := make([]Ranked, 0, len(paths))
	for _, p := range paths {
		if ctx.Err() != nil {
			rs = append(rs, Summarize(p, nil, ctx.Err()))
			continue
		}
		s, err := AnalyzeFile(ctx, p, o)
		r := Summarize(p, s, err)
		if s != nil {
			r.Summary = nil // keep the ranking light; callers wanting all figures call AnalyzeFile
		}
		rs = append(rs, r)
	}
	return Rank(rs)
}

// WriteRanking writes a ranking as a table.
func WriteRanking(w io.Writer, rs []Ranked) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "#\tworst pause\treason\tat\tworst GC pause\tpauses\ttotal\tMMU 10ms\ttrace\n")
	for i, r := range rs {
		if r.Worst == nil && r.Err != "" {
			fmt.Fprintf(tw, "%d\t-\t-\t-\t-\t-\t-\t-\t%s: %s\n", i+1, safetext.Line(r.Name), safetext.Line(r.Err))
			continue
		}
		worst, reason, when, gc := "-", "-", "-", "-"
		if r.Worst != nil {
			worst, reason, when = dur(r.Worst.Duration), safetext.Line(r.Worst.Reason), at(r.Worst.Start)
		}
		if r.WorstGC != nil {
			gc = dur(r.WorstGC.Duration)
		}
		mmu := "-"
		if r.MMU10ms >= 0 {
			mmu = measurement.Percent(r.MMU10ms)
		}
		name := safetext.Line(r.Name)
		if r.Err != "" {
			name += " (" + safetext.Line(r.Err) + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", i+1, worst, reason, when, gc, r.Pauses, dur(r.PauseTotal), mmu, name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}
