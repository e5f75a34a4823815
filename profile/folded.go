package profile

import (
	"bufio"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
)

// foldedEscaper keeps a frame name one frame of one line.
var foldedEscaper = strings.NewReplacer(";", ":", "\n", " ", "\r", " ")

// WriteFolded writes p's stacks in the folded format flame-graph tools read
// ("root;caller;leaf value", Brendan Gregg's stackcollapse output): one line
// per distinct stack with a non-zero value, sorted by stack (byte order of
// the line). A ";" inside a frame name is written as ":", a line break as
// a space.
//
// It streams: the samples are sorted by their paths, compared frame by
// frame in place, and each line is written as it is complete, so memory
// is proportional to the number of samples, not of frames.
func WriteFolded(w io.Writer, p *Profile, o Options) error {
	r, err := compileRefine(o)
	if err != nil {
		return err
	}
	vi, err := p.SampleIndex(o.SampleIndex)
	if err != nil {
		return err
	}
	v := newNodeSet().prepare(p, vi, o.Granularity, r)
	names := v.ns.names
	esc := make([]string, len(names))
	order := make([]int32, len(names))
	for i, n := range names {
		esc[i] = foldedEscaper.Replace(n)
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(esc[a], esc[b]) })
	rank := make([]int32, len(names))
	for i, n := range order {
		rank[n] = int32(i)
		if i > 0 && esc[n] == esc[order[i-1]] {
			rank[n] = rank[order[i-1]]
		}
	}

	type foldSample struct {
		s int32
		c cursor
	}
	ss := make([]foldSample, 0, p.NumSamples())
	for s := range p.NumSamples() {
		if v.weight(s) == 0 || !v.selected(s) {
			continue
		}
		if c, ok := v.start(s); ok {
			ss = append(ss, foldSample{int32(s), c})
		}
	}
	// compare orders two paths as their lines ("a;b;c") compare, walking
	// frame by frame: frames of equal rank write the same bytes; at the
	// first differing frame the names decide, unless one is a prefix of
	// the other, where the byte after it (";" or the end of the line)
	// does.
	compare := func(a, b foldSample) int {
		ca, cb := a.c, b.c
		for {
			na, nb := v.nodes[ca.e], v.nodes[cb.e]
			if rank[na] != rank[nb] {
				x, y := esc[na], esc[nb]
				switch {
				case strings.HasPrefix(y, x):
					if _, more := v.down(int(a.s), ca); !more || ';' < y[len(x)] {
						return -1
					}
					return 1
				case strings.HasPrefix(x, y):
					if _, more := v.down(int(b.s), cb); !more || ';' < x[len(y)] {
						return 1
					}
					return -1
				}
				return cmp.Compare(rank[na], rank[nb])
			}
			var oka, okb bool
			ca, oka = v.down(int(a.s), ca)
			cb, okb = v.down(int(b.s), cb)
			if !oka || !okb {
				switch {
				case oka == okb:
					return 0
				case !oka:
					return -1
				}
				return 1
			}
		}
	}
	slices.SortFunc(ss, compare)

	bw := bufio.NewWriterSize(w, 64<<10)
	var num []byte
	for i := 0; i < len(ss); {
		j := i + 1
		value := v.weight(int(ss[i].s))
		for ; j < len(ss) && compare(ss[i], ss[j]) == 0; j++ {
			value += v.weight(int(ss[j].s))
		}
		if value != 0 {
			s, c := int(ss[i].s), ss[i].c
			for ok := true; ok; {
				bw.WriteString(esc[v.nodes[c.e]])
				if c, ok = v.down(s, c); ok {
					bw.WriteByte(';')
				}
			}
			bw.WriteByte(' ')
			num = strconv.AppendInt(num[:0], value, 10)
			bw.Write(num)
			if _, err := bw.Write([]byte{'\n'}); err != nil {
				return err
			}
		}
		i = j
	}
	return bw.Flush()
}
