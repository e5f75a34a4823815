package export

import (
	"bytes"
	"testing"
)

// FuzzDecodeSpill: spill files are read back after crashes and by other
// runs; a damaged one must be an error, never a panic, and a good one must
// round-trip.
func FuzzDecodeSpill(f *testing.F) {
	s := &spool{kind: "otlp-http", dir: f.TempDir()}
	p := Payload{Signal: SignalMetrics, Kind: "", Data: 3, Body: []byte("body"), Meta: map[string]string{"query": "a=b"}}
	path, err := s.write(1, p)
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.load(path)
	if err != nil || !bytes.Equal(good.Body, p.Body) || good.Meta["query"] != "a=b" || good.Data != 3 {
		f.Fatalf("round trip: %+v, %v", good, err)
	}
	f.Add([]byte("GTX1\x00\x00\x00\x02{}\x00\x00\x00\x00"))
	f.Add([]byte("GTX1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeSpill(data, "fuzz.gtx")
	})
}

// FuzzRPCStatusMessage: receivers' error bodies are outside input.
func FuzzRPCStatusMessage(f *testing.F) {
	f.Add([]byte{0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'})
	f.Add([]byte("<html>502</html>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = rpcStatusMessage(b)
	})
}

func TestRPCStatusMessage(t *testing.T) {
	if got := rpcStatusMessage([]byte{0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd'}); got != "bad" {
		t.Errorf("got %q, want bad", got)
	}
	if got := rpcStatusMessage([]byte("plain text")); got != "" {
		t.Errorf("plain text read as %q", got)
	}
}
