package profile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/crafted"
	"github.com/gotune/gotune/measurement"
)

func TestParseBudget(t *testing.T) {
	b, err := ParseBudget("samples=4M, decoded=512MiB,string-bytes=1GB,labels=0")
	if err != nil {
		t.Fatal(err)
	}
	if b.Samples != 4_000_000 || b.Decoded != 512<<20 || b.StringBytes != 1e9 || b.Labels != 0 || b.Locations != defaultBudget.Locations {
		t.Errorf("got %+v", b)
	}
	b, err = ParseBudget("2x,held=3GiB")
	if err != nil {
		t.Fatal(err)
	}
	if b.Samples != 2*defaultBudget.Samples || b.Inflated != 2*defaultBudget.Inflated || b.Held != 3<<30 {
		t.Errorf("2x,held=3GiB: got %+v", b)
	}
	for _, bad := range []string{"sample=4M", "samples", "samples=lots", "samples=-1", "0x"} {
		if _, err := ParseBudget(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// budgetErr fails unless err is a *BudgetError for budget name whose
// message tells how to raise it with BudgetEnv.
func budgetErr(t *testing.T, err error, name string) *BudgetError {
	t.Helper()
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("error %v, want the %s budget's", err, name)
	}
	if be.Budget != name {
		t.Fatalf("budget %q (%v), want %q", be.Budget, err, name)
	}
	if want := BudgetEnv + "=" + name + "="; !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not say %q", err, want)
	}
	if !strings.Contains(err.Error(), "budget of") {
		t.Errorf("%q does not give the budget", err)
	}
	return be
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

// Each budget stops a crafted profile over it, on both decode paths (the
// pipelined one for inputs over 256 KiB, the plain one below), and a
// profile within every budget decodes whole.
func TestBudgetsStopDecoding(t *testing.T) {
	small := crafted.Profile{Samples: 2000, Locations: 100, Seed: 1}
	big := crafted.Profile{Samples: 200_000, Stacks: 5000, Locations: 3000, Seed: 2} // pipelined
	strs := crafted.Profile{Samples: 10, StringBytes: 3 << 20, StringSize: 64 << 10}
	labels := crafted.Profile{Samples: 3000, Labels: 2}
	cases := []struct {
		name   string
		p      crafted.Profile
		spec   string
		budget string
	}{
		{"samples, plain", small, "samples=1000", "samples"},
		{"samples, pipelined", big, "samples=100000", "samples"},
		{"locations", big, "locations=2000", "locations"},
		{"functions", small, "functions=50", "functions"},
		{"strings", small, "strings=40", "strings"},
		{"string bytes", strs, "string-bytes=2MiB", "string-bytes"},
		{"labels", labels, "labels=4000", "labels"},
		{"values", small, "values=1", "values"},
		{"inflated", big, "inflated=1MiB", "inflated"},
		{"decoded, pipelined", big, "decoded=2MiB", "decoded"},
		{"decoded, plain", small, "decoded=20KiB", "decoded"},
		{"held", big, "held=3MiB", "held"},
	}
	// Each input is crafted, and decoded whole within the default budget,
	// once (under -race the big one costs seconds each time).
	inputs := map[string][]byte{}
	input := func(t *testing.T, cp crafted.Profile) []byte {
		key := fmt.Sprintf("%+v", cp)
		if data, ok := inputs[key]; ok {
			return data
		}
		data := cp.Bytes()
		p, err := ParseBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		if p.NumSamples() != cp.Samples {
			t.Errorf("default budget: %d samples, want %d", p.NumSamples(), cp.Samples)
		}
		inputs[key] = data
		return data
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := input(t, c.p)
			b, err := ParseBudget(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseBytesWithin(data, b)
			if p != nil {
				t.Fatalf("decoded %d samples over the budget", p.NumSamples())
			}
			budgetErr(t, err, c.budget)
		})
	}
}

// The cases at their real size: refused by their budget. The 3 M
// samples are decoded up to the samples budget (the pipelined decoder
// sizes its arrays from an estimate clamped to the budgets), so what it
// allocates is bounded by the inflated and decoded budgets together; the
// string table is refused from its gzip trailer, by inflating it into
// nothing.
func TestBudgetRefusesCraftedCases(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 480 MiB string table")
	}
	cases := []struct {
		name     string
		p        crafted.Profile
		budget   string
		maxAlloc uint64
	}{
		// 3 M samples in about 12 MB of gzip (the issue: advise 2.7 GB,
		// snapshot 4.7 GB).
		{"3M samples", crafted.Profile{Samples: 3_000_000, Stacks: 64, ValueRange: 64, Level: 6, Seed: 1}, "samples", uint64(defaultBudget.Inflated + defaultBudget.Decoded)},
		// A 480 MiB string table (the issue: 0.5–1.9 GB).
		{"480 MiB string table", crafted.Profile{Samples: 10, StringBytes: 480 << 20}, "inflated", 8 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.p.Bytes()
			var err error
			alloc := allocDuring(func() { _, err = ParseBytes(data) })
			be := budgetErr(t, err, c.budget)
			t.Logf("%s gzipped: %v; allocated %d MiB", measurement.Bytes(float64(len(data))), be, alloc>>20)
			if alloc > c.maxAlloc {
				t.Errorf("refusing it allocated %d MiB, want at most %d MiB", alloc>>20, c.maxAlloc>>20)
			}
		})
	}
}

// A goroutine dump over a budget stops with its error; within, it parses.
func TestGoroutineDumpBudgets(t *testing.T) {
	var buf bytes.Buffer
	if _, err := crafted.GoroutineDump(&buf, 5000, 10); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	for _, c := range []struct{ spec, budget string }{
		{"goroutines=4000", "goroutines"},
		{"frames=40000", "frames"},
		{"dump-bytes=1MiB", "dump-bytes"},
		{"decoded=1MiB", "decoded"},
		{"held=1MiB", "held"},
	} {
		b, err := ParseBudget(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := ParseGoroutineDumpWithin(data, b)
		if gs != nil {
			t.Errorf("%s: parsed %d goroutines", c.spec, len(gs))
		}
		budgetErr(t, err, c.budget)
	}
	gs, err := ParseGoroutineDumpBytes(data)
	if err != nil || len(gs) != 5000 || len(gs[0].Frames) != 10 || gs[4999].CreatedBy == nil {
		t.Fatalf("default budget: %d goroutines, err %v", len(gs), err)
	}
}

// ReadInput refuses an input larger than any budget lets decode without
// reading all of it.
func TestReadInputRefusesHugeInput(t *testing.T) {
	b := DefaultBudget()
	limit := max(b.Inflated, b.DumpBytes)
	r := &countingReader{r: io.LimitReader(zeros{}, 2*limit)}
	_, err := ReadInput(r)
	budgetErr(t, err, "inflated")
	if r.n > limit+limit/500+2<<10 {
		t.Errorf("read %d bytes of a %d-byte input, budget %d", r.n, 2*limit, limit)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A gzip whose trailer lies (says small, inflates huge) is still refused
// by the inflated budget while inflating.
func TestLyingTrailerRefused(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, 8<<20))
	zw.Close()
	data := buf.Bytes()
	copy(data[len(data)-4:], []byte{0, 1, 0, 0}) // 256 bytes
	b, _ := ParseBudget("inflated=4MiB")
	_, err := ParseBytesWithin(data, b)
	budgetErr(t, err, "inflated")
}

// The Held budget counts the profiles this process still holds: with
// them held, a decode that would pass them is refused; once they are
// dropped, the same decode passes.
func TestHeldCountsLiveProfiles(t *testing.T) {
	data := crafted.Profile{Samples: 50_000, Stacks: 500, Seed: 3}.Bytes()
	one, err := ParseBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	fp := one.Footprint()
	b := DefaultBudget()
	b.Held = liveAfterGC() + 3*fp + 3*int64(len(data)) // room for three more, not four
	held := []*Profile{one}
	var refused error
	for range 6 {
		p, err := ParseBytesWithin(data, b)
		if err != nil {
			refused = err
			break
		}
		held = append(held, p)
	}
	be := budgetErr(t, refused, "held")
	if len(held) < 3 || len(held) > 4 {
		t.Errorf("decoded %d profiles of %s each within %s held", len(held), measurement.Bytes(float64(fp)), measurement.Bytes(float64(b.Held)))
	}
	if be.Held < int64(len(held)-1)*fp {
		t.Errorf("the error says %d bytes held, want at least %d", be.Held, int64(len(held)-1)*fp)
	}
	runtime.KeepAlive(held)
	held = nil
	// Dropped, they are freed by the next decode's collection.
	if _, err := ParseBytesWithin(data, b); err != nil {
		t.Fatalf("after dropping them: %v", err)
	}
}
