package ingest

import (
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// record is one event as the writer holds it until its write: every field in one string, each text
// as its length (uvarint) and bytes, the timestamp as seconds and nanoseconds, then the screen width
// and the props. A tributary.Event is a 424-byte struct (448 on the heap) of 24 strings, a time, an int
// and a map, its strings pointing into whatever the request's parsing allocated (the page's path and
// host keep its whole URL alive); held as a record an event costs one allocation of its own bytes,
// which the collector need not scan: 216 bytes a pageview against 615 (BenchmarkHeldEvent).
type record string

// texts are the event's text fields in the order a record holds them; pack and unpack walk it, so a
// field is never written by one and skipped by the other (TestRecordRoundTrip fills every field).
func texts(e *tributary.Event) [24]*string {
	return [24]*string{&e.SiteID, &e.Name, &e.Source, &e.VisitorID, &e.SessionID, &e.Hostname, &e.Path,
		&e.Referrer, &e.ReferrerSource, &e.Channel, &e.UTMSource, &e.UTMMedium, &e.UTMCampaign, &e.UTMTerm,
		&e.UTMContent, &e.ClickIDPlatform, &e.ClickID, &e.ClickIDParam, &e.FBP, &e.Country, &e.Region,
		&e.Browser, &e.OS, &e.Device}
}

// pack encodes e in one allocation of exactly its size.
func pack(e *tributary.Event) record {
	fields := texts(e)
	sec, nsec := e.Timestamp.Unix(), int64(e.Timestamp.Nanosecond())
	n := varintLen(sec) + varintLen(nsec) + varintLen(int64(e.ScreenWidth)) + uvarintLen(uint64(len(e.Props)))
	for _, f := range fields {
		n += uvarintLen(uint64(len(*f))) + len(*f)
	}
	for k, v := range e.Props {
		n += uvarintLen(uint64(len(k))) + len(k) + uvarintLen(uint64(len(v))) + len(v)
	}
	// A Builder grown to the exact size hands its bytes over as the string without a copy.
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		writeText(&b, *f)
	}
	writeVarint(&b, sec)
	writeVarint(&b, nsec)
	writeVarint(&b, int64(e.ScreenWidth))
	writeUvarint(&b, uint64(len(e.Props)))
	for k, v := range e.Props {
		writeText(&b, k)
		writeText(&b, v)
	}
	return record(b.String())
}

// unpack decodes r into an event whose texts are substrings of r (no copies). The timestamp comes back
// in UTC, the same instant as packed; empty props come back nil, which every store takes as none.
func (r record) unpack() tributary.Event {
	var e tributary.Event
	s := string(r)
	for _, f := range texts(&e) {
		*f, s = readText(s)
	}
	var sec, nsec, width int64
	sec, s = readVarint(s)
	nsec, s = readVarint(s)
	width, s = readVarint(s)
	e.Timestamp = time.Unix(sec, nsec).UTC()
	e.ScreenWidth = int(width)
	var props uint64
	props, s = readUvarint(s)
	if props > 0 {
		e.Props = make(map[string]string, props)
		for range props {
			var k, v string
			k, s = readText(s)
			v, s = readText(s)
			e.Props[k] = v
		}
	}
	return e
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// varintLen, writeVarint and readVarint zig-zag signed values as encoding/binary does.
func varintLen(x int64) int { return uvarintLen(uint64(x<<1) ^ uint64(x>>63)) }

func writeUvarint(b *strings.Builder, x uint64) {
	for x >= 0x80 {
		b.WriteByte(byte(x) | 0x80)
		x >>= 7
	}
	b.WriteByte(byte(x))
}

func writeVarint(b *strings.Builder, x int64) { writeUvarint(b, uint64(x<<1)^uint64(x>>63)) }

func writeText(b *strings.Builder, s string) {
	writeUvarint(b, uint64(len(s)))
	b.WriteString(s)
}

// readUvarint reads what writeUvarint wrote at the start of s. Records are only ever made by pack, so
// a malformed one is a bug, and indexing past its end panics rather than inventing a value.
func readUvarint(s string) (uint64, string) {
	var x uint64
	for shift := 0; ; shift += 7 {
		c := s[0]
		s = s[1:]
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, s
		}
	}
}

func readVarint(s string) (int64, string) {
	u, s := readUvarint(s)
	return int64(u>>1) ^ -int64(u&1), s
}

func readText(s string) (string, string) {
	n, s := readUvarint(s)
	return s[:n], s[n:]
}
