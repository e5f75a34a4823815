package collectors

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gotune/gotune/session"
)

func TestRunnerCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := session.NewStore(10)
		var calls atomic.Int32
		r := NewRunner("metrics", time.Second, store, func(ctx context.Context) (string, error) {
			calls.Add(1)
			return "agent", nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		go r.Run(ctx)
		time.Sleep(5*time.Second + time.Millisecond)
		synctest.Wait()
		if got := calls.Load(); got != 6 { // at 0,1,2,3,4,5 s
			t.Errorf("calls = %d, want 6", got)
		}
		st, _ := store.Snapshot().StatusOf("metrics")
		if st.Via != "agent" || st.Failures != 0 || st.LastOK.IsZero() {
			t.Errorf("status = %+v", st)
		}
		cancel()
	})
}

// A call slower than the interval makes the ticks that arrive meanwhile be
// dropped and counted, never queued.
func TestRunnerDropsWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := session.NewStore(10)
		var calls atomic.Int32
		r := NewRunner("heap profile", time.Second, store, func(ctx context.Context) (string, error) {
			calls.Add(1)
			select {
			case <-time.After(3500 * time.Millisecond):
			case <-ctx.Done():
			}
			return "pprof", nil
		})
		r.Timeout = time.Minute
		ctx, cancel := context.WithCancel(t.Context())
		go r.Run(ctx)
		time.Sleep(3600 * time.Millisecond)
		synctest.Wait()
		st, _ := store.Snapshot().StatusOf("heap profile")
		if st.Dropped != 3 { // ticks at 1, 2, 3 s arrived during the first call
			t.Errorf("dropped = %d, want 3", st.Dropped)
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("calls = %d, want 1 (one in flight at a time)", got)
		}
		// Idle now (the call ended at 3.5 s): a trigger starts a call at once.
		if !r.Trigger() {
			t.Error("trigger not accepted")
		}
		synctest.Wait()
		if got := calls.Load(); got != 2 {
			t.Errorf("calls after trigger = %d, want 2", got)
		}
		// Busy: a further trigger is dropped and counted.
		r.Trigger()
		synctest.Wait()
		st, _ = store.Snapshot().StatusOf("heap profile")
		if st.Dropped != 4 || calls.Load() != 2 {
			t.Errorf("dropped = %d calls = %d, want 4 and 2", st.Dropped, calls.Load())
		}
		cancel()
	})
}

func TestRunnerBacksOffAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := session.NewStore(10)
		var calls atomic.Int32
		var failing atomic.Bool
		failing.Store(true)
		refused := &FetchError{URL: "http://x", Reason: "connection refused", Err: syscall.ECONNREFUSED, Unreachable: true}
		r := NewRunner("metrics", time.Second, store, func(ctx context.Context) (string, error) {
			n := calls.Add(1)
			if n == 1 {
				return "agent", nil // answered once: a later refusal means "lost"
			}
			if failing.Load() {
				return "agent", refused
			}
			return "agent", nil
		})
		r.MaxBackoff = 8 * time.Second
		ctx, cancel := context.WithCancel(t.Context())
		go r.Run(ctx)
		// Calls: 0 ok; 1 fail(f=1, no wait); 2 fail(f=2, 2s); 4 fail(f=3, 4s); 8 fail (f=4, 8s); 16 fail (capped 8s); 24 ...
		time.Sleep(20*time.Second + time.Millisecond)
		synctest.Wait()
		if got := calls.Load(); got != 6 {
			t.Errorf("calls in 20 s = %d, want 6 with backoff 0,2,4,8,8", got)
		}
		st, _ := store.Snapshot().StatusOf("metrics")
		if !st.Lost || st.Failures != 5 || st.Backoff != 8*time.Second {
			t.Errorf("status = lost %v failures %d backoff %s, want lost, 5, 8s", st.Lost, st.Failures, st.Backoff)
		}
		if st.LastErr == "" || !errors.Is(refused, syscall.ECONNREFUSED) {
			t.Errorf("last error missing: %+v", st)
		}
		failing.Store(false)
		time.Sleep(8 * time.Second)
		synctest.Wait()
		st, _ = store.Snapshot().StatusOf("metrics")
		if st.Lost || st.Failures != 0 || st.Backoff != 0 {
			t.Errorf("after recovery: lost %v failures %d backoff %s", st.Lost, st.Failures, st.Backoff)
		}
		cancel()
	})
}
