package report

import (
	"encoding/json"
	"io"
	"slices"

	"github.com/gotune/gotune/safetext"
)

// WriteJSON writes the report as one indented JSON document (see
// docs/report-json.md).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(safetext.NewJSONWriter(w))
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// hostFact is one host fact for display: its name and indented JSON.
type hostFact struct{ Name, Text string }

func (r *Report) hostFacts() []hostFact {
	var out []hostFact
	e := r.Environment
	add := func(name string, present bool, v any) {
		if !present {
			return
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			r.problem("%s: %v", name, err)
			return
		}
		out = append(out, hostFact{name, string(b)})
	}
	add("build info", e.Target.Build != nil, e.Target.Build)
	add("cgroup limits", e.Cgroup != nil, e.Cgroup)
	add("cgroup throttling", e.CgroupRates != nil, e.CgroupRates)
	add("NUMA topology", e.NUMATopology != nil, e.NUMATopology)
	add("NUMA settings", e.NUMASettings != nil, e.NUMASettings)
	add("NUMA placement of the process", e.NUMAProcess != nil, e.NUMAProcess)
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
