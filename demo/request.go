package demo

import (
	"context"
	"encoding/binary"
	"time"
)

// The request loop's allocations per request, all size classes so that the
// bytes allocated do not depend on rounding: a parsed request with a few
// headers and a body, and a response buffer filled from the cache.
const (
	requestBodyBytes  = 2048
	responseBytes     = 8192
	headersPerRequest = 8
	keysPerRequest    = 4
	headerValueLen    = 16
)

type request struct {
	id      uint64
	path    string
	headers []header
	body    []byte
}

type header struct {
	name, value string
}

type response struct {
	req      *request
	body     []byte
	checksum uint64
}

// bodyTemplate is what every request body starts as.
var bodyTemplate = func() (b [requestBodyBytes]byte) {
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

var headerNames = [headersPerRequest]string{"Host", "User-Agent", "Accept", "Accept-Encoding", "X-Request-Id", "X-Trace", "Cookie", "Authorization"}

// handleRequest serves one synthetic request: parse it, look its keys up in
// the cache, and build the response. Everything it allocates becomes garbage
// as soon as the next request replaces the response: this is the allocation
// rate the GC has to keep up with.
//
// The request functions are never inlined: each keeps its own frame in CPU
// and heap profiles, and the pointers they return always escape, so the
// compiler cannot move the request's garbage onto the stack.
//
//go:noinline
func handleRequest(c *Cache, id uint64) *response {
	req := parseRequest(id)
	return buildResponse(c, req)
}

// parseRequest allocates what decoding a small HTTP request would: the
// request, its headers, fixed-length header values and a body.
//
//go:noinline
func parseRequest(id uint64) *request {
	req := &request{
		id:      id,
		path:    "/api/items",
		headers: make([]header, headersPerRequest),
		body:    make([]byte, requestBodyBytes),
	}
	var v [headerValueLen]byte
	for i := range req.headers {
		x := mix(id + uint64(i))
		for j := range v {
			v[j] = "0123456789abcdef"[(x>>(4*j))&0xf]
		}
		req.headers[i] = header{name: headerNames[i], value: string(v[:])}
	}
	copy(req.body, bodyTemplate[:])
	binary.LittleEndian.PutUint64(req.body, id)
	return req
}

// buildResponse copies the values of keysPerRequest cache entries into a
// fresh response buffer and checksums it.
//
//go:noinline
func buildResponse(c *Cache, req *request) *response {
	resp := &response{req: req, body: make([]byte, 0, responseBytes)}
	resp.body = append(resp.body, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"...)
	if c.Len() > 0 {
		for i := range keysPerRequest {
			v, ok := c.Lookup(c.key(mix(req.id*keysPerRequest + uint64(i))))
			if !ok {
				continue
			}
			n := min(len(v), cap(resp.body)-len(resp.body))
			resp.body = append(resp.body, v[:n]...)
		}
	}
	// A sparse FNV-1a over the body: cheap, and under -race it costs few
	// instrumented loads.
	var sum uint64 = 14695981039346656037
	for i := 0; i+8 <= len(resp.body); i += 64 {
		sum ^= binary.LittleEndian.Uint64(resp.body[i:])
		sum *= 1099511628211
	}
	resp.checksum = sum
	return resp
}

// mix is splitmix64's finaliser: a cheap, allocation-free hash that spreads
// request ids over the cache keys.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// measureRequestBytes returns the heap bytes one handleRequest allocates,
// measured over enough requests that span-cache accounting (a few KiB) is
// below 1%.
func measureRequestBytes(c *Cache) float64 {
	const n = 512
	var last *response
	b := measureAllocBytes(func() {
		for i := range uint64(n) {
			last = handleRequest(c, i)
		}
	})
	_ = last
	return max(float64(b)/n, responseBytes)
}

// maxBacklog bounds how far a paced worker catches up after a stall (a
// descheduled thread, a CFS quota period spent throttled, which is up to
// 100 ms): it makes up for short stalls so the average rate holds, and
// never bursts more than this much work after a long one.
const maxBacklog = 250 * time.Millisecond

// requestLoop serves requests paced to AllocRate/Workers bytes per second:
// it schedules request k at start + k×interval and sleeps between batches,
// so the allocation rate holds whatever the per-request CPU cost, as long
// as the CPUs keep up. A negative AllocRate runs unpaced.
func (w *workload) requestLoop(ctx context.Context, worker int) {
	id := uint64(worker) << 40
	var sink *response
	if w.cfg.AllocRate < 0 {
		for ctx.Err() == nil {
			for range 64 {
				sink = handleRequest(w.cache, id)
				id++
			}
		}
		_ = sink
		return
	}
	perWorker := float64(w.cfg.AllocRate) / float64(w.cfg.Workers)
	interval := time.Duration(w.requestBytes / perWorker * float64(time.Second))
	interval = max(interval, time.Nanosecond)
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	for {
		select {
		case <-ctx.Done():
			_ = sink
			return
		case <-timer.C:
		}
		now := time.Now()
		if now.Sub(next) > maxBacklog {
			next = now.Add(-maxBacklog)
		}
		for !next.After(now) {
			sink = handleRequest(w.cache, id)
			id++
			next = next.Add(interval)
		}
		timer.Reset(max(next.Sub(time.Now()), time.Millisecond))
	}
}
