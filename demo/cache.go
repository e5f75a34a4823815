package demo

import (
	"runtime/metrics"
	"strconv"
)

// Cache is the demo's live heap: a read-only map built once, the shape of a
// service's in-memory lookup table. Each entry holds a noscan value and a
// slice of small pointer-carrying fields, so the GC has real marking work
// proportional to the cache size (the "live heap" term of the GC guide's
// cost model).
type Cache struct {
	entries map[string]*cacheEntry
	keys    []string // every key, so requests pick keys without allocating
	bytes   int64    // heap bytes the cache holds, measured while building
}

type cacheEntry struct {
	key    string
	value  []byte
	fields []*field
}

type field struct {
	name  string
	count uint64
}

const (
	cacheValueBytes = 256 // noscan part of an entry (a size class: no rounding)
	fieldsPerEntry  = 32  // pointer-rich part: 32 small objects per entry
)

var fieldNames = [...]string{"status", "owner", "region", "tier", "etag", "ttl", "hits", "flags"}

// NewCache builds a cache holding about size bytes of live heap. It measures
// the heap bytes of the first entries (runtime/metrics counts what malloc
// really hands out, size-class rounding included) and sizes the rest from
// that, so the live heap lands within a few percent of size.
func NewCache(size int64) *Cache {
	c := &Cache{}
	if size <= 0 {
		c.entries = map[string]*cacheEntry{}
		return c
	}
	// The probe must span many runtime spans per size class: small
	// allocations are counted when a span leaves the P's cache, so a short
	// probe misses up to a span (8 KiB) per size class. 2048 entries keep
	// that error under 1%. Probe entries beyond a small cache's need are
	// dropped.
	const probe = 2048
	probeEntries := make([]*cacheEntry, probe)
	perEntry := measureAllocBytes(func() {
		for i := range probeEntries {
			probeEntries[i] = newCacheEntry(i)
		}
	}) / probe
	perEntry = max(perEntry, cacheValueBytes)
	n := max(int(size/int64(perEntry)), 1)
	var mapBytes uint64
	mapBytes = measureAllocBytes(func() { c.entries = make(map[string]*cacheEntry, n) })
	// The map's own tables are part of the live heap: shrink n to fit them.
	if int64(mapBytes) < size {
		n = max(int((size-int64(mapBytes))/int64(perEntry)), 1)
	}
	keysBytes := measureAllocBytes(func() { c.keys = make([]string, 0, n) })
	for i := range n {
		var e *cacheEntry
		if i < probe {
			e = probeEntries[i]
		} else {
			e = newCacheEntry(i)
		}
		c.entries[e.key] = e
		c.keys = append(c.keys, e.key)
	}
	c.bytes = int64(mapBytes+keysBytes) + int64(n)*int64(perEntry)
	return c
}

func newCacheEntry(i int) *cacheEntry {
	e := &cacheEntry{
		key:    "entry-" + strconv.Itoa(i),
		value:  make([]byte, cacheValueBytes),
		fields: make([]*field, fieldsPerEntry),
	}
	for j := range e.value {
		e.value[j] = byte(i + j)
	}
	for j := range e.fields {
		e.fields[j] = &field{name: fieldNames[j%len(fieldNames)], count: uint64(i * j)}
	}
	return e
}

// Len reports the number of entries.
func (c *Cache) Len() int { return len(c.keys) }

// Bytes reports the heap bytes the cache holds, as measured while building.
func (c *Cache) Bytes() int64 { return c.bytes }

// Lookup returns the entry for key. The cache is never written after
// NewCache returns, so lookups need no lock.
func (c *Cache) Lookup(key string) (value []byte, ok bool) {
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	return e.value, true
}

// key returns the i-th key, wrapping around.
func (c *Cache) key(i uint64) string { return c.keys[i%uint64(len(c.keys))] }

// measureAllocBytes returns the heap bytes allocated process-wide while f
// runs. Callers run it before starting other goroutines, so the figure is
// f's own. The runtime counts small objects when a span leaves a P's cache,
// so the figure is exact only to a span or so per size class: measure
// enough work for that not to matter.
func measureAllocBytes(f func()) uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}
