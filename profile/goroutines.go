package profile

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Frame is one call in a goroutine's stack.
type Frame struct {
	Func string `json:"func"`
	Args string `json:"args,omitempty"` // as printed, without parentheses; "..." for inlined frames
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Goroutine is one goroutine of a debug=2 dump (runtime.Stack(all=true),
// /debug/pprof/goroutine?debug=2, or a crash's traceback).
type Goroutine struct {
	ID             int64   `json:"id"`
	State          string  `json:"state"`                  // "chan receive", "running", "sync.Mutex.Lock", "GC worker (idle)"
	Extra          string  `json:"extra,omitempty"`        // other bracket notes, comma separated
	WaitMinutes    int     `json:"wait_minutes,omitempty"` // the runtime prints waits of a minute or more
	LockedToThread bool    `json:"locked_to_thread,omitempty"`
	Frames         []Frame `json:"frames"`           // innermost first
	Elided         bool    `json:"elided,omitempty"` // the runtime left frames out of a long stack
	CreatedBy      *Frame  `json:"created_by,omitempty"`
	CreatorID      int64   `json:"creator_id,omitempty"` // 0 when the dump does not say (Go < 1.21)
	Labels         []Label `json:"labels,omitempty"`
}

// ErrNotGoroutineDump is returned for input without a single goroutine
// header.
var ErrNotGoroutineDump = errors.New("not a goroutine dump: no \"goroutine N [state]:\" line")

// ParseGoroutineDump parses a debug=2 goroutine dump. It is lenient: text
// before the first goroutine (a panic message), unknown lines and truncated
// stacks are skipped or kept as far as they make sense, never a panic. It
// fails only when no goroutine header is found at all.
func ParseGoroutineDump(r io.Reader) ([]Goroutine, error) {
	data, err := ReadInput(r)
	if err != nil {
		return nil, err
	}
	return ParseGoroutineDumpBytes(data)
}

// ParseGoroutineDumpBytes is ParseGoroutineDump on a byte slice, within
// DefaultBudget.
func ParseGoroutineDumpBytes(data []byte) ([]Goroutine, error) {
	return ParseGoroutineDumpWithin(data, DefaultBudget())
}

// ParseGoroutineDumpWithin is ParseGoroutineDumpBytes within budget b:
// the dump's size (DumpBytes), its goroutines, their frames and what they
// decode to (Decoded, Held) are checked as it is parsed, and the first
// over its budget stops it with a *BudgetError.
func ParseGoroutineDumpWithin(data []byte, b Budget) ([]Goroutine, error) {
	if b.err != nil {
		return nil, b.err
	}
	c := newCheck(b, "goroutine dump", int64(len(data)))
	if err := c.heldInput(); err != nil {
		return nil, err
	}
	if err := c.over("dump-bytes", int64(len(data)), b.DumpBytes, false); err != nil {
		return nil, err
	}
	ps := dumpParser{intern: map[string]string{}}
	var frames, decoded int64
	// addFrame counts one more frame; the decoded size is checked every
	// 4096 frames and at each goroutine, cheap next to parsing them.
	addFrame := func() error {
		frames++
		decoded += costFrame
		if err := c.over("frames", frames, b.Frames, true); err != nil {
			return err
		}
		if frames%4096 == 0 {
			return c.decoded(decoded + ps.bytes)
		}
		return nil
	}
	var budgetErr error
	var gs []Goroutine
	var cur *Goroutine
	// A goroutine's frames gather in frameBuf and are copied out at its
	// end at their exact size: appending to each goroutine's own slice
	// would leave about as much garbage as it keeps.
	var frameBuf []Frame
	endGoroutine := func() {
		if cur != nil && len(frameBuf) > 0 {
			cur.Frames = slices.Clone(frameBuf)
		}
		frameBuf = frameBuf[:0]
	}
	var pending *Frame // a function line waiting for its file line
	var pendingCreator bool
	flush := func() {
		if pending != nil {
			if pendingCreator {
				cur.CreatedBy = pending
			} else {
				frameBuf = append(frameBuf, *pending)
			}
			if err := addFrame(); err != nil && budgetErr == nil {
				budgetErr = err
			}
			pending = nil
		}
	}
	for len(data) > 0 && budgetErr == nil {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimRight(line, "\r")
		if g, ok := ps.header(line); ok {
			if cur != nil {
				flush()
				endGoroutine()
			}
			decoded += costGoroutine
			if err := c.over("goroutines", int64(len(gs))+1, b.Goroutines, true); err != nil {
				return nil, err
			}
			if err := c.decoded(decoded + ps.bytes); err != nil {
				return nil, err
			}
			gs = append(gs, g)
			cur = &gs[len(gs)-1]
			pendingCreator = false
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case len(line) == 0:
			flush()
		case line[0] == '\t' || line[0] == ' ':
			// File line of the pending frame.
			if pending != nil {
				pending.File, pending.Line = ps.fileLine(bytes.TrimSpace(line))
				flush()
			}
		case bytes.HasPrefix(line, []byte("...")) && bytes.Contains(line, []byte("elided")):
			flush()
			cur.Elided = true
		case bytes.HasPrefix(line, []byte("created by ")):
			flush()
			f, id := ps.creator(line[len("created by "):])
			pending, pendingCreator = &f, true
			cur.CreatorID = id
		case bytes.HasPrefix(line, []byte("labels: ")):
			flush()
			cur.Labels = parseLabelsLine(string(line[len("labels: "):]))
			ps.bytes += 2 * int64(len(line)) // the line and the labels cut from it
		default:
			flush()
			if f, ok := ps.call(line); ok {
				pending, pendingCreator = &f, false
			}
			// Anything else ("goroutine running on other thread; stack
			// unavailable", "exit status 2", register dumps) is skipped.
		}
	}
	if cur != nil && budgetErr == nil {
		flush()
		endGoroutine()
	}
	if budgetErr != nil {
		return nil, budgetErr
	}
	if len(gs) == 0 {
		return nil, ErrNotGoroutineDump
	}
	track(decoded+ps.bytes, &gs[0])
	return gs, nil
}

type dumpParser struct {
	intern map[string]string
	bytes  int64 // the bytes of the strings it made, for the Decoded budget
}

func (ps *dumpParser) str(b []byte) string {
	if s, ok := ps.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	ps.bytes += int64(len(s))
	if len(ps.intern) < 1<<16 {
		ps.intern[s] = s
	}
	return s
}

// header parses "goroutine 7 [chan receive, 5 minutes, locked to thread]:",
// also with "gp=0x… m=…" between the ID and the bracket (GOTRACEBACK=system).
func (ps *dumpParser) header(line []byte) (Goroutine, bool) {
	var g Goroutine
	rest, ok := bytes.CutPrefix(line, []byte("goroutine "))
	if !ok {
		return g, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	if end == 0 || end > 19 {
		return g, false
	}
	id, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return g, false
	}
	open := bytes.IndexByte(rest, '[')
	close := bytes.LastIndexByte(rest, ']')
	if open < end || close < open {
		return g, false
	}
	g.ID = id
	var extra []string
	for i, part := range strings.Split(string(rest[open+1:close]), ", ") {
		part = strings.TrimSpace(part)
		switch {
		case i == 0:
			g.State = ps.str([]byte(part))
		case part == "locked to thread":
			g.LockedToThread = true
		case strings.HasSuffix(part, " minutes") || strings.HasSuffix(part, " minute"):
			if n, err := strconv.Atoi(strings.Fields(part)[0]); err == nil {
				g.WaitMinutes = n
				continue
			}
			extra = append(extra, part)
		default:
			extra = append(extra, part)
		}
	}
	g.Extra = strings.Join(extra, ", ")
	return g, true
}

// call parses "pkg.(*T).Method(0x1, {0x2, 0x3}, ...)" into name and args.
func (ps *dumpParser) call(line []byte) (Frame, bool) {
	if line[len(line)-1] != ')' {
		return Frame{}, false
	}
	open := bytes.LastIndexByte(line, '(')
	if open <= 0 {
		return Frame{}, false
	}
	// Args never hold parentheses, but receivers in the name do: the last
	// "(" opens the argument list.
	return Frame{Func: ps.str(line[:open]), Args: ps.str(line[open+1 : len(line)-1])}, true
}

// creator parses "main.main in goroutine 1" (Go ≥1.21) or "main.main".
func (ps *dumpParser) creator(b []byte) (Frame, int64) {
	var id int64
	if i := bytes.LastIndex(b, []byte(" in goroutine ")); i >= 0 {
		id, _ = strconv.ParseInt(string(b[i+len(" in goroutine "):]), 10, 64)
		b = b[:i]
	}
	return Frame{Func: ps.str(b)}, id
}

// fileLine parses "/path/file.go:123 +0x25" (with optional "fp=… sp=… pc=…").
func (ps *dumpParser) fileLine(b []byte) (string, int) {
	if i := bytes.Index(b, []byte(" +0x")); i >= 0 {
		b = b[:i]
	} else if i := bytes.Index(b, []byte(" fp=")); i >= 0 {
		b = b[:i]
	}
	colon := bytes.LastIndexByte(b, ':')
	if colon < 0 {
		return ps.str(b), 0
	}
	n, err := strconv.Atoi(string(b[colon+1:]))
	if err != nil {
		return ps.str(b), 0
	}
	return ps.str(b[:colon]), n
}

// parseLabelsLine reads a `labels: {"k":"v", "k2":"v2"}` line.
func parseLabelsLine(s string) []Label {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var out []Label
	for _, kv := range strings.Split(s, ", ") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			continue
		}
		uk, err1 := strconv.Unquote(strings.TrimSpace(k))
		uv, err2 := strconv.Unquote(strings.TrimSpace(v))
		if err1 != nil || err2 != nil {
			uk, uv = strings.Trim(k, `" `), strings.Trim(v, `" `)
		}
		out = append(out, Label{uk, uv})
	}
	slices.SortFunc(out, func(a, b Label) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value)) })
	return out
}

// GoroutineGroup is a set of goroutines with the same state, stack, creator
// and labels.
type GoroutineGroup struct {
	Count          int     `json:"count"`
	State          string  `json:"state"` // "" for proto profiles, which carry no state
	LockedToThread bool    `json:"locked_to_thread,omitempty"`
	MinWait        int     `json:"min_wait_minutes"`
	MaxWait        int     `json:"max_wait_minutes"`
	Frames         []Frame `json:"frames"` // innermost first; Args from the first goroutine
	Elided         bool    `json:"elided,omitempty"`
	CreatedBy      *Frame  `json:"created_by,omitempty"`
	Labels         []Label `json:"labels,omitempty"`
	// IDs holds up to MaxGroupIDs goroutine IDs of the group, ascending.
	IDs []int64 `json:"ids,omitempty"`
}

// MaxGroupIDs bounds GoroutineGroup.IDs.
const MaxGroupIDs = 10

// GroupOptions change what makes two goroutines alike.
type GroupOptions struct {
	// ExactArgs keeps stacks apart that differ only in argument values
	// (pointers, lengths). By default they are merged, as panicparse's
	// default similarity does: every front end groups with the zero value.
	ExactArgs bool
}

// GroupGoroutines buckets goroutines by state, locked-to-thread, stack
// (function, file and line of each frame, plus arguments with ExactArgs),
// creator and labels. Groups are sorted by count, largest first.
func GroupGoroutines(gs []Goroutine, o GroupOptions) []GoroutineGroup {
	index := map[string]int{}
	var groups []GoroutineGroup
	var key strings.Builder
	for i := range gs {
		g := &gs[i]
		key.Reset()
		key.WriteString(g.State)
		if g.LockedToThread {
			key.WriteString("\x00L")
		}
		for _, f := range g.Frames {
			writeFrameKey(&key, f, !o.ExactArgs)
		}
		if g.Elided {
			key.WriteString("\x00E")
		}
		if g.CreatedBy != nil {
			key.WriteString("\x00C")
			writeFrameKey(&key, *g.CreatedBy, true)
		}
		for _, l := range g.Labels {
			key.WriteString("\x00l" + l.Key + "=" + l.Value)
		}
		k := key.String()
		gi, ok := index[k]
		if !ok {
			gi = len(groups)
			index[k] = gi
			groups = append(groups, GoroutineGroup{
				State: g.State, LockedToThread: g.LockedToThread, MinWait: g.WaitMinutes, MaxWait: g.WaitMinutes,
				Frames: g.Frames, Elided: g.Elided, CreatedBy: g.CreatedBy, Labels: g.Labels,
			})
		}
		gr := &groups[gi]
		gr.Count++
		gr.MinWait = min(gr.MinWait, g.WaitMinutes)
		gr.MaxWait = max(gr.MaxWait, g.WaitMinutes)
		gr.IDs = appendID(gr.IDs, g.ID)
	}
	sortGroups(groups)
	return groups
}

func writeFrameKey(b *strings.Builder, f Frame, ignoreArgs bool) {
	b.WriteString("\x00")
	b.WriteString(f.Func)
	if !ignoreArgs {
		b.WriteString("(" + f.Args + ")")
	}
	b.WriteString("@")
	b.WriteString(f.File)
	b.WriteString(":")
	b.WriteString(strconv.Itoa(f.Line))
}

// appendID keeps the MaxGroupIDs smallest IDs, sorted.
func appendID(ids []int64, id int64) []int64 {
	if len(ids) == MaxGroupIDs && id >= ids[len(ids)-1] {
		return ids
	}
	i, _ := slices.BinarySearch(ids, id)
	ids = slices.Insert(ids, i, id)
	if len(ids) > MaxGroupIDs {
		ids = ids[:MaxGroupIDs]
	}
	return ids
}

func sortGroups(groups []GoroutineGroup) {
	slices.SortStableFunc(groups, func(a, b GoroutineGroup) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.State, b.State); c != 0 {
			return c
		}
		if len(a.IDs) > 0 && len(b.IDs) > 0 {
			return cmp.Compare(a.IDs[0], b.IDs[0])
		}
		for i := range min(len(a.Frames), len(b.Frames)) {
			if c := cmp.Compare(a.Frames[i].Func, b.Frames[i].Func); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(a.Frames), len(b.Frames))
	})
}

// GoroutineGroupsFromProfile groups a goroutine profile (debug=0 proto): one
// group per distinct stack and label set, with the sample's count. The proto
// carries no states, wait times or creators.
func GoroutineGroupsFromProfile(p *Profile) ([]GoroutineGroup, error) {
	vi, err := p.SampleIndex("")
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	var groups []GoroutineGroup
	var key strings.Builder
	for i := range p.NumSamples() {
		n := p.Values(i)[vi]
		if n <= 0 {
			continue
		}
		var frames []Frame
		for _, l := range p.Stack(i) {
			loc := &p.Locations[l]
			for _, ln := range loc.Lines {
				f := Frame{Func: "<unknown>", Line: int(ln.Line)}
				if ln.Function >= 0 {
					fn := &p.Functions[ln.Function]
					f.Func, f.File = fn.Name, fn.Filename
				}
				frames = append(frames, f)
			}
		}
		labels := slices.Clone(p.Labels(i))
		slices.SortFunc(labels, func(a, b Label) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value)) })
		key.Reset()
		for _, f := range frames {
			writeFrameKey(&key, f, true)
		}
		for _, l := range labels {
			key.WriteString("\x00l" + l.Key + "=" + l.Value)
		}
		gi, ok := index[key.String()]
		if !ok {
			gi = len(groups)
			index[key.String()] = gi
			groups = append(groups, GoroutineGroup{Frames: frames, Labels: labels})
		}
		groups[gi].Count += int(n)
	}
	sortGroups(groups)
	return groups, nil
}
