package profile

import (
	"bytes"
	"fmt"

	gpprof "github.com/google/pprof/profile"
)

// Delta returns cur − base for two captures of the same cumulative profile
// (allocs, mutex, block) of one process, as a gzipped pprof protobuf that
// go tool pprof opens: the counts of the window between the captures. It is
// what net/http/pprof itself does for ?seconds=N (serveDeltaProfile: scale
// the first by −1 and merge), done here so any window works, whatever the
// server's WriteTimeout. Samples whose every value nets to zero are
// dropped, as profile.Merge drops them.
func Delta(base, cur []byte) ([]byte, error) {
	b, err := gpprof.ParseData(base)
	if err != nil {
		return nil, fmt.Errorf("delta: read the first capture: %w", err)
	}
	c, err := gpprof.ParseData(cur)
	if err != nil {
		return nil, fmt.Errorf("delta: read the second capture: %w", err)
	}
	b.Scale(-1)
	d, err := gpprof.Merge([]*gpprof.Profile{c, b})
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	d.TimeNanos = c.TimeNanos
	if c.TimeNanos > b.TimeNanos && b.TimeNanos > 0 {
		d.DurationNanos = c.TimeNanos - b.TimeNanos
	}
	var buf bytes.Buffer
	if err := d.Write(&buf); err != nil {
		return nil, fmt.Errorf("delta: encode: %w", err)
	}
	return buf.Bytes(), nil
}
