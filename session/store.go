package session

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCapacity keeps 15 minutes of samples at the default 1 s interval.
const DefaultCapacity = 900

// Point is a stored sample with the figures derived from it and the sample
// before it.
type Point struct {
	Sample
	Derived map[string]float64
	// DerivedOrigins says how each derived figure was computed and from
	// what (see DeriveWithOrigins); an estimate's starts "estimate: ".
	DerivedOrigins map[string]string
	// Restart, when not nil, marks the first point read from a new
	// process: the target restarted between the point before and this
	// one, so nothing here is derived across the two.
	Restart *Restart
}

// Status is what one collector last did: when it last succeeded, its last
// error, and whether the target looks gone. It is published with the data so
// every view can say where its numbers come from.
type Status struct {
	Source string // what is collected: "metrics", "heap profile", "os"
	Via    string // how: "agent", "prometheus", "expvar", "pprof", "gops", "/proc", or several joined by " + "
	// Note says what a person should know about the cadence or the
	// sources ("pprof :6060 heap?debug=1 every 4s: 2.1 MiB in 40ms"), or "".
	Note      string
	Interval  time.Duration // cadence when healthy
	LastOK    time.Time
	Latency   time.Duration // duration of the last successful call
	LastErr   string
	LastErrAt time.Time
	Failures  int           // consecutive failures
	Dropped   int           // triggers dropped because a call was still running
	Backoff   time.Duration // wait before the next try; 0 when healthy
	Lost      bool          // the target stopped answering after answering before
	LostAt    time.Time
	// Exited says the process is gone for good (a PID target whose
	// process exited): the collector stopped, nothing is retried. Lost
	// is set too.
	Exited bool
}

// Target names what the session is attached to.
type Target struct {
	URL       string // base URL for HTTP targets
	PID       int    // 0 when unknown
	Command   string
	Args      []string // the argv vector Command joins, when known: redaction works on it
	GoVersion string
	StartTime time.Time
	// ExitedAt is when the process was found gone for good (a PID
	// target: the PID names one process and gotune follows no other);
	// zero while it runs or when gotune cannot tell.
	ExitedAt time.Time
}

// Snapshot is an immutable view of the store. Readers may keep it as long as
// they like; the store never modifies a published snapshot.
type Snapshot struct {
	Seq    uint64
	Target Target
	Points []Point  // oldest first
	Status []Status // sorted by Source
	// Facts are the slow-changing facts about the target and its host (OS
	// process figures, cgroup limits, NUMA placement, build info, effective
	// settings).
	Facts Facts
	// Restarts are the restarts of the target seen in this session,
	// oldest first (the last maxRestarts); each also marks its point.
	Restarts []Restart
}

// Latest returns the newest point, or nil.
func (s *Snapshot) Latest() *Point {
	if s == nil || len(s.Points) == 0 {
		return nil
	}
	return &s.Points[len(s.Points)-1]
}

// StatusOf returns the status of the named source.
func (s *Snapshot) StatusOf(source string) (Status, bool) {
	for _, st := range s.Status {
		if st.Source == source {
			return st, true
		}
	}
	return Status{}, false
}

// Store keeps the last Capacity points in a ring and publishes a new
// Snapshot after every write. Writers serialise on a mutex; readers never
// lock: Snapshot is an atomic load, and Changed is a capacity-1 channel whose
// sends never block, so bursts of writes coalesce into one wake-up and a slow
// reader cannot hold up the writer.
type Store struct {
	mu       sync.Mutex
	ring     []Point
	head     int // index of the oldest point
	n        int
	target   Target
	status   map[string]Status
	facts    Facts
	restarts []Restart
	seq      uint64
	snap     atomic.Pointer[Snapshot]
	changed  chan struct{}
	subs     []chan struct{} // Subscribe's channels
}

// NewStore returns a store keeping capacity points (DefaultCapacity if ≤ 0).
func NewStore(capacity int) *Store {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	s := &Store{
		ring:    make([]Point, capacity),
		status:  map[string]Status{},
		changed: make(chan struct{}, 1),
	}
	s.snap.Store(&Snapshot{})
	return s
}

// Capacity is the number of points the store keeps.
func (s *Store) Capacity() int { return len(s.ring) }

// Snapshot returns the latest published snapshot. It never blocks.
func (s *Store) Snapshot() *Snapshot { return s.snap.Load() }

// Changed is signalled (coalesced) after each publish. It has one
// reader (the front end that renders the store); other readers Subscribe.
func (s *Store) Changed() <-chan struct{} { return s.changed }

// Subscribe returns a channel of its own signalled (coalesced) after each
// publish, and a function that stops it.
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, c := range s.subs {
			if c == ch {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				return
			}
		}
	}
}

// SetTarget records what the session is attached to.
func (s *Store) SetTarget(t Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = t
	s.publishLocked()
}

// UpdateTarget publishes the target changed by update, which sets fields
// of a copy of the current one.
func (s *Store) UpdateTarget(update func(*Target)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	update(&s.target)
	s.publishLocked()
}

// Append stores a sample, deriving rates against the previous point.
func (s *Store) Append(sample Sample) Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.deriveLocked(sample)
	s.appendLocked(p)
	s.publishLocked()
	return p
}

// AppendRestart stores the first sample read from a new process: the
// target restarted (r says how it was seen) and is now t. The point is
// marked, derives nothing from the points before it, and no later point
// derives a figure across it; the target and the marker are published
// together.
func (s *Store) AppendRestart(sample Sample, r Restart, t Target) Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.At.IsZero() {
		r.At = sample.Time
	}
	rr := r
	p := Point{Sample: sample, Derived: map[string]float64{}, DerivedOrigins: map[string]string{}, Restart: &rr}
	s.target = t
	s.restarts = append(s.restarts, r)
	if len(s.restarts) > maxRestarts {
		s.restarts = append([]Restart(nil), s.restarts[len(s.restarts)-maxRestarts:]...)
	}
	s.appendLocked(p)
	s.publishLocked()
	return p
}

// deriveLocked makes the point of sample: figures derived against the
// previous point, and GC CPU against the newest point at least
// GCCPUWindow old (else the oldest), never reaching back past a restart.
func (s *Store) deriveLocked(sample Sample) Point {
	var prev, base *Sample
	if s.n > 0 {
		last := &s.ring[(s.head+s.n-1)%len(s.ring)]
		prev = &last.Sample
		base = &s.ring[s.head].Sample
		for i := s.n - 1; i >= 0; i-- {
			q := &s.ring[(s.head+i)%len(s.ring)]
			if sample.Time.Sub(q.Time) >= GCCPUWindow || q.Restart != nil {
				base = &q.Sample
				break
			}
		}
	}
	d, o := DeriveWithOrigins(prev, &sample, base)
	return Point{Sample: sample, Derived: d, DerivedOrigins: o}
}

// AppendPoint stores a point whose derived figures are already known (a
// recorded series being replayed), without deriving them again; a marked
// point's restart joins the store's list.
func (s *Store) AppendPoint(p Point) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Restart != nil {
		s.restarts = append(s.restarts, *p.Restart)
	}
	s.appendLocked(p)
	s.publishLocked()
}

func (s *Store) appendLocked(p Point) {
	if s.n < len(s.ring) {
		s.ring[(s.head+s.n)%len(s.ring)] = p
		s.n++
	} else {
		s.ring[s.head] = p
		s.head = (s.head + 1) % len(s.ring)
	}
}

// SetStatus replaces the status of st.Source.
func (s *Store) SetStatus(st Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[st.Source] = st
	s.publishLocked()
}

// UpdateFacts publishes facts changed by update, which sets fields of a
// copy of the current facts (it must not modify what they point to).
func (s *Store) UpdateFacts(update func(*Facts)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	update(&s.facts)
	s.publishLocked()
}

func (s *Store) publishLocked() {
	s.seq++
	snap := &Snapshot{Seq: s.seq, Target: s.target, Points: make([]Point, s.n)}
	for i := 0; i < s.n; i++ {
		snap.Points[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	snap.Status = make([]Status, 0, len(s.status))
	for _, st := range s.status {
		snap.Status = append(snap.Status, st)
	}
	sort.Slice(snap.Status, func(i, j int) bool { return snap.Status[i].Source < snap.Status[j].Source })
	snap.Facts = s.facts
	if len(s.restarts) > 0 {
		snap.Restarts = append([]Restart(nil), s.restarts...)
	}
	s.snap.Store(snap)
	signal(s.changed)
	for _, c := range s.subs {
		signal(c)
	}
}

// signal sends on a capacity-1 channel without blocking: a pending signal
// already says "changed".
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
