// Package cpulist parses and formats the kernel's CPU and node list format
// ("0-3,8-11", "0,2,4-7"), the one format shared by /proc/PID/status
// (Cpus_allowed_list, Mems_allowed_list), cgroup cpuset files and
// /sys/devices/system/node/node*/cpulist. It is the only copy of that parser
// in gotune: collectors/proc, collectors/cgroup and collectors/numa all use it.
//
// Format: Documentation/admin-guide/cgroup-v2.rst ("cpuset.cpus") and
// lib/bitmap-str.c bitmap_parselist, which also accepts a stride
// ("0-15:2/4": the first 2 of every group of 4) and "N" for the last ID.
// We accept "a", "a-b" and "a-b:used/group"; "N" is rejected because only
// the kernel knows the bitmap size.
package cpulist

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// MaxID bounds the IDs Parse accepts, so a corrupt or hostile file cannot
// make us allocate gigabytes. The kernel's CONFIG_NR_CPUS tops out at 8192
// (arch/x86/Kconfig NR_CPUS_RANGE_END) and NODES_SHIFT at 10; 1<<16 leaves
// room for larger machines.
const MaxID = 1 << 16

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("invalid CPU list")

// Parse returns the IDs named by a list such as "0-3,8-11\n", sorted and
// without duplicates. An empty or all-whitespace list is an empty set (an
// empty cgroup cpuset.cpus means "inherit"; the caller decides what that
// means).
func Parse(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []int{}, nil
	}
	// A bitmap keeps memory bounded however many overlapping ranges the
	// input repeats.
	var set [MaxID/64 + 1]uint64
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, used, group, err := parseRange(part)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrSyntax, s, err)
		}
		for start := lo; start <= hi; start += group {
			for id := start; id < start+used && id <= hi; id++ {
				if set[id/64]&(1<<(id%64)) == 0 {
					set[id/64] |= 1 << (id % 64)
					n++
				}
			}
		}
	}
	ids := make([]int, 0, n)
	for w, word := range set {
		for word != 0 {
			ids = append(ids, w*64+bits.TrailingZeros64(word))
			word &= word - 1
		}
	}
	return ids, nil
}

// parseRange parses "a", "a-b" or "a-b:used/group" (bitmap_parselist).
func parseRange(part string) (lo, hi, used, group int, err error) {
	part = strings.TrimSpace(part)
	rng, stride, hasStride := strings.Cut(part, ":")
	a, b, isRange := strings.Cut(rng, "-")
	if lo, err = parseID(a); err != nil {
		return
	}
	hi = lo
	if isRange {
		if hi, err = parseID(b); err != nil {
			return
		}
	}
	if hi < lo {
		return 0, 0, 0, 0, fmt.Errorf("range %q runs backwards", part)
	}
	used, group = 1, 1
	if hasStride {
		if !isRange {
			return 0, 0, 0, 0, fmt.Errorf("stride without a range in %q", part)
		}
		u, g, ok := strings.Cut(stride, "/")
		if !ok {
			return 0, 0, 0, 0, fmt.Errorf("stride without a group size in %q", part)
		}
		if used, err = strconv.Atoi(u); err != nil || used <= 0 || used > MaxID {
			return 0, 0, 0, 0, fmt.Errorf("bad stride in %q", part)
		}
		if group, err = strconv.Atoi(g); err != nil || group < used || group > MaxID {
			return 0, 0, 0, 0, fmt.Errorf("bad stride group in %q", part)
		}
	}
	return lo, hi, used, group, nil
}

func parseID(s string) (int, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("bad ID %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > MaxID {
		return 0, fmt.Errorf("bad ID %q", s)
	}
	return n, nil
}

// Format writes sorted IDs back in the kernel's compact form: Format of
// Parse(s) equals s for any list the kernel prints.
func Format(ids []int) string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ids[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ids[j]))
		}
		i = j + 1
	}
	return b.String()
}

// Intersect returns the IDs present in both sorted lists.
func Intersect(a, b []int) []int {
	out := []int{}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// Contains reports whether the sorted list ids holds id.
func Contains(ids []int, id int) bool {
	_, ok := slices.BinarySearch(ids, id)
	return ok
}
