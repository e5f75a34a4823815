package gops

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Stats is the agent's reply to the stats signal.
type Stats struct {
	Goroutines int // runtime.NumGoroutine()
	// OSThreads is pprof.Lookup("threadcreate").Count(): threads the runtime
	// ever created, not the threads alive now (/proc knows those).
	OSThreads  int
	GOMAXPROCS int
	NumCPU     int

	has map[string]bool
}

// Has reports whether the reply held the named line ("goroutines",
// "OS threads", "GOMAXPROCS", "num CPU").
func (s *Stats) Has(key string) bool { return s.has[key] }

// ParseStats parses the stats reply, four "key: integer" lines:
//
//	goroutines: 12
//	OS threads: 9
//	GOMAXPROCS: 2
//	num CPU: 2
//
// Unknown lines are ignored so newer agents still parse; a reply with none of
// the known lines is an error.
func ParseStats(b []byte) (Stats, error) {
	s := Stats{has: map[string]bool{}}
	for key, val := range lines(b) {
		var dst *int
		switch key {
		case "goroutines":
			dst = &s.Goroutines
		case "OS threads":
			dst = &s.OSThreads
		case "GOMAXPROCS":
			dst = &s.GOMAXPROCS
		case "num CPU":
			dst = &s.NumCPU
		default:
			continue
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			continue
		}
		*dst = n
		s.has[key] = true
	}
	if len(s.has) == 0 {
		return s, fmt.Errorf("not a stats reply: %q", truncate(b, 80))
	}
	return s, nil
}

// MemStats holds the runtime.MemStats fields the gops agent prints, with the
// same names. Byte counts are exact: the agent prints "1.50MB (1572864
// bytes)" and the figure in parentheses is used.
type MemStats struct {
	Alloc, TotalAlloc, Sys       uint64
	Lookups, Mallocs, Frees      uint64
	HeapAlloc, HeapSys, HeapIdle uint64
	HeapInuse, HeapReleased      uint64
	HeapObjects                  uint64
	StackInuse, StackSys         uint64
	MSpanInuse, MSpanSys         uint64
	MCacheInuse, MCacheSys       uint64
	BuckHashSys, OtherSys, GCSys uint64
	NextGC                       uint64
	LastGC                       time.Time     // zero when no GC ran yet ("-")
	PauseTotal                   time.Duration // PauseTotalNs
	LastPause                    time.Duration // PauseNs of the latest cycle
	LastPauseEnd                 time.Time     // PauseEnd of the latest cycle
	NumGC, NumForcedGC           uint32
	GCCPUFraction                float64 // lifetime average, not current
	EnableGC, DebugGC            bool

	has map[string]bool
}

// Has reports whether the reply held the named line, by its gops key
// ("heap-alloc", "num-gc", "next-gc", ...).
func (m *MemStats) Has(key string) bool { return m.has[key] }

// ParseMemStats parses the memstats reply of gops agent.handle: one
// "key: value" line per field. Byte values are "N bytes" or "1.23MB (N
// bytes)"; "next-gc" is "when heap-alloc >= <bytes>"; "last-gc" is "-" or
// time.Time.String(); "gc-pause-total" a time.Duration string; "gc-pause"
// and "gc-pause-end" nanoseconds. Unknown and malformed lines are skipped
// (Has reports what was read); a reply with no known line is an error.
func ParseMemStats(b []byte) (MemStats, error) {
	m := MemStats{has: map[string]bool{}}
	byteFields := map[string]*uint64{
		"alloc": &m.Alloc, "total-alloc": &m.TotalAlloc, "sys": &m.Sys,
		"heap-alloc": &m.HeapAlloc, "heap-sys": &m.HeapSys, "heap-idle": &m.HeapIdle,
		"heap-in-use": &m.HeapInuse, "heap-released": &m.HeapReleased,
		"stack-in-use": &m.StackInuse, "stack-sys": &m.StackSys,
		"mspan-in-use": &m.MSpanInuse, "mspan-sys": &m.MSpanSys,
		"mcache-in-use": &m.MCacheInuse, "mcache-sys": &m.MCacheSys,
		"buck-hash-sys": &m.BuckHashSys, "other-sys": &m.OtherSys, "gc-sys": &m.GCSys,
	}
	countFields := map[string]*uint64{
		"lookups": &m.Lookups, "mallocs": &m.Mallocs, "frees": &m.Frees,
		"heap-objects": &m.HeapObjects,
	}
	for key, val := range lines(b) {
		ok := false
		switch {
		case byteFields[key] != nil:
			var n uint64
			if n, ok = parseBytes(val); ok {
				*byteFields[key] = n
			}
		case countFields[key] != nil:
			n, err := strconv.ParseUint(val, 10, 64)
			if ok = err == nil; ok {
				*countFields[key] = n
			}
		case key == "next-gc":
			var n uint64
			if n, ok = parseBytes(strings.TrimPrefix(val, "when heap-alloc >= ")); ok {
				m.NextGC = n
			}
		case key == "last-gc":
			if val == "-" {
				ok = true
			} else if t, err := parseTimeString(val); err == nil {
				m.LastGC, ok = t, true
			}
		case key == "gc-pause-total":
			if d, err := time.ParseDuration(val); err == nil && d >= 0 {
				m.PauseTotal, ok = d, true
			}
		case key == "gc-pause":
			if n, err := strconv.ParseUint(val, 10, 64); err == nil && n <= math.MaxInt64 {
				m.LastPause, ok = time.Duration(n), true
			}
		case key == "gc-pause-end":
			if n, err := strconv.ParseUint(val, 10, 64); err == nil && n <= math.MaxInt64 {
				if n != 0 {
					m.LastPauseEnd = time.Unix(0, int64(n))
				}
				ok = true
			}
		case key == "num-gc" || key == "num-forced-gc":
			n, err := strconv.ParseUint(val, 10, 32)
			if ok = err == nil; ok {
				if key == "num-gc" {
					m.NumGC = uint32(n)
				} else {
					m.NumForcedGC = uint32(n)
				}
			}
		case key == "gc-cpu-fraction":
			f, err := strconv.ParseFloat(val, 64)
			if ok = err == nil && f >= 0 && f <= 1; ok {
				m.GCCPUFraction = f
			}
		case key == "enable-gc" || key == "debug-gc":
			v, err := strconv.ParseBool(val)
			if ok = err == nil; ok {
				if key == "enable-gc" {
					m.EnableGC = v
				} else {
					m.DebugGC = v
				}
			}
		}
		if ok {
			m.has[key] = true
		}
	}
	if len(m.has) == 0 {
		return m, fmt.Errorf("not a memstats reply: %q", truncate(b, 80))
	}
	return m, nil
}

// ParseSetGCReply parses "New GC percent set to 50. Previous value was 100."
func ParseSetGCReply(b []byte) (set, previous int, err error) {
	s := strings.TrimSpace(string(b))
	const pre, mid = "New GC percent set to ", ". Previous value was "
	rest, ok := strings.CutPrefix(s, pre)
	if !ok {
		return 0, 0, fmt.Errorf("unexpected reply %q", truncate(b, 80))
	}
	a, p, ok := strings.Cut(rest, mid)
	p, ok2 := strings.CutSuffix(p, ".")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("unexpected reply %q", truncate(b, 80))
	}
	if set, err = strconv.Atoi(a); err != nil {
		return 0, 0, fmt.Errorf("unexpected reply %q: %w", truncate(b, 80), err)
	}
	if previous, err = strconv.Atoi(p); err != nil {
		return 0, 0, fmt.Errorf("unexpected reply %q: %w", truncate(b, 80), err)
	}
	return set, previous, nil
}

// lines yields "key: value" pairs of a reply, trimmed; lines without ": "
// are skipped.
func lines(b []byte) func(yield func(key, val string) bool) {
	return func(yield func(key, val string) bool) {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 4096), smallReplyLimit)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			if !yield(strings.TrimSpace(k), strings.TrimSpace(v)) {
				return
			}
		}
	}
}

// parseBytes reads the agent's formatBytes output: "512 bytes" or
// "1.50MB (1572864 bytes)". Older agents printed only the rounded form
// ("1.50MB"); it is accepted with its rounding error.
func parseBytes(s string) (uint64, bool) {
	if i := strings.LastIndexByte(s, '('); i >= 0 && strings.HasSuffix(s, " bytes)") {
		n, err := strconv.ParseUint(s[i+1:len(s)-len(" bytes)")], 10, 64)
		return n, err == nil
	}
	if v, ok := strings.CutSuffix(s, " bytes"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, true
	}
	for i, unit := range []string{"KB", "MB", "GB", "TB", "PB"} {
		if v, ok := strings.CutSuffix(s, unit); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, false
			}
			f *= math.Pow(1024, float64(i+1))
			if f >= math.MaxUint64 {
				return 0, false
			}
			return uint64(f), true
		}
	}
	return 0, false
}

// parseTimeString parses time.Time.String() output as the agent prints
// time.Unix(0, LastGC): "2026-01-02 15:04:05.123456789 +0000 UTC".
func parseTimeString(s string) (time.Time, error) {
	// A monotonic reading ("m=+1.2") never appears for time.Unix values, but
	// strip it if a future agent prints time.Now().
	if i := strings.Index(s, " m="); i >= 0 {
		s = s[:i]
	}
	t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s)
	if err != nil {
		// Zone names the parser cannot express as an abbreviation.
		if i := strings.LastIndexByte(s, ' '); i > 0 {
			t, err = time.Parse("2006-01-02 15:04:05.999999999 -0700", s[:i])
		}
	}
	if err != nil {
		return time.Time{}, errors.New("bad time " + strconv.Quote(s))
	}
	return t, nil
}
