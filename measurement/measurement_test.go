package measurement

import (
	"math"
	"testing"
)

func TestFormats(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{Bytes(0), "0 B"},
		{Bytes(1023), "1023 B"},
		{Bytes(1536), "1.5 KiB"},
		{Bytes(64 << 20), "64.0 MiB"},
		{Bytes(150 << 30), "150 GiB"},
		{Bytes(math.NaN()), "-"},
		{Seconds(0), "0s"},
		{Seconds(850e-9), "850ns"},
		{Seconds(12.5e-6), "12.5µs"},
		{Seconds(3.2e-3), "3.20ms"},
		{Seconds(1.5), "1.50s"},
		{Seconds(125), "2m05s"},
		{Seconds(7300), "2h01m"},
		{Seconds(-0.002), "-2.00ms"},
		{Percent(0.123), "12.3%"},
		{Percent(0.0005), "0.05%"},
		{Percent(0), "0.0%"},
		{Percent(2.5), "250%"},
		{Count(42), "42"},
		{Count(12345), "12.3k"},
		{Count(2.5e6), "2.50M"},
		{Count(1.5), "1.5"},
		{Rate(Bytes, 1<<20), "1.0 MiB/s"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
}

func TestCores(t *testing.T) {
	for v, want := range map[float64]string{0.48: "0.48 cores", 1.5: "1.50 cores", 0.004: "0.004 cores", 0: "0.00 cores"} {
		if got := Cores(v); got != want {
			t.Errorf("Cores(%v) = %q, want %q", v, got, want)
		}
	}
}
