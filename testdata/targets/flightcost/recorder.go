package main

import (
	"io"
	"net/http"
)

// recorder is a minimal http.ResponseWriter that streams the body to w, so
// the snapshot is measured as the handler writes it, without a network.
type recorder struct {
	h    http.Header
	w    io.Writer
	code int
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(p []byte) (int, error) { return r.w.Write(p) }

func newGet(path string) (*http.Request, error) { return http.NewRequest(http.MethodGet, path, nil) }
