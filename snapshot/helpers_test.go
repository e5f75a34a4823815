package snapshot

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// rawArchive rebuilds archive with its manifest replaced by m (as JSON).
func rawArchive(t *testing.T, m map[string]any, archive []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		w, _ := zw.Create(f.Name)
		if f.Name == ManifestEntry {
			b, _ := json.Marshal(m)
			w.Write(b)
			continue
		}
		rc, _ := f.Open()
		io.Copy(w, rc)
		rc.Close()
	}
	zw.Close()
	return out.Bytes()
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
