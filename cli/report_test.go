//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	reportBefore = filepath.Join("..", "testdata", "snapshots", "before.gotune")
	reportAfter  = filepath.Join("..", "testdata", "snapshots", "after.gotune")
)

func runReport(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), append([]string{"report"}, args...), &out, &errOut)
	return out.String(), err
}

func TestReportFormatFromExtension(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		file, want string
	}{
		{"r.md", "# gotune report: pid 4242"},
		{"r.MARKDOWN", "## Summary"},
		{"r.html", "<!DOCTYPE html>"},
		{"r.htm", `<svg id="flame"`},
		{"r.json", `"format": "gotune-report"`},
	} {
		path := filepath.Join(dir, tc.file)
		stdout, err := runReport(t, reportBefore, "-o", path)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !strings.Contains(stdout, "wrote "+path) || !strings.Contains(stdout, "4 findings") {
			t.Errorf("%s: stdout %q", tc.file, stdout)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%s lacks %q", tc.file, tc.want)
		}
	}
	// Only the reports are left: no temporary files.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left: %v", names)
	}
}

func TestReportBeforeAfterJSON(t *testing.T) {
	stdout, err := runReport(t, reportBefore, reportAfter, "-o", "-", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		FormatVersion int `json:"format_version"`
		Subject       struct {
			Name string `json:"name"`
		} `json:"subject"`
		Before *struct {
			Name string `json:"name"`
		} `json:"before"`
		Comparison *struct {
			Settings []struct{ Name, Before, After string } `json:"settings"`
		} `json:"comparison"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON report: %v", err)
	}
	if doc.FormatVersion != 1 || doc.Before == nil || !strings.HasPrefix(doc.Before.Name, "before") || !strings.HasPrefix(doc.Subject.Name, "after") {
		t.Errorf("report of two snapshots: %+v", doc)
	}
	if doc.Comparison == nil || len(doc.Comparison.Settings) == 0 {
		t.Fatal("no settings change in the comparison")
	}
	found := false
	for _, s := range doc.Comparison.Settings {
		found = found || s.Name == "GOGC" && s.Before == "100" && s.After == "400"
	}
	if !found {
		t.Errorf("GOGC 100 → 400 not in %+v", doc.Comparison.Settings)
	}
}

func TestReportOverwritesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.md")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runReport(t, reportBefore, reportAfter, "-o", path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "## Before → after") {
		t.Errorf("report of two snapshots lacks the comparison:\n%.300s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (owner only)", fi.Mode().Perm())
	}
}

func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{reportBefore}, "-o FILE"},
		{"unknown extension", []string{reportBefore, "-o", filepath.Join(dir, "r.txt")}, `unknown report extension ".txt"`},
		{"no extension", []string{reportBefore, "-o", filepath.Join(dir, "report")}, "has no extension"},
		{"bad format", []string{reportBefore, "-o", filepath.Join(dir, "r.md"), "--format", "pdf"}, `--format "pdf"`},
		{"missing snapshot", []string{filepath.Join(dir, "nope.gotune"), "-o", filepath.Join(dir, "r.md")}, "open snapshot"},
		{"not a snapshot", []string{"report_test.go", "-o", filepath.Join(dir, "r.md")}, "not a gotune snapshot"},
		{"missing after", []string{reportBefore, filepath.Join(dir, "nope.gotune"), "-o", filepath.Join(dir, "r.md")}, "open snapshot"},
		{"three snapshots", []string{reportBefore, reportAfter, reportAfter, "-o", filepath.Join(dir, "r.md")}, "accepts between 1 and 2 arg"},
	} {
		_, err := runReport(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed report left %d files", len(entries))
	}
}
