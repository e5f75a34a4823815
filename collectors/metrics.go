package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/session"
)

// MetricsSource reads one sample of a target's runtime metrics.
type MetricsSource interface {
	// Via names the source for people: "agent", "prometheus", "expvar".
	Via() string
	Read(ctx context.Context) (session.Sample, error)
}

// KeyMetrics are the metrics gotune's views and rules rely on. A sample
// lists those its source cannot give in Missing, so the screen can say
// "no scheduler latency via expvar" instead of showing a zero.
var KeyMetrics = []string{
	session.HeapLive, session.HeapGoal, session.HeapAllocsBytes, session.GCCycles,
	session.CPUGCTotal, session.PausesGC, session.SchedLatencies, session.Goroutines,
	session.GOGC, session.GOMEMLIMIT, session.GOMAXPROCS, session.ProcessCPU, session.ProcessRSS,
}

// KeyHistograms are the histograms gotune's derived figures and rules
// read (pause and scheduling-latency quantiles). Front ends that keep many
// samples of many targets keep only these (PIDTarget.KeepHistograms,
// URLTarget.KeepHistograms): the histograms are most of a sample's size.
var KeyHistograms = []string{session.PausesGC, session.PausesGCOld, session.SchedLatencies}

// keepHistograms drops every histogram of s not named in names (nil keeps
// all).
func keepHistograms(s *session.Sample, names []string) {
	if names == nil || len(s.Histograms) == 0 {
		return
	}
	kept := make(map[string]*session.Histogram, len(names))
	for _, name := range names {
		if h, ok := s.Histograms[name]; ok {
			kept[name] = h
		}
	}
	s.Histograms = kept
}

// missing returns the key metrics s lacks. Old pause histogram names and
// HeapAlloc stand in for their newer equivalents.
func missing(s *session.Sample) []string {
	var out []string
	for _, k := range KeyMetrics {
		switch k {
		case session.HeapLive:
			if _, ok := s.HeapLiveBytes(); ok {
				continue
			}
		case session.PausesGC:
			if s.Histograms[session.PausesGC] != nil || s.Histograms[session.PausesGCOld] != nil {
				continue
			}
		case session.SchedLatencies:
			if s.Histograms[k] != nil {
				continue
			}
		}
		if _, ok := s.Values[k]; ok {
			continue
		}
		out = append(out, k)
	}
	return out
}

// HTTPSourceOptions configure the HTTP metrics sources.
type HTTPSourceOptions struct {
	HTTP    *http.Client
	Timeout time.Duration
	MaxBody int64
}

func (o HTTPSourceOptions) withDefaults() HTTPSourceOptions {
	if o.HTTP == nil {
		o.HTTP = NewHTTPClient()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxMetrics
	}
	return o
}

// AgentSource reads the gotune agent's JSON document.
type AgentSource struct {
	URL  string // full URL of the agent endpoint
	opts HTTPSourceOptions
	// Facts from the last document, for the target description.
	Last agent.Document
}

// NewAgentSource reads from base + agent.Path.
func NewAgentSource(base string, opts HTTPSourceOptions) *AgentSource {
	return &AgentSource{URL: base + agent.Path, opts: opts.withDefaults()}
}

func (a *AgentSource) Via() string { return "agent" }

func (a *AgentSource) Read(ctx context.Context) (session.Sample, error) {
	body, _, err := get(ctx, a.opts.HTTP, a.URL, a.opts.Timeout, a.opts.MaxBody, "application/json")
	if err != nil {
		return session.Sample{}, err
	}
	doc, err := DecodeAgentDocument(body)
	if err != nil {
		return session.Sample{}, &FetchError{URL: a.URL, Reason: err.Error(), Err: err, Hint: profileHint(body)}
	}
	a.Last = doc
	a.Last.Metrics = nil
	s := SampleFromAgent(doc, time.Now())
	if base, ok := strings.CutSuffix(a.URL, agent.Path); ok {
		label := endpointLabel("agent", base)
		for k, o := range s.Origins {
			s.Origins[k] = label + strings.TrimPrefix(o, "agent")
		}
	}
	return s, nil
}

// DecodeAgentDocument parses and checks an agent document.
func DecodeAgentDocument(body []byte) (agent.Document, error) {
	var doc agent.Document
	if looksLikeHTML(body) {
		return doc, errors.New("got an HTML page, not the gotune agent's JSON")
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return doc, fmt.Errorf("not a gotune agent document: %w", err)
	}
	if doc.Format < 1 {
		return doc, errors.New("not a gotune agent document: no format version")
	}
	if doc.Format > agent.FormatVersion {
		return doc, fmt.Errorf("agent document format %d is newer than this gotune understands (%d); upgrade gotune", doc.Format, agent.FormatVersion)
	}
	return doc, nil
}

// SampleFromAgent converts an agent document into a sample taken at now
// (gotune's clock, so rates never mix two machines' clocks).
func SampleFromAgent(doc agent.Document, now time.Time) session.Sample {
	s := session.Sample{Time: now, Source: "agent", Values: make(map[string]float64, len(doc.Metrics)+2), Histograms: map[string]*session.Histogram{},
		Origins: make(map[string]string, len(doc.Metrics)+4)}
	for _, m := range doc.Metrics {
		switch m.Kind {
		case "uint64", "float64":
			s.Values[m.Name] = float64(m.Value)
		case "histogram":
			if len(m.Buckets) != len(m.Counts)+1 {
				continue // malformed: skip rather than misread
			}
			h := &session.Histogram{Buckets: make([]float64, len(m.Buckets)), Counts: m.Counts}
			for i, b := range m.Buckets {
				h.Buckets[i] = float64(b)
			}
			s.Histograms[m.Name] = h
		}
	}
	for k := range s.Values {
		s.Origins[k] = "agent"
	}
	for k := range s.Histograms {
		s.Origins[k] = "agent"
	}
	if doc.Process != nil {
		s.Values[session.ProcessCPU] = doc.Process.CPUSeconds
		s.Origins[session.ProcessCPU] = "agent process"
		if doc.Process.RSSBytes > 0 {
			s.Values[session.ProcessRSS] = float64(doc.Process.RSSBytes)
			s.Origins[session.ProcessRSS] = "agent process"
		}
	}
	if _, ok := s.Values[session.GOMAXPROCS]; !ok && doc.GOMAXPROCS > 0 {
		s.Values[session.GOMAXPROCS] = float64(doc.GOMAXPROCS)
		s.Origins[session.GOMAXPROCS] = "agent gomaxprocs"
	}
	if !doc.StartTime.IsZero() {
		s.Values[session.ProcessStart] = float64(doc.StartTime.UnixNano()) / 1e9
		s.Origins[session.ProcessStart] = "agent start_time"
	}
	s.Missing = missing(&s)
	return s
}
