package snapshot

import (
	"encoding/json"

	"github.com/gotune/gotune/trace"
)

// addTrace decodes one of the trace's two entries: the bytes, or the
// trace.Captured JSON beside them (source, span, analysis). Summary JSON
// that does not decode is named in Problems; the trace bytes are kept (they
// still extract for go tool trace).
func (s *Snapshot) addTrace(f File, data []byte) {
	if s.Trace == nil {
		s.Trace = &trace.Captured{}
	}
	switch f.Kind {
	case "trace":
		s.Trace.Raw = data
		if s.Trace.From.IsZero() {
			s.Trace.From, s.Trace.To = f.From, f.To
		}
	case "trace-summary":
		var c trace.Captured
		if err := json.Unmarshal(data, &c); err != nil {
			s.Problems = append(s.Problems, "execution trace summary: "+err.Error()+"; the trace itself is kept (gotune snapshot extract writes it out)")
			return
		}
		c.Raw = s.Trace.Raw
		*s.Trace = c
	}
}
