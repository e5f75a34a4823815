package agent

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Document is the JSON document served at Path, for clients that decode it
// (gotune's collectors). Field names are part of the format; see FormatVersion.
type Document struct {
	Format     int       `json:"format"`
	GoVersion  string    `json:"go_version"`
	PID        int       `json:"pid"`
	StartTime  time.Time `json:"start_time"`
	Time       time.Time `json:"time"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	Process    *Process  `json:"process,omitempty"`
	Metrics    []Metric  `json:"metrics"`
}

// Process holds facts the OS knows about the serving process (Linux only).
type Process struct {
	CPUSeconds float64 `json:"cpu_seconds"` // user + system CPU since start
	RSSBytes   uint64  `json:"rss_bytes"`   // resident set size now
}

// Metric is one runtime/metrics sample. Kind is "uint64", "float64",
// "histogram" or "unsupported"; Value is set for the first two, Buckets and
// Counts (len(Buckets) == len(Counts)+1) for histograms.
type Metric struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Cumulative bool     `json:"cumulative,omitempty"`
	Value      Float    `json:"value,omitempty"`
	Buckets    []Float  `json:"buckets,omitempty"`
	Counts     []uint64 `json:"counts,omitempty"`
}

// Float is a float64 that round-trips ±Inf and NaN through JSON as the
// strings "+Inf", "-Inf" and "NaN".
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) { return appendFloat(nil, float64(f)), nil }

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return fmt.Errorf("agent: bad float %s: %w", b, err)
		}
		switch s {
		case "+Inf", "Inf", "inf", "+inf":
			*f = Float(math.Inf(1))
		case "-Inf", "-inf":
			*f = Float(math.Inf(-1))
		case "NaN":
			*f = Float(math.NaN())
		default:
			return fmt.Errorf("agent: bad float %q", s)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("agent: bad float %s: %w", b, err)
	}
	*f = Float(v)
	return nil
}
