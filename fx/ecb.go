// Package fx converts money between currencies with the European Central Bank's euro reference rates,
// exactly: rates stay decimal strings and rationals (math/big.Rat), amounts stay int64 minor units, and a
// missing rate is reported as such, never guessed as 0 or 1:1 (DESIGN §3.2).
package fx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tributary/tributary"
)

// Rate is one ECB reference rate: how many units of Currency one euro bought on Date.
type Rate struct {
	Date     string // YYYY-MM-DD
	Currency string // upper-case three-letter code, as in the file (it may be a retired one such as CYP)
	PerEUR   string // exact positive decimal, as given in the file
}

// ParseError locates malformed ECB input. Column counts comma-separated fields from 1 (the Date column);
// it is 0 when the fault is the line as a whole. Its chain holds an EINVALID coded error, so the web
// layer answers 400 with the message.
type ParseError struct {
	Line   int
	Column int
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Unwrap returns the coded form of the error.
func (e *ParseError) Unwrap() error {
	return tributary.Errorf(tributary.EINVALID, "ECB rates: %s", e.Error())
}

// Date layouts: the history file writes 2026-11-20, the daily file 20 November 2026.
const (
	isoDate  = "2006-01-02"
	longDate = "2 January 2006"
)

// ParseECB reads the ECB's CSV files, either the daily eurofxref.csv ("Date, USD, JPY, …" and one row
// dated like "22 November 2026") or the history eurofxref-hist.csv ("Date,USD,JPY,…" and one row per
// working day dated 2026-11-20). Blanks around cells, one trailing comma per line, CRLF line ends, a
// UTF-8 byte order mark and blank lines are accepted, as the ECB writes them; "N/A" and empty cells are
// missing rates and yield no Rate. Everything else that is off (no Date column, a bad currency code or
// date, a repeated currency or date, a row of the wrong width, a rate that is not a positive plain
// decimal, no data row at all) is a *ParseError naming the line and column. Rates come out in file order,
// then header order.
func ParseECB(r io.Reader) ([]Rate, error) {
	p := ecbParser{dates: map[string]int{}}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if perr := p.line(line); perr != nil {
				return nil, fmt.Errorf("fx: parse ECB: %w", perr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("fx: parse ECB: read: %w", err)
		}
	}
	if p.header == nil {
		return nil, fmt.Errorf("fx: parse ECB: %w", &ParseError{Line: max(p.n, 1), Msg: "no header line (want \"Date,USD,JPY,…\")"})
	}
	if len(p.dates) == 0 {
		return nil, fmt.Errorf("fx: parse ECB: %w", &ParseError{Line: max(p.n, 1), Msg: "no data row after the header"})
	}
	return p.rates, nil
}

type ecbParser struct {
	n      int            // current line number
	header []string       // currency per column; header[0] is "Date"
	dates  map[string]int // date → line it was seen on
	rates  []Rate
}

func (p *ecbParser) line(line string) *ParseError {
	p.n++
	if p.n == 1 {
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return nil
	}
	cells := strings.Split(line, ",")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	if len(cells) > 1 && cells[len(cells)-1] == "" {
		cells = cells[:len(cells)-1] // the ECB ends every line with a comma
	}
	if p.header == nil {
		return p.parseHeader(cells)
	}
	return p.parseRow(cells)
}

func (p *ecbParser) parseHeader(cells []string) *ParseError {
	if !strings.EqualFold(cells[0], "Date") {
		return &ParseError{Line: p.n, Column: 1, Msg: fmt.Sprintf("header starts with %q, want \"Date\"", clip(cells[0]))}
	}
	if len(cells) < 2 {
		return &ParseError{Line: p.n, Msg: "header names no currency"}
	}
	seen := make(map[string]int, len(cells))
	for i, c := range cells[1:] {
		col := i + 2
		if !isCode(c) {
			return &ParseError{Line: p.n, Column: col, Msg: fmt.Sprintf("%q is not a three-letter currency code", clip(c))}
		}
		if prev, dup := seen[c]; dup {
			return &ParseError{Line: p.n, Column: col, Msg: fmt.Sprintf("currency %s repeats column %d", c, prev)}
		}
		seen[c] = col
	}
	p.header = cells
	return nil
}

func (p *ecbParser) parseRow(cells []string) *ParseError {
	if len(cells) != len(p.header) {
		return &ParseError{Line: p.n, Msg: fmt.Sprintf("%d fields, the header has %d", len(cells), len(p.header))}
	}
	day, err := time.Parse(isoDate, cells[0])
	if err != nil {
		day, err = time.Parse(longDate, cells[0])
	}
	if err != nil {
		return &ParseError{Line: p.n, Column: 1, Msg: fmt.Sprintf("date %q is neither 2026-11-20 nor 20 November 2026", clip(cells[0]))}
	}
	date := day.Format(isoDate)
	if prev, dup := p.dates[date]; dup {
		return &ParseError{Line: p.n, Column: 1, Msg: fmt.Sprintf("date %s repeats line %d", date, prev)}
	}
	p.dates[date] = p.n
	for i, v := range cells[1:] {
		if v == "" || v == "N/A" {
			continue
		}
		if !isDecimal(v) {
			return &ParseError{Line: p.n, Column: i + 2, Msg: fmt.Sprintf("%s rate %q is not a positive decimal", p.header[i+1], clip(v))}
		}
		p.rates = append(p.rates, Rate{Date: date, Currency: p.header[i+1], PerEUR: v})
	}
	return nil
}

// isCode reports whether s is three upper-case ASCII letters. Retired codes (CYP, TRL, …) stay valid:
// the history file carries them.
func isCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isDecimal reports whether s is a plain positive decimal: digits, an optional point with digits after
// it, not zero. Signs, exponents and fractions, which big.Rat.SetString would take, are refused.
func isDecimal(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return false
	}
	nonzero := false
	for _, part := range []string{intPart, frac} {
		for i := range len(part) {
			switch c := part[i]; {
			case c < '0' || c > '9':
				return false
			case c != '0':
				nonzero = true
			}
		}
	}
	return nonzero
}

// clip keeps error messages short whatever the input holds.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
