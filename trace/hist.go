package trace

import (
	"math"
	"time"
)

// logHist counts durations in buckets 2^(1/16) wide, enough for quantiles
// within ±2.2 % in a fixed 16 KiB, whatever the number of samples.
type logHist struct {
	counts [64 * histSub]int64
	n      int64
	max    time.Duration
}

const histSub = 16 // buckets per doubling

func (h *logHist) add(d time.Duration) {
	h.n++
	h.max = max(h.max, d)
	i := 0
	if d > 1 {
		i = int(math.Log2(float64(d)) * histSub)
	}
	i = min(max(i, 0), len(h.counts)-1)
	h.counts[i]++
}

// quantile returns the q-quantile: the geometric middle of the bucket that
// holds it, capped at the exact maximum.
func (h *logHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var cum int64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			v := time.Duration(math.Exp2((float64(i) + 0.5) / histSub))
			return min(v, h.max)
		}
	}
	return h.max
}

// decades are the bars of SchedLatency.Histogram.
var decades = []time.Duration{
	time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
	time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, time.Second,
}

type decadeHist [8]int64

func (h *decadeHist) add(d time.Duration) {
	for i, up := range decades {
		if d <= up {
			h[i]++
			return
		}
	}
	h[len(decades)]++
}

func (h *decadeHist) buckets() []Bucket {
	out := make([]Bucket, 0, len(h))
	for i, c := range h {
		b := Bucket{Count: c}
		if i < len(decades) {
			b.UpTo = decades[i]
		}
		out = append(out, b)
	}
	return out
}
