package discover

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
)

const netTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1156 1 0000000028953ff0 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000028953ff0 100 0 0 10 0
   2: 0100007F:B34B 0100007F:CB6E 06 00000000:00000000 03:0000061E 00000000     0        0 0 3 00000000b4f126a4
   3: 0100007F:1F91 0100007F:CB6F 01 00000000:00000000 00:00000000 00000000     0        0 777 1 00000000b4f126a4
`

const netTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1770 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1771 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9002 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1772 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9003 1 0000000000000000 100 0 0 10 0
`

// The reference parser itself is checked on known tables.
func TestParseNetTCP(t *testing.T) {
	got, err := parseNetTCP([]byte(netTCP))
	if err != nil {
		t.Fatal(err)
	}
	want := []listenSocket{
		{netip.MustParseAddrPort("0.0.0.0:2024"), 1156},
		{netip.MustParseAddrPort("127.0.0.1:8080"), 4242},
	}
	if !slices.Equal(got, want) {
		t.Errorf("tcp: %v, want %v", got, want)
	}
	got, err = parseNetTCP([]byte(netTCP6))
	if err != nil {
		t.Fatal(err)
	}
	want = []listenSocket{
		{netip.MustParseAddrPort("[::]:6000"), 9001},
		{netip.MustParseAddrPort("[::1]:6001"), 9002},
		{netip.MustParseAddrPort("127.0.0.1:6002"), 9003}, // v4-mapped
	}
	if !slices.Equal(got, want) {
		t.Errorf("tcp6: %v, want %v", got, want)
	}
	if _, err := parseNetTCP([]byte("   0: zz:1 00:0 0A 0 0 0 0 0 1 1\n")); err == nil {
		t.Error("bad hex accepted")
	}
}

// Our own listening sockets show up, through gopsutil and through
// gotune's reader alike.
func TestListeningSelf(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln6, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln6.Close()
	got, err := kernelListening(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{ln.Addr().String(), ln6.Addr().String()} {
		if !slices.Contains(got, netip.MustParseAddrPort(want)) {
			t.Errorf("listening = %v, lacks %s", got, want)
		}
	}
	ps, err := gopsutilListening(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ps) {
		t.Errorf("gotune %v, gopsutil %v", got, ps)
	}
}

// A process without socket fds listens on nothing; one whose fds cannot
// be listed is "unknown" (gopsutil v4.26.10 would say "nothing" to both).
func TestListeningUnreadableFDs(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(root+"/proc/4242/fd", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent", root+"/proc/4242/fd/3"); err != nil {
		t.Fatal(err)
	}
	f := newSocketFinder(Options{Root: root}, false)
	got, err := f.listening(context.Background(), &Process{PID: 4242})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("readable fds, no sockets: %v, %v; want empty, nil", got, err)
	}
	if err := os.Remove(root + "/proc/4242/fd/3"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(root + "/proc/4242/fd"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.listening(context.Background(), &Process{PID: 4242}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no fd directory: err = %v, want not exist", err)
	}
}

func FuzzParseNetTCP(f *testing.F) {
	f.Add([]byte(netTCP))
	f.Add([]byte(netTCP6))
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, _ := parseNetTCP(b)
		for _, s := range socks {
			if !s.Addr.IsValid() || s.Inode == 0 {
				t.Fatalf("invalid socket %+v", s)
			}
		}
	})
}
