package fx

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tributary/tributary"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseECBDaily(t *testing.T) {
	rates, err := ParseECB(bytes.NewReader(readFile(t, "eurofxref.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 30 {
		t.Fatalf("got %d rates, want 30", len(rates))
	}
	want := []Rate{
		{"2023-02-10", "USD", "1.0690"}, // trailing zero kept: the decimal as given
		{"2023-02-10", "JPY", "139.88"},
	}
	if !slices.Equal(rates[:2], want) {
		t.Errorf("first rates %v, want %v", rates[:2], want)
	}
	if last := rates[29]; last != (Rate{"2023-02-10", "ZAR", "19.0834"}) {
		t.Errorf("last rate %v", last)
	}
}

func TestParseECBHistory(t *testing.T) {
	rates, err := ParseECB(bytes.NewReader(readFile(t, "eurofxref-hist.csv")))
	if err != nil {
		t.Fatal(err)
	}
	// 41 columns, 9 of them N/A (CYP EEK LTL LVL MTL ROL SIT SKK TRL) on every row.
	if len(rates) != 3*32 {
		t.Fatalf("got %d rates, want %d", len(rates), 3*32)
	}
	for _, r := range rates {
		if slices.Contains([]string{"CYP", "EEK", "TRL"}, r.Currency) {
			t.Errorf("N/A cell became a rate: %v", r)
		}
	}
	want := []Rate{{"2019-04-10", "USD", "1.1279"}, {"2019-04-10", "JPY", "125.38"}, {"2019-04-10", "BGN", "1.9558"}, {"2019-04-10", "CZK", "25.608"}}
	if !slices.Equal(rates[:4], want) {
		t.Errorf("first rates %v, want %v", rates[:4], want)
	}
	if last := rates[len(rates)-1]; last != (Rate{"2019-04-08", "ZAR", "15.8562"}) {
		t.Errorf("last rate %v", last)
	}
}

func TestParseECBTolerated(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Rate
	}{
		{"no trailing comma", "Date,USD,JPY\n2026-11-20,1.0543,162.45\n",
			[]Rate{{"2026-11-20", "USD", "1.0543"}, {"2026-11-20", "JPY", "162.45"}}},
		{"CRLF, BOM, blank lines, no final newline", "\uFEFFDate, USD, JPY, \r\n\r\n22 November 2026, 1.0543, N/A, \r\n\r\n",
			[]Rate{{"2026-11-22", "USD", "1.0543"}}},
		{"leading zero day", "Date, USD, \n03 June 2021, 1.2187, \n", []Rate{{"2021-06-03", "USD", "1.2187"}}},
		{"empty cell is missing", "Date,USD,JPY,\n2026-11-20,,162.45,\n", []Rate{{"2026-11-20", "JPY", "162.45"}}},
		{"all N/A row", "Date,USD,\n2026-11-20,N/A,\n2026-11-19,1.05,\n", []Rate{{"2026-11-19", "USD", "1.05"}}},
		{"integer rate", "Date,ISK,\n2026-11-20,146,\n", []Rate{{"2026-11-20", "ISK", "146"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseECB(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseECBMalformed(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		line, col int
		msg       string
	}{
		{"empty", "", 1, 0, "no header"},
		{"blank only", "\n\n", 2, 0, "no header"},
		{"header only", "Date,USD,\n", 1, 0, "no data row"},
		{"no Date column", "Day,USD\n2026-11-20,1.05\n", 1, 1, `"Day"`},
		{"no currency", "Date,\n2026-11-20\n", 1, 0, "no currency"},
		{"bad code", "Date,USD,usd\n", 1, 3, `"usd"`},
		{"long code", "Date,USDX\n", 1, 2, "three-letter"},
		{"repeated code", "Date,USD,JPY,USD,\n", 1, 4, "repeats column 2"},
		{"short row", "Date,USD,JPY,\n2026-11-20,1.05,\n", 2, 0, "2 fields, the header has 3"},
		{"long row", "Date,USD,\n2026-11-20,1.05,1.06,\n", 2, 0, "3 fields"},
		{"bad date", "Date,USD,\n2026-13-01,1.05,\n", 2, 1, `"2026-13-01"`},
		{"US date", "Date,USD,\n11/20/2026,1.05,\n", 2, 1, "neither"},
		{"repeated date", "Date,USD,\n2026-11-20,1.05,\n20 November 2026,1.06,\n", 3, 1, "repeats line 2"},
		{"negative rate", "Date,USD,JPY,\n2026-11-20,1.05,-162,\n", 2, 3, `JPY rate "-162"`},
		{"zero rate", "Date,USD,\n2026-11-20,0.0000,\n", 2, 2, "positive decimal"},
		{"exponent", "Date,USD,\n2026-11-20,1e3,\n", 2, 2, "positive decimal"},
		{"fraction", "Date,USD,\n2026-11-20,1/2,\n", 2, 2, "positive decimal"},
		{"comma decimal", "Date;USD\n2026-11-20;1,05\n", 1, 1, "header starts with"},
		{"dangling point", "Date,USD,\n2026-11-20,1.,\n", 2, 2, "positive decimal"},
		{"error after blank lines", "Date,USD,\n\n2026-11-20,1.05,\n\n2026-11-19,x,\n", 5, 2, `USD rate "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseECB(strings.NewReader(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if pe.Line != tc.line || pe.Column != tc.col || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q at line %d column %d, want line %d column %d containing %q", err, pe.Line, pe.Column, tc.line, tc.col, tc.msg)
			}
			if tributary.ErrorCode(err) != tributary.EINVALID || !strings.HasPrefix(tributary.ErrorMessage(err), "ECB rates: line") {
				t.Errorf("coded %s %q, want EINVALID with the location", tributary.ErrorCode(err), tributary.ErrorMessage(err))
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseECBReadError(t *testing.T) {
	_, err := ParseECB(failingReader{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || tributary.ErrorCode(err) != tributary.EINTERNAL {
		t.Errorf("got %v, want the read error, uncoded", err)
	}
}

func FuzzParseECB(f *testing.F) {
	f.Add(readFile(f, "eurofxref.csv"))
	f.Add(readFile(f, "eurofxref-hist.csv"))
	for _, s := range []string{"", "Date,USD\n2026-11-20,1.05\n", "Date, USD, \n1 May 2026, N/A, \n", "Date,USD,USD\n", "Date,\n,\n", "\uFEFFDate,X\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rates, err := ParseECB(bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || tributary.ErrorCode(err) != tributary.EINVALID {
				t.Fatalf("error %v is not a located EINVALID ParseError", err)
			}
			return
		}
		seen := map[Rate]bool{}
		for _, r := range rates {
			if _, err := time.Parse(isoDate, r.Date); err != nil || !isCode(r.Currency) || !isDecimal(r.PerEUR) {
				t.Fatalf("bad rate %+v accepted", r)
			}
			k := Rate{Date: r.Date, Currency: r.Currency}
			if seen[k] {
				t.Fatalf("date and currency twice: %+v", r)
			}
			seen[k] = true
		}
		if _, err := NewTable(rates); err != nil && !slices.ContainsFunc(rates, func(r Rate) bool { return r.Currency == "EUR" }) {
			t.Fatalf("parsed rates rejected by NewTable: %v", err)
		}
	})
}
