package agent

import (
	"crypto/tls"
	"io"
	"strings"
)

func tlsConnectionState() tls.ConnectionState { return tls.ConnectionState{HandshakeComplete: true} }

func ioNopCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }
