package redact

import (
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	in := []string{"/srv/api", "--password=hunter2", "-token", "abc123", "--api-key", "k-999", "--port=8080",
		"--db=postgres://app:s3cret@db:5432/x?sslmode=disable", "AWS_SECRET_ACCESS_KEY=zzz", "--verbose",
		"https://u:pw@example.com/hook?access_token=t0k&x=1", "--client-secret=cs", "--auth", "--next"}
	got := Args(in)
	joined := strings.Join(got, " ")
	for _, secret := range []string{"hunter2", "abc123", "k-999", "s3cret", "zzz", ":pw@", "t0k", "=cs"} {
		if strings.Contains(joined, secret) {
			t.Errorf("secret %q survived: %s", secret, joined)
		}
	}
	for _, keep := range []string{"/srv/api", "--port=8080", "--verbose", "sslmode=disable", "x=1", "--auth", "--next", "postgres://app:" + Mask + "@db:5432"} {
		if !strings.Contains(joined, keep) {
			t.Errorf("lost %q: %s", keep, joined)
		}
	}
	if got[2] != "-token" || got[3] != Mask {
		t.Errorf("flag with separate value: %q %q", got[2], got[3])
	}
}

func TestGoEnvKeepsOnlyGoVariables(t *testing.T) {
	env := map[string]string{"GOGC": "200", "GOMEMLIMIT": "1GiB", "GODEBUG": "madvdontneed=1", "DATABASE_PASSWORD": "x", "HOME": "/root",
		"GOPROXY": "https://user:pw@proxy.example/", "GOAUTH": "netrc"}
	got := GoEnv(env)
	if len(got) != 5 || got["GOGC"] != "200" || got["GOMEMLIMIT"] != "1GiB" || got["GODEBUG"] != "madvdontneed=1" {
		t.Errorf("GoEnv = %v", got)
	}
	if _, ok := got["DATABASE_PASSWORD"]; ok {
		t.Error("a non-GO variable survived")
	}
	if strings.Contains(got["GOPROXY"], "pw") || got["GOAUTH"] != Mask {
		t.Errorf("GO* secrets: GOPROXY %q GOAUTH %q", got["GOPROXY"], got["GOAUTH"])
	}
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:6060":             "http://127.0.0.1:6060",
		"http://admin:pw@10.0.0.1:6060/x":   "http://admin:" + Mask + "@10.0.0.1:6060/x",
		"http://tok@host/":                  "http://" + Mask + "@host/",
		"http://host/metrics?token=abc&a=b": "http://host/metrics?a=b&token=" + Mask,
		"not a url":                         "not a url",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The leaks found in the first release, each masked: a value with a space
// in the argv vector, --jwt=, --apikey:VALUE, a sig= query parameter,
// GOFLAGS with an -X of a key.
func TestRedactLeaks(t *testing.T) {
	args := Args([]string{"/srv/api", "--auth-header=Basic dXNlcjpwdw==", "--jwt=eyJhbGciOi", "--apikey:AKIA123",
		"https://blob.example/x?sv=1&sig=S1GNATURE", "--listen", ":8080", "-url=postgres://bob:password@db/x"})
	joined := strings.Join(args, " ")
	for _, secret := range []string{"dXNlcjpwdw", "Basic", "eyJhbGciOi", "AKIA123", "S1GNATURE", "bob:password"} {
		if strings.Contains(joined, secret) {
			t.Errorf("%q survived: %s", secret, joined)
		}
	}
	for _, keep := range []string{"--listen", ":8080", "sv=1", "postgres://bob:" + Mask + "@db/x"} {
		if !strings.Contains(joined, keep) {
			t.Errorf("lost %q: %s", keep, joined)
		}
	}
	env := GoEnv(map[string]string{"GOFLAGS": "-ldflags=-X=main.apiKey=sk-live-123 -mod=mod", "GOGC": "100"})
	if strings.Contains(env["GOFLAGS"], "sk-live-123") || !strings.Contains(env["GOFLAGS"], "-mod=mod") {
		t.Errorf("GOFLAGS = %q", env["GOFLAGS"])
	}
}
