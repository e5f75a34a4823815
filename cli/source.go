package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/profile"
)

// profileSource is where a headless command reads a profile from: a file
// (gzipped or raw pprof proto, or a goroutine debug=2 text dump) or an
// http(s) URL, either a base ("http://host:6060", the command's default kind
// or --kind) or a full pprof endpoint ("http://host:6060/debug/pprof/heap").
type profileSource struct {
	kind    string // --kind override for base URLs (a kind name or endpoint)
	seconds int    // CPU profile duration for URLs
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// fetchRequest turns a URL into a client base and a request. defaultKind
// applies to base URLs without --kind.
func (ps profileSource) fetchRequest(src string, defaultKind profile.Kind, debug int) (string, collectors.ProfileRequest, error) {
	u, err := url.Parse(src)
	if err != nil {
		return "", collectors.ProfileRequest{}, fmt.Errorf("source %q is not a URL: %w", src, err)
	}
	req := collectors.ProfileRequest{Kind: defaultKind, Seconds: ps.seconds, Debug: debug}
	if i := strings.Index(u.Path, "/debug/pprof/"); i >= 0 {
		if k := path.Base(u.Path[i:]); k != "" && k != "pprof" {
			kind, err := profile.ParseKind(k)
			if err != nil {
				return "", req, fmt.Errorf("source %q: %w", src, err)
			}
			req.Kind = kind
		}
		q := u.Query()
		if s, err := strconv.Atoi(q.Get("seconds")); err == nil && s > 0 && ps.seconds == 0 {
			req.Seconds = s
		}
		if d, err := strconv.Atoi(q.Get("debug")); err == nil {
			req.Debug = d
		}
	}
	if ps.kind != "" {
		kind, err := profile.ParseKind(ps.kind)
		if err != nil {
			return "", req, fmt.Errorf("--kind: %w", err)
		}
		req.Kind = kind
	}
	return src, req, nil
}

// readSource returns what src holds and a short name for messages: a
// file's bytes, or the answer from a URL, decoded when it is a protobuf
// profile (debug 0: collectors.Fetched).
func (ps profileSource) readSource(ctx context.Context, src string, defaultKind profile.Kind, debug int) (collectors.Fetched, string, error) {
	if !isURL(src) {
		data, err := os.ReadFile(src)
		if err != nil {
			return collectors.Fetched{}, src, err
		}
		return collectors.Fetched{Raw: data}, src, nil
	}
	base, req, err := ps.fetchRequest(src, defaultKind, debug)
	if err != nil {
		return collectors.Fetched{}, src, err
	}
	client := collectors.NewPprofClient(base)
	f, err := client.Fetch(ctx, req)
	if err != nil {
		return collectors.Fetched{}, client.URL(req), err
	}
	return f, client.URL(req), nil
}

// loadProfile reads and parses a pprof profile from src.
func (ps profileSource) loadProfile(ctx context.Context, src string, defaultKind profile.Kind) (*profile.Profile, string, error) {
	f, name, err := ps.readSource(ctx, src, defaultKind, 0)
	if err != nil {
		// Already says which file or URL ("open x: no such file ...").
		return nil, name, err
	}
	if f.Profile != nil {
		return f.Profile, name, nil // fetched: decoded as it was checked
	}
	p, err := profile.ParseBytes(f.Raw)
	if err != nil {
		return nil, name, fmt.Errorf("read %s: %w", name, err)
	}
	return p, name, nil
}
