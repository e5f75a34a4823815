// Command gotuneagent is a test target for gotune: a Go program serving the
// gotune agent (github.com/gotune/gotune/agent) on a random loopback port. It
// prints "ready <pid> <addr>" and serves until killed.
//
// Without flags it serves the read-only agent only. Flags turn on what a
// program opts into:
//
//	-writes              agent.EnableWrites (token file by PID, or -token-file)
//	-max-lease, -default-lease, -settings GOGC,GOMEMLIMIT
//	-journal FILE        the journal as JSON lines
//	-flight              agent.EnableFlightRecorder (-flight-min-age, -flight-max-bytes)
//	-listen ADDR         another address (e.g. 0.0.0.0:0 or 192.0.2.2:0)
//	-tls-cert-out FILE   serve HTTPS with a fresh self-signed certificate
//	                     for the listen address and 127.0.0.1, written here
//	-live MiB            keep this much live heap (memory-limit bounds)
//	-churn MiB/s         allocate garbage at this rate (GC cycles, trace events)
//
// On SIGTERM or SIGINT it calls agent.DisableWrites (reverting leased
// changes and removing the token file) and exits 0.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gotune/gotune/agent"
)

var sink []byte

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	writes := flag.Bool("writes", false, "enable writes")
	tokenFile := flag.String("token-file", "", "token file (default: by PID)")
	maxLease := flag.Duration("max-lease", 0, "longest lease (0: agent default)")
	defLease := flag.Duration("default-lease", 0, "lease of a write that names none")
	settings := flag.String("settings", "", "comma-separated writable settings (default all)")
	journal := flag.String("journal", "", "append the journal to this file")
	flight := flag.Bool("flight", false, "enable the flight recorder")
	flightAge := flag.Duration("flight-min-age", 0, "flight recorder MinAge")
	flightBytes := flag.Uint64("flight-max-bytes", 0, "flight recorder MaxBytes")
	certOut := flag.String("tls-cert-out", "", "serve TLS; write the certificate (PEM) here")
	live := flag.Int("live", 0, "MiB of live heap to hold")
	churn := flag.Int("churn", 0, "MiB/s of garbage to allocate")
	flag.Parse()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fail(err)
	}
	if *writes {
		opts := agent.WriteOptions{TokenFile: *tokenFile, MaxLease: *maxLease, DefaultLease: *defLease}
		if *settings != "" {
			for _, s := range strings.Split(*settings, ",") {
				opts.Settings = append(opts.Settings, agent.Setting(s))
			}
		}
		if *journal != "" {
			f, err := os.OpenFile(*journal, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
			if err != nil {
				fail(err)
			}
			opts.Journal = f
		}
		if _, err := agent.EnableWrites(opts); err != nil {
			fail(err)
		}
	}
	if *flight {
		if err := agent.EnableFlightRecorder(agent.FlightRecorderOptions{MinAge: *flightAge, MaxBytes: *flightBytes}); err != nil {
			fail(err)
		}
	}
	held := make([][]byte, *live)
	for i := range held {
		held[i] = make([]byte, 1<<20)
	}
	runtime.GC() // /gc/heap/live:bytes is measured by a GC: count what is held
	if *churn > 0 {
		go func() {
			for range time.Tick(10 * time.Millisecond) {
				for range *churn * 10 {
					sink = make([]byte, 10<<10) // 100 × 10 KiB per MiB/s per 10 ms
				}
			}
		}()
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	if *certOut != "" {
		cert, err := selfSigned(ln.Addr().(*net.TCPAddr).IP, *certOut)
		if err != nil {
			fail(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
	agent.DisableWrites()
	agent.DisableFlightRecorder()
	runtime.KeepAlive(held)
}

// selfSigned makes a certificate for ip and 127.0.0.1 and writes it to out.
func selfSigned(ip net.IP, out string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	if ip != nil && !ip.IsUnspecified() {
		ips = append(ips, ip)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gotuneagent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.WriteFile(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gotuneagent:", err)
	os.Exit(1)
}
