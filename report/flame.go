package report

import (
	"fmt"
	"hash/fnv"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/snapshot"
)

// MaxFlameFrames bounds the frames of the flame graph, so a huge profile
// still gives a page a browser opens at once.
const MaxFlameFrames = 4000

// Flame is the flame graph (icicle: callers on top) of one profile, laid
// out: every frame has its horizontal extent as a share of the total.
type Flame struct {
	Profile    string // "cpu", or "heap" when there is no CPU profile
	SampleType string // "cpu/nanoseconds"
	Unit       string
	Total      int64
	TotalText  string
	Depth      int // rows below the root
	Frames     []FlameFrame
	// Dropped is how many frames MaxFlameFrames left out.
	Dropped int
}

// FlameFrame is one block of the flame graph.
type FlameFrame struct {
	ID, Parent int // Parent is -1 for the root
	Name       string
	Depth      int     // 0 is the root
	X, W       float64 // left edge and width, as shares of the total (0..1)
	Total      int64
	Self       int64
	Other      bool // the merged frames too small to draw
	Color      string
}

// Text is the frame's value for people: "1.20s (12.5%), self 300ms".
func (f FlameFrame) Text(fl *Flame) string {
	s := fmt.Sprintf("%s (%.1f%%)", profile.FormatValue(f.Total, fl.Unit, "auto"), share(f.Total, fl.Total)*100)
	if f.Self != 0 && !f.Other {
		s += ", self " + profile.FormatValue(f.Self, fl.Unit, "auto")
	}
	return s
}

// flameProfiles are the profiles a flame graph is drawn from, in order of
// preference.
var flameProfiles = []profile.Kind{profile.KindCPU, profile.KindHeap}

func (r *Report) flame(s *snapshot.Snapshot) *Flame {
	for _, kind := range flameProfiles {
		c := s.Profile(kind)
		if c == nil || c.Profile == nil {
			continue // a profile that does not parse is reported with the top tables
		}
		t, err := profile.NewFlameTree(c.Profile, profile.Options{})
		if err != nil || t.Root == nil || t.Root.Total <= 0 {
			continue
		}
		t.Trim(FlameMinFraction)
		return layout(kind, t)
	}
	return nil
}

// layout places every frame: children side by side under their parent,
// largest first, the trimmed remainder last as one "other" block.
func layout(kind profile.Kind, t *profile.FlameTree) *Flame {
	fl := &Flame{Profile: string(kind), SampleType: t.SampleType.String(), Unit: t.SampleType.Unit, Total: t.Root.Total}
	fl.TotalText = profile.FormatValue(fl.Total, fl.Unit, "auto")
	denom := float64(t.Root.Total)
	type item struct {
		n      *profile.FlameNode
		parent int
		depth  int
		x      float64
	}
	// Breadth first, so that when the cap is reached the frames left out
	// are the deepest.
	queue := []item{{t.Root, -1, 0, 0}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if len(fl.Frames) >= MaxFlameFrames {
			fl.Dropped++
			continue
		}
		id := len(fl.Frames)
		name := it.n.Name
		if it.parent < 0 {
			name = "all " + string(kind)
		}
		fl.Frames = append(fl.Frames, FlameFrame{ID: id, Parent: it.parent, Name: name, Depth: it.depth,
			X: it.x, W: float64(it.n.Total) / denom, Total: it.n.Total, Self: it.n.Self, Color: frameColor(name)})
		fl.Depth = max(fl.Depth, it.depth)
		x := it.x
		for _, c := range it.n.Children {
			queue = append(queue, item{c, id, it.depth + 1, x})
			x += float64(c.Total) / denom
		}
		if it.n.Trimmed > 0 {
			if len(fl.Frames) >= MaxFlameFrames {
				fl.Dropped++
				continue
			}
			fl.Frames = append(fl.Frames, FlameFrame{ID: len(fl.Frames), Parent: id, Name: "other (small frames)", Depth: it.depth + 1,
				X: x, W: float64(it.n.Trimmed) / denom, Total: it.n.Trimmed, Other: true, Color: "#c8c8c8"})
			fl.Depth = max(fl.Depth, it.depth+1)
		}
	}
	return fl
}

// frameColor gives each function a stable warm colour, as flame graphs do:
// the same name is the same colour in every report.
func frameColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	r := 205 + v%50
	g := 80 + (v>>8)%130
	b := 40 + (v>>16)%50
	return fmt.Sprintf("#%02x%02x%02x", r, g, b)
}
