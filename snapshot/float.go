package snapshot

import "github.com/gotune/gotune/agent"

// Float is a float64 that round-trips ±Inf and NaN through JSON (as the
// agent's document does).
type Float = agent.Float
