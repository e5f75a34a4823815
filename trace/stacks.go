package trace

import (
	"strconv"
	"strings"

	xtrace "golang.org/x/exp/trace"

	"github.com/gotune/gotune/profile"
)

// stackID names an interned stack; 0 is "no stack".
type stackID int32

// stackTable interns stacks by content (function, file and line of each
// frame, as profile.GroupGoroutines keys goroutines), so stacks from
// different generations that read the same share one ID. A trace.Stack
// handle points into its generation's tables; the per-generation cache is
// dropped at every Sync so no generation outlives its turn.
type stackTable struct {
	byKey   map[string]stackID
	frames  [][]profile.Frame // by stackID; frames[0] is nil
	gen     map[xtrace.Stack]stackID
	strs    map[string]string
	key     strings.Builder
	scratch []profile.Frame
}

func newStackTable() *stackTable {
	return &stackTable{
		byKey:  map[string]stackID{},
		frames: [][]profile.Frame{nil},
		gen:    map[xtrace.Stack]stackID{},
		strs:   map[string]string{},
	}
}

// newGeneration forgets the handles of the previous generation.
func (t *stackTable) newGeneration() {
	clear(t.gen)
}

func (t *stackTable) intern(s string) string {
	if v, ok := t.strs[s]; ok {
		return v
	}
	t.strs[s] = s
	return s
}

// id returns the interned ID of s.
func (t *stackTable) id(s xtrace.Stack) stackID {
	if s == xtrace.NoStack {
		return 0
	}
	if id, ok := t.gen[s]; ok {
		return id
	}
	t.key.Reset()
	t.scratch = t.scratch[:0]
	for f := range s.Frames() {
		t.key.WriteString(f.Func)
		t.key.WriteByte(0)
		t.key.WriteString(f.File)
		t.key.WriteByte(0)
		t.key.WriteString(strconv.FormatUint(f.Line, 10))
		t.key.WriteByte(0)
		t.scratch = append(t.scratch, profile.Frame{Func: f.Func, File: f.File, Line: int(f.Line)})
	}
	if len(t.scratch) == 0 {
		t.gen[s] = 0
		return 0
	}
	k := t.key.String()
	id, ok := t.byKey[k]
	if !ok {
		fr := make([]profile.Frame, len(t.scratch))
		for i, f := range t.scratch {
			fr[i] = profile.Frame{Func: t.intern(f.Func), File: t.intern(f.File), Line: f.Line}
		}
		id = stackID(len(t.frames))
		t.frames = append(t.frames, fr)
		t.byKey[k] = id
	}
	t.gen[s] = id
	return id
}

// get returns the frames of id, innermost first.
func (t *stackTable) get(id stackID) []profile.Frame {
	if id <= 0 || int(id) >= len(t.frames) {
		return nil
	}
	return t.frames[id]
}

// root returns the outermost function of id: a goroutine's start function
// when the stack is complete (what go tool trace names a goroutine by).
func (t *stackTable) root(id stackID) string {
	fr := t.get(id)
	if len(fr) == 0 {
		return ""
	}
	return fr[len(fr)-1].Func
}
