package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/crafted"
	"github.com/gotune/gotune/profile"
)

func TestParseSnapshotBudget(t *testing.T) {
	b, err := ParseBudget("json-entry=128MiB, total=1GB,ratio=0")
	if err != nil {
		t.Fatal(err)
	}
	if b.JSONEntry != 128<<20 || b.Total != 1e9 || b.Ratio != 0 || b.Entry != MaxEntrySize {
		t.Errorf("got %+v", b)
	}
	for _, bad := range []string{"json=1MiB", "total", "total=big"} {
		if _, err := ParseBudget(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// snapBudgetErr fails unless err is the snapshot budget name's error and
// says how to raise it.
func snapBudgetErr(t *testing.T, err error, name string) {
	t.Helper()
	var be *BudgetError
	if !errors.As(err, &be) || be.Budget != name {
		t.Fatalf("error %v, want the %s budget's", err, name)
	}
	if want := BudgetEnv + "=" + name + "="; !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not say %q", err, want)
	}
}

func craftedFile(t *testing.T, es ...crafted.SnapshotEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := (crafted.Snapshot{Format: Format, Version: FormatVersion, Entries: es}).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The file: six 511 MiB entries deflated into about 3 MB (gotune
// diff used 8.7 GB on it). Refused from the manifest, before any entry is
// inflated, by the entry budget; with that lifted, by the deflate ratio,
// and with that lifted too, by the total.
func TestSixHugeEntriesRefused(t *testing.T) {
	var es []crafted.SnapshotEntry
	for _, k := range []string{"heap", "allocs", "goroutine", "mutex", "block", "threadcreate"} {
		es = append(es, crafted.SnapshotEntry{Name: ProfilesDir + k + ".pb.gz", Kind: "profile", Profile: k, Size: 511 << 20})
	}
	data := craftedFile(t, es...)
	t.Logf("crafted file: %d bytes", len(data))
	if len(data) > 4<<20 {
		t.Errorf("crafted file is %d bytes, want about 3 MB", len(data))
	}
	// The total is shown on six 64 MiB entries: the first is read, the
	// second refused (inflating 511 MiB under -race took half a minute).
	for i := range es {
		es[i].Size = 64 << 20
	}
	smaller := craftedFile(t, es...)
	for _, c := range []struct {
		data         []byte
		spec, budget string
		read         uint64 // what is read before the refusal
	}{
		{data, "", "entry", 0},
		{data, "entry=1GiB", "ratio", 0},
		{smaller, "entry=1GiB,ratio=0,total=100MiB", "total", 64 << 20},
	} {
		b, err := ParseBudget(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		var s *Snapshot
		alloc := allocDuring(func() { s, err = DecodeWithin(bytes.NewReader(c.data), int64(len(c.data)), b, 0) })
		if s != nil {
			t.Fatalf("%q: decoded", c.spec)
		}
		snapBudgetErr(t, err, c.budget)
		if limit := uint64(8<<20) + c.read; alloc > limit {
			t.Errorf("%q: refusing it allocated %d MiB", c.spec, alloc>>20)
		}
	}
}

// A series of many short keys is refused by its estimated decoded size
// before it is decoded, though it is within the JSON entry budget.
func TestSeriesDecodedBudget(t *testing.T) {
	series := crafted.SeriesJSON(20_000, 200)
	if len(series) > MaxJSONEntry {
		t.Fatalf("series is %d bytes, over the JSON entry budget", len(series))
	}
	data := craftedFile(t, crafted.SnapshotEntry{Name: SeriesEntry, Kind: "series", Data: series})
	var err error
	alloc := allocDuring(func() { _, err = Decode(bytes.NewReader(data), int64(len(data))) })
	snapBudgetErr(t, err, "json-decoded")
	if limit := uint64(len(series)) + 8<<20; alloc > limit {
		t.Errorf("refusing a %d-byte series allocated %d MiB", len(series), alloc>>20)
	}
	// The figure is the budget, not a parse failure: a tenth of the
	// series is refused by a tenth of the budget and decodes under a
	// raised one (decoding all of it took three minutes under -race).
	series = crafted.SeriesJSON(2_000, 200)
	data = craftedFile(t, crafted.SnapshotEntry{Name: SeriesEntry, Kind: "series", Data: series})
	tenth, _ := ParseBudget(fmt.Sprintf("json-decoded=%d", MaxJSONDecoded/10))
	_, err = DecodeWithin(bytes.NewReader(data), int64(len(data)), tenth, 0)
	snapBudgetErr(t, err, "json-decoded")
	raised, _ := ParseBudget("json-decoded=1GiB")
	s, err := DecodeWithin(bytes.NewReader(data), int64(len(data)), raised, 0)
	if err != nil || len(s.Series.Points) != 2_000 || len(s.Series.Points[0].Values) != 200 {
		t.Fatalf("raised budget: err %v", err)
	}
}

// A second snapshot's profiles count what the command holds already
// (ReadAfter): over the profile package's held budget, a profile is named
// in Problems with that budget, and the rest of the snapshot stands.
func TestReadAfterCountsHeld(t *testing.T) {
	raw := crafted.Profile{Samples: 20_000, Stacks: 500}.Bytes()
	s := &Snapshot{Profiles: map[profile.Kind]*profile.Captured{profile.KindHeap: {Kind: profile.KindHeap, Raw: raw}}}
	path := filepath.Join(t.TempDir(), "a.gotune")
	if err := Write(path, s); err != nil {
		t.Fatal(err)
	}
	first, err := Read(path)
	if err != nil || first.Profile(profile.KindHeap).Profile == nil {
		t.Fatalf("read: %v %v", err, first.Problems)
	}
	if fp := first.Footprint(); fp < int64(len(raw)) {
		t.Errorf("footprint %d, under the raw profile's %d bytes", fp, len(raw))
	}
	held := profile.DefaultBudget().Held - int64(len(raw))
	second, err := ReadAfter(path, held)
	if err != nil {
		t.Fatal(err)
	}
	if second.Profile(profile.KindHeap).Profile != nil {
		t.Fatal("decoded a profile over the held budget")
	}
	if len(second.Problems) != 1 || !strings.Contains(second.Problems[0], "held budget") || !strings.Contains(second.Problems[0], profile.BudgetEnv+"=held=") {
		t.Errorf("problems %q", second.Problems)
	}
	if len(second.Profile(profile.KindHeap).Raw) != len(raw) {
		t.Error("the raw profile was not kept")
	}
}

// allocDuring returns the bytes f allocated.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
