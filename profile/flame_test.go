package profile

import (
	"bytes"
	"testing"
)

func TestRecursionCountsCumOnce(t *testing.T) {
	p := mustParseBytes(t, synth(t, cpuTypes, ValueType{"cpu", "nanoseconds"}, []synthSample{
		cpuSample(10, "leaf", "rec", "rec", "rec", "main"),
		cpuSample(5, "rec", "rec", "main"),
		cpuSample(1, "other", "main"),
	}))
	top, err := NewTop(p, TopOptions{Options: Options{SampleIndex: "samples"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]TopRow{
		"rec":   {"rec", 5, 15},
		"leaf":  {"leaf", 10, 10},
		"main":  {"main", 0, 16},
		"other": {"other", 1, 1},
	}
	for _, r := range top.Rows {
		if want[r.Name] != r {
			t.Errorf("row %+v, want %+v", r, want[r.Name])
		}
	}
	if top.Total != 16 || top.Shown != 16 || len(top.Rows) != 4 {
		t.Errorf("total %d shown %d rows %d", top.Total, top.Shown, len(top.Rows))
	}

	tree, err := NewFlameTree(p, Options{SampleIndex: "samples"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tree.Walk(func(n *FlameNode, depth int) {
		b.WriteString(string(bytes.Repeat([]byte("  "), depth)))
		b.WriteString(n.Name)
		b.WriteString(" ")
		b.WriteString(FormatValue(n.Self, "count", "auto"))
		b.WriteString("/")
		b.WriteString(FormatValue(n.Total, "count", "auto"))
		b.WriteString("\n")
	})
	const wantTree = `root 0/16
  main 0/16
    rec 0/15
      rec 5/15
        rec 0/10
          leaf 10/10
    other 1/1
`
	if b.String() != wantTree {
		t.Errorf("tree:\n%s\nwant:\n%s", b.String(), wantTree)
	}
	tree.Trim(0.2) // cutoff 3 of 16: drops "other"
	if tree.TrimmedNodes != 1 || tree.TrimmedValue != 1 || tree.Root.Children[0].Trimmed != 1 {
		t.Errorf("trim: %d nodes, %d value", tree.TrimmedNodes, tree.TrimmedValue)
	}

	var folded bytes.Buffer
	if err := WriteFolded(&folded, p, Options{SampleIndex: "samples"}); err != nil {
		t.Fatal(err)
	}
	const wantFolded = "main;other 1\nmain;rec;rec 5\nmain;rec;rec;rec;leaf 10\n"
	if folded.String() != wantFolded {
		t.Errorf("folded:\n%s\nwant:\n%s", folded.String(), wantFolded)
	}
}

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v        int64
		unit, to string
		want     string
	}{
		{1536, "bytes", "auto", "1.50kB"},
		{0, "bytes", "auto", "0"},
		{-2 << 20, "bytes", "auto", "-2MB"},
		{1500000000, "nanoseconds", "auto", "1.50s"},
		{10000000, "nanoseconds", "ms", "10ms"},
		{42, "count", "auto", "42"},
		{7, "widgets", "auto", "7"},
	} {
		if got := FormatValue(c.v, c.unit, c.to); got != c.want {
			t.Errorf("FormatValue(%d, %s, %s) = %q, want %q", c.v, c.unit, c.to, got, c.want)
		}
	}
	for _, c := range []struct {
		v, total int64
		want     string
	}{{1, 2, "50.00%"}, {1, 1000, "  0.1%"}, {1000, 1000, "  100%"}, {0, 0, "    0%"}} {
		if got := Percent(c.v, c.total); got != c.want {
			t.Errorf("Percent(%d, %d) = %q, want %q", c.v, c.total, got, c.want)
		}
	}
}
