package snapshot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/session"
)

// Every host fact the collectors publish, read from the fixture trees of
// real machines (and this test binary's own build info), survives a
// snapshot round trip as the same typed value: the file holds the
// collectors' types, not text a reader must guess at.
func TestHostFactsRoundTrip(t *testing.T) {
	ctx := context.Background()
	host := filepath.Join("..", "testdata", "host")
	for _, tree := range []string{"cgroupv1", "cgroupv2", "hybrid", "throttled", "v2-parent-tighter", "numa-2node", "numa-4node"} {
		t.Run(tree, func(t *testing.T) {
			root := filepath.Join(host, tree)
			var f session.Facts
			if cg, err := (cgroup.FS{Root: root}).Read(ctx, 4242); err == nil {
				f.Cgroup = &cg
				rates := cgroup.CPURates(cg, cg)
				for _, r := range rates {
					f.Throttle = &r
					break
				}
			}
			nfs := numa.FS{Root: root}
			if top, err := nfs.Topology(ctx); err == nil {
				f.Topology = &top
				if np, err := nfs.Process(ctx, top, 4242, true); err == nil {
					f.NUMAProcess = &np
				}
			}
			if set, err := nfs.Settings(ctx); err == nil {
				f.NUMASettings = &set
			}
			exe, _ := os.Executable()
			if b, err := discover.ReadBuild(exe); err == nil {
				f.Build = b
			}
			ex := effective.Explain(effective.Input{GoVersion: "go1.26.8", Env: map[string]string{"GOGC": "200"}, CPUQuota: 2, AffinityCPUs: 4})
			f.Settings = &ex
			f.Env = map[string]string{"GOGC": "200"}
			if f.Cgroup == nil && f.Topology == nil {
				t.Fatal("the fixture gave no facts")
			}
			sess := &session.Snapshot{Target: session.Target{PID: 4242, Command: "/srv/api"}, Facts: f,
				Points: []session.Point{{Sample: session.Sample{Time: time.Unix(1000, 0), Values: map[string]float64{"/x:y": 1}}}}}
			s := FromSession(sess, "facts", "test", time.Unix(1000, 0), time.Unix(1001, 0))
			var buf bytes.Buffer
			if err := Encode(&buf, s); err != nil {
				t.Fatal(err)
			}
			back, err := Decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			m, bm := s.Manifest, back.Manifest
			check := func(name string, want, got any) {
				t.Helper()
				if !reflect.DeepEqual(normalize(want), normalize(got)) {
					t.Errorf("%s changed in the round trip:\nwant %+v\n got %+v", name, want, got)
				}
			}
			check("cgroup", m.Cgroup, bm.Cgroup)
			check("throttle", m.Throttle, bm.Throttle)
			check("NUMA topology", m.NUMATopology, bm.NUMATopology)
			check("NUMA settings", m.NUMASettings, bm.NUMASettings)
			check("NUMA placement", m.NUMAProcess, bm.NUMAProcess)
			check("settings", m.Settings, bm.Settings)
			if m.Target.Build != nil && (bm.Target.Build == nil || bm.Target.Build.GoVersion != m.Target.Build.GoVersion || bm.Target.Build.Module != m.Target.Build.Module) {
				t.Errorf("build info changed: %+v → %+v", m.Target.Build, bm.Target.Build)
			}
		})
	}
}

// normalize makes times comparable after JSON (no monotonic reading, UTC)
// by a JSON round trip of its own through the same types.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.IsNil() {
		return nil
	}
	b, err := jsonMarshal(v)
	if err != nil {
		return err.Error()
	}
	out := reflect.New(rv.Type().Elem())
	if err := jsonUnmarshal(b, out.Interface()); err != nil {
		return err.Error()
	}
	return out.Interface()
}
