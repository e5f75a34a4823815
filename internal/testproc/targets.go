//go:build tools

package testproc

// The test targets under testdata/targets are built by the tests (Build)
// with this module's go.mod, but go mod tidy does not look inside testdata:
// these imports keep the targets' dependencies required, at the pinned
// versions (see PINS.md).
import (
	_ "github.com/google/gops/agent"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/collectors"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/spf13/pflag"
)
