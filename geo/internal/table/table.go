// Package table is the compact, gzip-compressed form in which geo embeds its IP→country data. The
// generator (geo/internal/gen) writes it and geo reads it, so both sides share one definition of the
// format and the round trip is testable without the real data.
//
// Format, then gzip:
//
//	"TRIBGEO2"
//	u8  n codes, then n 2-byte country codes; index 0 is "--" and means no country
//	u32 n IPv4 steps, n u32 starts, n u8 code indexes
//	u32 n IPv6 steps, n 16-byte starts, n u8 code indexes
//
// All integers are big-endian. Each address family is a step function: a step holds from its start
// until the next step's start, so the starts are strictly increasing and the first one is 0. Columns are
// stored apart (all starts, then all codes) because that compresses better and decodes in tight loops.
package table

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const magic = "TRIBGEO2"

// U128 is an IPv6 address as a number, for ordering and binary search.
type U128 struct{ Hi, Lo uint64 }

// Less reports whether u < v.
func (u U128) Less(v U128) bool { return u.Hi < v.Hi || u.Hi == v.Hi && u.Lo < v.Lo }

// U128From16 reads a 16-byte address.
func U128From16(b [16]byte) U128 {
	return U128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// Table maps IPv4 and IPv6 addresses to countries as two step functions.
type Table struct {
	Codes   []string // Codes[0] is "", for addresses without a country
	V4Start []uint32
	V4Code  []uint8 // index into Codes, parallel to V4Start
	V6Start []U128
	V6Code  []uint8
}

// Country4 returns the country of an IPv4 address given as a number.
func (t *Table) Country4(a uint32) string {
	// Hand-written search: the smallest i with V4Start[i] > a, minus one. No closure keeps it
	// allocation-free and inlining-friendly on the per-event path.
	lo, hi := 0, len(t.V4Start)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.V4Start[m] <= a {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return ""
	}
	return t.Codes[t.V4Code[lo-1]]
}

// Country6 returns the country of an IPv6 address given as a number.
func (t *Table) Country6(a U128) string {
	lo, hi := 0, len(t.V6Start)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !a.Less(t.V6Start[m]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return ""
	}
	return t.Codes[t.V6Code[lo-1]]
}

// Validate checks what lookups rely on: parallel columns, strictly increasing starts beginning at 0,
// code indexes inside Codes, and two-letter upper-case codes.
func (t *Table) Validate() error {
	if len(t.Codes) == 0 || len(t.Codes) > 255 || t.Codes[0] != "" {
		return errors.New("codes must start with the empty code and number at most 255")
	}
	for i, c := range t.Codes[1:] {
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return fmt.Errorf("code %d is %q, not an upper-case two-letter country code", i+1, c)
		}
	}
	if len(t.V4Start) != len(t.V4Code) || len(t.V6Start) != len(t.V6Code) {
		return errors.New("starts and codes differ in length")
	}
	if len(t.V4Start) > 0 && t.V4Start[0] != 0 || len(t.V6Start) > 0 && t.V6Start[0] != (U128{}) {
		return errors.New("the first step must start at address 0")
	}
	for i := 1; i < len(t.V4Start); i++ {
		if t.V4Start[i] <= t.V4Start[i-1] {
			return fmt.Errorf("ipv4 step %d does not increase", i)
		}
	}
	for i := 1; i < len(t.V6Start); i++ {
		if !t.V6Start[i-1].Less(t.V6Start[i]) {
			return fmt.Errorf("ipv6 step %d does not increase", i)
		}
	}
	for _, col := range [][]uint8{t.V4Code, t.V6Code} {
		for i, c := range col {
			if int(c) >= len(t.Codes) {
				return fmt.Errorf("step %d names code %d of %d", i, c, len(t.Codes))
			}
		}
	}
	return nil
}

// Encode writes t, gzip-compressed, to w.
func Encode(w io.Writer, t *Table) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("table: encode: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("table: encode: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 1<<16)
	bw.WriteString(magic)
	bw.WriteByte(byte(len(t.Codes)))
	bw.WriteString("--")
	for _, c := range t.Codes[1:] {
		bw.WriteString(c)
	}
	var b [16]byte
	binary.BigEndian.PutUint32(b[:4], uint32(len(t.V4Start)))
	bw.Write(b[:4])
	for _, s := range t.V4Start {
		binary.BigEndian.PutUint32(b[:4], s)
		bw.Write(b[:4])
	}
	bw.Write(t.V4Code)
	binary.BigEndian.PutUint32(b[:4], uint32(len(t.V6Start)))
	bw.Write(b[:4])
	for _, s := range t.V6Start {
		binary.BigEndian.PutUint64(b[:8], s.Hi)
		binary.BigEndian.PutUint64(b[8:], s.Lo)
		bw.Write(b[:])
	}
	bw.Write(t.V6Code)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("table: encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("table: encode: %w", err)
	}
	return nil
}

// Decode reads a table written by Encode and validates it, so a damaged file fails here rather than
// as a wrong answer or a panic in a lookup.
func Decode(gz []byte) (*Table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("table: decode: %w", err)
	}
	// One read into memory, then slicing: much faster than a reader call per record. gzip's trailer
	// holds the plain size, so the buffer is allocated once instead of grown.
	var buf bytes.Buffer
	if n := binary.LittleEndian.Uint32(gz[len(gz)-4:]); n < 1<<28 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(zr); err != nil {
		return nil, fmt.Errorf("table: decode: %w", err)
	}
	t, err := parse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("table: decode: %w", err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("table: decode: %w", err)
	}
	return t, nil
}

var errShort = errors.New("truncated table")

func parse(b []byte) (*Table, error) {
	if len(b) < len(magic)+1 || string(b[:len(magic)]) != magic {
		return nil, errors.New("not a geo table (bad magic)")
	}
	b = b[len(magic):]
	n := int(b[0])
	b = b[1:]
	if len(b) < 2*n {
		return nil, errShort
	}
	t := &Table{Codes: make([]string, n)}
	for i := range t.Codes {
		t.Codes[i] = string(b[2*i : 2*i+2])
	}
	if n > 0 {
		t.Codes[0] = ""
	}
	b = b[2*n:]

	if len(b) < 4 {
		return nil, errShort
	}
	n = int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if uint64(len(b)) < uint64(n)*5 {
		return nil, errShort
	}
	t.V4Start = make([]uint32, n)
	for i := range t.V4Start {
		t.V4Start[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	b = b[4*n:]
	t.V4Code = append([]uint8(nil), b[:n]...)
	b = b[n:]

	if len(b) < 4 {
		return nil, errShort
	}
	n = int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if uint64(len(b)) < uint64(n)*17 {
		return nil, errShort
	}
	t.V6Start = make([]U128, n)
	for i := range t.V6Start {
		t.V6Start[i] = U128{binary.BigEndian.Uint64(b[16*i:]), binary.BigEndian.Uint64(b[16*i+8:])}
	}
	b = b[16*n:]
	t.V6Code = append([]uint8(nil), b[:n]...)
	if len(b) != n {
		return nil, errors.New("trailing bytes after the ipv6 steps")
	}
	return t, nil
}
