// Command trace-analyze runs gotune's trace analysis on files, in its own
// process, so the trace package's benchmark can measure its wall time, CPU
// and peak RSS beside `go tool trace -pprof=sched` (and so the package can
// be tried while the cli is being rewired).
//
//	trace-analyze [-json] FILE...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/gotune/gotune/trace"
)

func main() {
	asJSON := flag.Bool("json", false, "print the summary (or the ranking) as JSON")
	flag.Parse()
	ctx := context.Background()
	if flag.NArg() > 1 {
		r := trace.RankFiles(ctx, flag.Args(), trace.Options{})
		if *asJSON {
			out(json.NewEncoder(os.Stdout).Encode(r))
			return
		}
		out(trace.WriteRanking(os.Stdout, r))
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: trace-analyze [-json] FILE...")
		os.Exit(2)
	}
	s, err := trace.AnalyzeFile(ctx, flag.Arg(0), trace.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "trace-analyze:", err)
		if s == nil {
			os.Exit(1)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		out(enc.Encode(s))
		return
	}
	out(trace.WriteText(os.Stdout, s))
}

func out(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "trace-analyze:", err)
		os.Exit(1)
	}
}
