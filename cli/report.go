package cli

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/internal/atomicfile"
	"github.com/gotune/gotune/report"
	"github.com/gotune/gotune/snapshot"
)

func reportCmd(e *env) *cobra.Command {
	var out, format string
	cmd := &cobra.Command{
		Use:   "report SNAPSHOT [AFTER] -o FILE",
		Short: "Write a tuning report (Markdown, HTML or JSON) of a snapshot, or of two before and after a change",
		Long: `Write a tuning report of a .gotune snapshot: a summary of the three things
to do with their predicted effect, the environment and effective settings, the
advisor's findings with evidence and actions, the GC what-if table, the metric
curves, the top functions of every profile and the goroutine groups. Given a
second snapshot (AFTER), the report describes AFTER and adds the before/after
comparison of gotune diff.

The extension of FILE picks the format: .md (Markdown), .html or .htm (one
self-contained page with inline SVG charts and a zoomable flame graph; it
loads nothing from the network and prints well), .json (the versioned
document of docs/report-json.md, for scripts and CI). --format overrides the
extension. "-o -" writes to stdout (then --format is needed unless it is md).
The file is written atomically.`,
		Example: `  gotune report before.gotune -o report.html
  gotune report before.gotune after.gotune -o change.md
  gotune report after.gotune -o - --format json | jq '.summary.to_do'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("name the output file with -o FILE (.md, .html or .json)")
			}
			f, err := reportFormat(out, format)
			if err != nil {
				return err
			}
			before, err := snapshot.Read(args[0])
			if err != nil {
				return err
			}
			var after *snapshot.Snapshot
			if len(args) == 2 {
				if after, err = snapshot.Read(args[1]); err != nil {
					return err
				}
			}
			r, err := report.Build(before, after)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			switch f {
			case "md":
				err = r.WriteMarkdown(&buf)
			case "html":
				err = r.WriteHTML(&buf)
			case "json":
				err = r.WriteJSON(&buf)
			}
			if err != nil {
				return fmt.Errorf("render %s report: %w", f, err)
			}
			if out == "-" {
				_, err = e.stdout.Write(buf.Bytes())
				return err
			}
			if err := writeReportFile(out, buf.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %s (%s, %d findings)\n", out, f, len(r.Findings))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the report file: .md, .html/.htm or .json (- for stdout)")
	cmd.Flags().StringVar(&format, "format", "", "md, html or json (default: from the extension of -o)")
	return cmd
}

// reportFormat picks the format from --format, else from the extension of
// the output file.
func reportFormat(out, format string) (string, error) {
	switch strings.ToLower(format) {
	case "md", "markdown":
		return "md", nil
	case "html", "htm":
		return "html", nil
	case "json":
		return "json", nil
	case "":
	default:
		return "", fmt.Errorf("--format %q: want md, html or json", format)
	}
	if out == "-" {
		return "md", nil
	}
	switch ext := strings.ToLower(filepath.Ext(out)); ext {
	case ".md", ".markdown":
		return "md", nil
	case ".html", ".htm":
		return "html", nil
	case ".json":
		return "json", nil
	case "":
		return "", fmt.Errorf("%s has no extension: name it .md, .html or .json, or pass --format", out)
	default:
		return "", fmt.Errorf("%s: unknown report extension %q: use .md, .html/.htm or .json, or pass --format", out, ext)
	}
}

// writeReportFile saves a report atomically, readable by its owner only.
func writeReportFile(path string, data []byte) error {
	return atomicfile.Write(path, "report", func(w io.Writer) error { _, err := w.Write(data); return err })
}
