package export

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gotune/gotune/session"
)

// Origin says where exported data came from: the target, and the labels a
// person chose so that an engine's own views can tell runs apart (its diff
// view compares phase="before" with phase="after").
type Origin struct {
	Target session.Target
	// Service names the program (service.name, Pyroscope's application
	// name); the base name of Target.Command when empty.
	Service string
	// Host is where the target runs; this machine's name when empty.
	Host string
	// GOGC is the target's setting as it ran ("100", "off"); see GOGCOf.
	GOGC string
	// Trigger is why the data was captured: "manual", "snapshot", "watch",
	// "advice".
	Trigger string
	// Phase is "before" or "after" a change, or "".
	Phase string
	// Extra labels, added as given (keys are made label-safe).
	Extra map[string]string
}

// OriginOf fills an Origin from a store snapshot: its target, and GOGC
// from the newest point.
func OriginOf(snap *session.Snapshot, service, trigger, phase string) Origin {
	o := Origin{Service: service, Trigger: trigger, Phase: phase}
	if snap != nil {
		o.Target = snap.Target
		o.GOGC = GOGCOf(snap.Latest())
	}
	return o
}

// GOGCOf reads GOGC from a point's /gc/gogc:percent ("off" when the
// runtime reports a negative value or the maximum uint64, as it does for
// GOGC=off); "" when the point lacks it.
func GOGCOf(p *session.Point) string {
	if p == nil {
		return ""
	}
	v, ok := p.Values[session.GOGC]
	if !ok {
		return ""
	}
	if v < 0 || v >= math.MaxInt64 {
		return "off"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// service is Service, else the command's base name, else "go-app".
func (o Origin) service() string {
	if s := strings.TrimSpace(o.Service); s != "" {
		return s
	}
	if c := strings.Fields(o.Target.Command); len(c) > 0 {
		return filepath.Base(c[0])
	}
	return "go-app"
}

func (o Origin) host() string {
	if o.Host != "" {
		return o.Host
	}
	h, _ := os.Hostname()
	return h
}

// Label is one key/value pair of an Origin in Prometheus label form.
type Label struct{ Name, Value string }

// Labels are the Origin's labels as Pyroscope and Prometheus see them:
// service_name, host, pid, go_version, gogc, trigger, phase and the extras
// (sorted), each only when set.
func (o Origin) Labels() []Label {
	var out []Label
	add := func(k, v string) {
		if v != "" {
			out = append(out, Label{k, v})
		}
	}
	add("service_name", o.service())
	add("host", o.host())
	if o.Target.PID > 0 {
		add("pid", strconv.Itoa(o.Target.PID))
	}
	add("go_version", o.Target.GoVersion)
	add("gogc", o.GOGC)
	add("trigger", o.Trigger)
	add("phase", o.Phase)
	keys := make([]string, 0, len(o.Extra))
	for k := range o.Extra {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		add(labelName(k), o.Extra[k])
	}
	return out
}

// labelName makes k a valid Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
func labelName(k string) string {
	var b strings.Builder
	for i, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
