package export

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// spool is the spill directory: one file per request, named
// <kind>-<seq>.gtx, written to a temporary name and renamed so a crash
// never leaves half a request under a real name.
//
// File layout: "GTX1", a uint32 header length, the JSON header, the body,
// then the CRC-32 (IEEE) of everything after the magic.
type spool struct {
	dir, kind string
}

const spoolMagic = "GTX1"

type spoolHeader struct {
	Kind   string            `json:"kind"`
	Signal Signal            `json:"signal"`
	PKind  string            `json:"profile_kind,omitempty"`
	Data   int64             `json:"data"`
	Meta   map[string]string `json:"meta,omitempty"`
}

// openSpool creates dir and returns the entries a previous run left for
// this kind of sink, oldest first. Stray temporary files are removed.
func openSpool(dir, kind string) (*spool, []*entry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("spill directory: %w", err)
	}
	s := &spool{dir: dir, kind: kind}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("spill directory: %w", err)
	}
	var left []*entry
	for _, de := range names {
		name := de.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		seq, ok := s.parseName(name)
		if !ok {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		left = append(left, &entry{seq: seq, size: fi.Size(), path: filepath.Join(dir, name)})
	}
	sort.Slice(left, func(i, j int) bool { return left[i].seq < left[j].seq })
	return s, left, nil
}

func (s *spool) name(seq uint64) string { return fmt.Sprintf("%s-%020d.gtx", s.kind, seq) }

func (s *spool) parseName(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, s.kind+"-")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".gtx")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 64)
	return n, err == nil
}

func (s *spool) header(p Payload) []byte {
	h, _ := json.Marshal(spoolHeader{Kind: s.kind, Signal: p.Signal, PKind: p.Kind, Data: p.Data, Meta: p.Meta})
	return h
}

// size is the file size p takes.
func (s *spool) size(p Payload) int64 {
	return int64(len(spoolMagic) + 4 + len(s.header(p)) + len(p.Body) + 4)
}

func (s *spool) write(seq uint64, p Payload) (string, error) {
	h := s.header(p)
	var buf bytes.Buffer
	buf.Grow(int(s.size(p)))
	buf.WriteString(spoolMagic)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(h)))
	buf.Write(h)
	buf.Write(p.Body)
	_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(buf.Bytes()[len(spoolMagic):]))
	path := filepath.Join(s.dir, s.name(seq))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return path, nil
}

var errCorrupt = errors.New("corrupt spill file")

func (s *spool) load(path string) (Payload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Payload{}, fmt.Errorf("read spilled request: %w", err)
	}
	return decodeSpill(data, path)
}

func decodeSpill(data []byte, path string) (Payload, error) {
	bad := func(why string) (Payload, error) {
		return Payload{}, fmt.Errorf("%w %s: %s", errCorrupt, filepath.Base(path), why)
	}
	if len(data) < len(spoolMagic)+8 || string(data[:len(spoolMagic)]) != spoolMagic {
		return bad("no GTX1 header")
	}
	body := data[len(spoolMagic) : len(data)-4]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(data[len(data)-4:]) {
		return bad("checksum mismatch")
	}
	hl := binary.BigEndian.Uint32(body[:4])
	if uint64(hl) > uint64(len(body)-4) {
		return bad("header length out of range")
	}
	var h spoolHeader
	if err := json.Unmarshal(body[4:4+hl], &h); err != nil {
		return bad("header: " + err.Error())
	}
	return Payload{Signal: h.Signal, Kind: h.PKind, Data: h.Data, Meta: h.Meta, Body: body[4+hl:]}, nil
}

func (s *spool) remove(path string) { _ = os.Remove(path) }
