// Command bigheap writes a synthetic heap profile with many samples, shaped
// like a large service's: thousands of functions, deep stacks that share
// prefixes, some recursion, inlined frames and a "bytes" numeric label on
// every sample. gotune's speed and memory tests run `gotune top` and
// `go tool pprof -top` on it.
//
//	bigheap -samples 600000 -o /tmp/big.pb.gz
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	pprof "github.com/google/pprof/profile"
)

func main() {
	samples := flag.Int("samples", 600000, "number of samples")
	out := flag.String("o", "big.pb.gz", "output file")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := write(*out, *samples, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "bigheap:", err)
		os.Exit(1)
	}
}

func write(out string, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 42))
	p := &pprof.Profile{
		SampleType: []*pprof.ValueType{
			{Type: "alloc_objects", Unit: "count"},
			{Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
		},
		PeriodType: &pprof.ValueType{Type: "space", Unit: "bytes"},
		Period:     512 * 1024,
		TimeNanos:  1_700_000_000_000_000_000,
	}
	m := &pprof.Mapping{ID: 1, Start: 0x400000, Limit: 0x4000000, File: "/usr/local/bin/bigservice", HasFunctions: true, HasFilenames: true, HasLineNumbers: true, HasInlineFrames: true}
	p.Mapping = []*pprof.Mapping{m}

	const nFuncs, nLocs, fanout = 4000, 30000, 6
	for i := range nFuncs {
		name := fmt.Sprintf("example.com/service/pkg%03d.(*Type%d).Method%d", i%250, i%37, i)
		p.Function = append(p.Function, &pprof.Function{
			ID: uint64(i + 1), Name: name, SystemName: name,
			Filename:  fmt.Sprintf("/src/service/pkg%03d/file%d.go", i%250, i%11),
			StartLine: int64(10 + i%500),
		})
	}
	for i := range nLocs {
		f := p.Function[r.IntN(nFuncs)]
		loc := &pprof.Location{ID: uint64(i + 1), Mapping: m, Address: uint64(0x400000 + 16*i),
			Line: []pprof.Line{{Function: f, Line: f.StartLine + int64(r.IntN(80))}}}
		if r.IntN(10) == 0 { // an inlined callee
			g := p.Function[r.IntN(nFuncs)]
			loc.Line = append([]pprof.Line{{Function: g, Line: g.StartLine + 3}}, loc.Line...)
		}
		p.Location = append(p.Location, loc)
	}
	// A call graph: each location calls a few others, so random walks from
	// a few roots share prefixes the way real stacks do.
	callees := make([][]int, nLocs)
	for i := range callees {
		for range fanout {
			callees[i] = append(callees[i], r.IntN(nLocs))
		}
	}
	roots := []int{0, 1, 2, 3}
	recursive := p.Location[nLocs-1]
	for range n {
		depth := 8 + r.IntN(32)
		stack := make([]*pprof.Location, 0, depth+4)
		cur := roots[r.IntN(len(roots))]
		for d := 0; d < depth; d++ {
			stack = append(stack, p.Location[cur])
			if d == depth/2 && r.IntN(8) == 0 {
				for range 3 {
					stack = append(stack, recursive)
				}
			}
			cur = callees[cur][r.IntN(fanout)]
		}
		// Leaf first, as in the proto.
		for i, j := 0, len(stack)-1; i < j; i, j = i+1, j-1 {
			stack[i], stack[j] = stack[j], stack[i]
		}
		size := int64(16 << r.IntN(10))
		objs := int64(1 + r.IntN(200))
		inuse := objs * int64(r.IntN(2))
		p.Sample = append(p.Sample, &pprof.Sample{
			Location: stack,
			Value:    []int64{objs, objs * size, inuse, inuse * size},
			NumLabel: map[string][]int64{"bytes": {size}},
		})
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := p.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
