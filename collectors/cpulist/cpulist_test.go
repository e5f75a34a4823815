package cpulist

import (
	"errors"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"", []int{}},
		{"\n", []int{}},
		{"0", []int{0}},
		{"0-1\n", []int{0, 1}},
		{"0-3,8-11", []int{0, 1, 2, 3, 8, 9, 10, 11}},
		{"3,1,2,1", []int{1, 2, 3}},
		{"0-7:1/2", []int{0, 2, 4, 6}},
		{"0-15:2/8", []int{0, 1, 8, 9}},
		{"0-3, 5", []int{0, 1, 2, 3, 5}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"a", "-1", "3-1", "1-", ",", "0,,1", "1:2/2", "0-7:2", "0-3:0/1", "0-3:2/1", "99999999", "0-65537", "+1", "N"} {
		if got, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, %v; want ErrSyntax", in, got, err)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 1, 2, 3, 8, 9, 10, 11}, "0-3,8-11"},
		{[]int{5, 1, 3, 2, 2}, "1-3,5"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIntersectContains(t *testing.T) {
	got := Intersect([]int{0, 1, 2, 3, 8}, []int{2, 3, 4, 8, 9})
	if !slices.Equal(got, []int{2, 3, 8}) {
		t.Errorf("Intersect = %v", got)
	}
	if !Contains([]int{1, 4, 9}, 4) || Contains([]int{1, 4, 9}, 5) {
		t.Error("Contains wrong")
	}
}

// FuzzCPUList checks that Parse never panics, returns sorted unique IDs
// within MaxID, and that Format(Parse(s)) parses back to the same set.
func FuzzCPUList(f *testing.F) {
	for _, s := range []string{"0-3,8-11", "0", "0-1\n", "0-15:2/8", "", "0,2,4-7", "1-65536"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := Parse(s)
		if err != nil {
			return
		}
		for i, id := range ids {
			if id < 0 || id > MaxID || (i > 0 && ids[i-1] >= id) {
				t.Fatalf("Parse(%q) = unsorted or out of range %v", s, ids)
			}
		}
		again, err := Parse(Format(ids))
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
	})
}
