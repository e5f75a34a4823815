package profile

import (
	"math"
	"strings"
)

// weigher turns a raw sample value into the value aggregated: identity,
// negation for a diff base, or pprof's -normalize scaling.
type weigher struct {
	ratio  float64 // 1: unscaled
	negate bool
}

func (w weigher) weight(v int64) int64 {
	if w.ratio != 1 {
		v = int64(math.Round(float64(v) * w.ratio))
	}
	if w.negate {
		v = -v
	}
	return v
}

// accum holds flat and cum per node for one side of an aggregation, plus
// hits (how many samples' worth of the count type passed through the node),
// used for the diff noise floor.
type accum struct {
	flat, cum, hits []int64
	seen            []uint32
	gen             uint32
	leafSum         int64 // sum of flat: pprof's g.Nodes.Sum() flat total
}

func (a *accum) grow(n int) {
	for len(a.flat) < n {
		a.flat = append(a.flat, 0)
		a.cum = append(a.cum, 0)
		a.hits = append(a.hits, 0)
		a.seen = append(a.seen, 0)
	}
}

// add accumulates every sample of v. Cum is added once per node per sample
// however often the node recurs in the stack (pprof's graph.newGraph rule);
// flat goes to the leaf.
func (a *accum) add(v *view, w weigher, nnodes int, hitIndex int) {
	a.grow(nnodes)
	p := v.p
	nv := len(p.SampleTypes)
	var buf []int32
	for i := range p.NumSamples() {
		raw := p.values[i*nv+v.vi]
		wt := w.weight(raw)
		if wt == 0 {
			continue
		}
		var ok bool
		buf, ok = v.path(i, buf[:0])
		if !ok || len(buf) == 0 {
			continue
		}
		var hit int64 = 1
		if hitIndex >= 0 {
			hit = p.values[i*nv+hitIndex]
		}
		a.gen++
		if a.gen == 0 {
			clear(a.seen)
			a.gen = 1
		}
		for _, n := range buf {
			if a.seen[n] != a.gen {
				a.seen[n] = a.gen
				a.cum[n] += wt
				a.hits[n] += hit
			}
		}
		a.flat[buf[len(buf)-1]] += wt
		a.leafSum += wt
	}
}

// total is pprof's report total (internal/report.computeTotal): the sum of
// absolute values of the selected type over all samples, before filters.
func total(p *Profile, vi int, w weigher) int64 {
	nv := len(p.SampleTypes)
	var t int64
	for i := range p.NumSamples() {
		v := w.weight(p.values[i*nv+vi])
		if v < 0 {
			v = -v
		}
		t += v
	}
	return t
}

// hitIndex picks the sample type that counts events for the noise floor:
// the selected type if it is a count, else the matching *_objects type, else
// -1 (count sample records).
func hitIndex(p *Profile, vi int) int {
	if p.SampleTypes[vi].Unit == "count" {
		return vi
	}
	if prefix, ok := strings.CutSuffix(p.SampleTypes[vi].Type, "_space"); ok {
		for i, t := range p.SampleTypes {
			if t.Type == prefix+"_objects" {
				return i
			}
		}
	}
	for i, t := range p.SampleTypes {
		if t.Unit == "count" {
			return i
		}
	}
	return -1
}
