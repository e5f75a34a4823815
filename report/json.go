package report

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
)

// WriteJSON writes the report as one indented JSON document (see
// docs/report-json.md).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// hostFact is one host fact for display: its name and indented JSON.
type hostFact struct{ Name, Text string }

func (r *Report) hostFacts() []hostFact {
	var out []hostFact
	e := r.Environment
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{
		{"build info", e.Target.Build},
		{"cgroup limits", e.Cgroup},
		{"cgroup throttling", e.CgroupRates},
		{"NUMA topology", e.NUMATopology},
		{"NUMA settings", e.NUMASettings},
		{"NUMA placement of the process", e.NUMAProcess},
	} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		var b bytes.Buffer
		if err := json.Indent(&b, f.raw, "", "  "); err != nil {
			b.Reset()
			b.Write(f.raw)
		}
		out = append(out, hostFact{f.name, b.String()})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
