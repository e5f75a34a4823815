//go:build unix

package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

func TestGoroutinesGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"dump", []string{"goroutines", profiles + "goroutine.txt"}},
		{"dump_json", []string{"goroutines", "--json", profiles + "goroutine.txt"}},
		{"dump_exact_args", []string{"goroutines", "--exact-args", profiles + "goroutine.txt"}},
		{"proto", []string{"goroutines", profiles + "goroutine.pb.gz"}},
		{"proto_json", []string{"goroutines", "--json", profiles + "goroutine.pb.gz"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			golden.RequireEqual(t, runCLI(t, c.args...))
		})
	}
}

func TestGoroutinesErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"goroutines", profiles + "heap.pb.gz"}, "this is a heap profile, not a goroutine profile or dump"},
		{[]string{"goroutines", profiles + "README.md"}, "not a pprof profile"},
	} {
		if got := runCLIError(t, c.args...); !strings.Contains(got, c.want) {
			t.Errorf("gotune %s: error %q, want it to contain %q", strings.Join(c.args, " "), got, c.want)
		}
	}
}

func TestGoroutinesURL(t *testing.T) {
	dump, err := os.ReadFile(profiles + "goroutine.txt")
	if err != nil {
		t.Fatal(err)
	}
	proto, err := os.ReadFile(profiles + "goroutine.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/goroutine" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("debug") == "2" {
			w.Write(dump)
			return
		}
		w.Write(proto)
	}))
	defer srv.Close()
	if got, want := runCLI(t, "goroutines", srv.URL), runCLI(t, "goroutines", profiles+"goroutine.txt"); got != want {
		t.Errorf("goroutines BASE_URL differs from the dump file")
	}
	if got, want := runCLI(t, "goroutines", "--proto", srv.URL), runCLI(t, "goroutines", profiles+"goroutine.pb.gz"); got != want {
		t.Errorf("goroutines --proto BASE_URL differs from the profile file")
	}
}
