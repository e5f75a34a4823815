package cli

import (
	"io"

	"github.com/gotune/gotune/safetext"
)

// jsonOut is where a command prints JSON. A JSON document holds the
// original strings (function names, labels, command lines, error bodies)
// for programs, but it is printed on terminals too (a CI log, a person
// trying --json): what a terminal would act on is written as its \uXXXX
// escape (safetext.NewJSONWriter), so the document decodes to the same
// values and the terminal shows text. Text output goes through
// safetext.NewWriter instead, and stderr always does (see env).
func (e *env) jsonOut() io.Writer { return safetext.NewJSONWriter(e.stdout) }
