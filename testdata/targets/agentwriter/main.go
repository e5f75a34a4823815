// Command agentwriter plays gotune in the agent's lease tests: it finds the
// token of process -pid, changes one setting through the agent at -base
// under a lease, prints "held <change id> <value> <previous>", and renews
// the lease (collectors.AgentClient.Hold) until it is stopped. On SIGTERM or
// SIGINT it reverts the change and exits 0, as gotune does on exit; after
// SIGKILL the agent reverts on its own when the lease ends.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/collectors"
)

func main() {
	pid := flag.Int("pid", 0, "target PID")
	base := flag.String("base", "", "agent base URL")
	tokenFile := flag.String("token-file", "", "token file (default: by PID)")
	setting := flag.String("setting", "GOGC", "setting to change")
	value := flag.Int64("value", 50, "value to set")
	lease := flag.Duration("lease", 3*time.Second, "lease, renewed every third")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	tok, err := collectors.FindAgentToken(ctx, *pid, *tokenFile)
	if err != nil {
		fail(err)
	}
	c := collectors.NewAgentClient(*base, tok, collectors.HTTPSourceOptions{})
	ch, err := c.Set(ctx, agent.Setting(*setting), *value, *lease)
	if err != nil {
		fail(err)
	}
	fmt.Printf("held %d %d %d\n", ch.ID, ch.Value, ch.Previous)
	if err := c.Hold(ctx, ch.ID, *lease); err != nil {
		fail(err)
	}
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Revert(rctx, ch); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "agentwriter:", err)
	os.Exit(1)
}
