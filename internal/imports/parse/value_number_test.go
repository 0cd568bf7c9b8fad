package parse

import (
	"strings"
	"testing"
)

func TestNumber(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{in: "1234", want: 1234},
		{in: "1,234", want: 1234},
		{in: "1,234,567.5", want: 1234567.5},
		{in: "１，２３４", want: 1234},
		{in: "１２３４．５", want: 1234.5},
		{in: "¥1,234", want: 1234},
		{in: "￥1,234", want: 1234},
		{in: "1,234円", want: 1234},
		{in: "1,234 円", want: 1234},
		{in: "$12.34", want: 12.34},
		{in: "12.34 USD", want: 12.34},
		{in: "-12.5", want: -12.5},
		{in: "－12.5", want: -12.5},
		{in: "−12.5", want: -12.5},
		{in: "▲1,234", want: -1234},
		{in: "△500円", want: -500},
		{in: "-¥1,234", want: -1234},
		{in: "¥-1,234", want: -1234},
		{in: "+7", want: 7},
		{in: "1.2e3", want: 1200},
		{in: "1.2E-3", want: 0.0012},
		{in: "１．２ｅ３", want: 1200},
		{in: ".5", want: 0.5},
		{in: "0", want: 0},
		{in: "007", want: 7},
		{in: "1,23,4", wantErr: "is not a number"},
		{in: "1234,5", wantErr: "is not a number"},
		{in: ",123", wantErr: "is not a number"},
		{in: "1,2345", wantErr: "is not a number"},
		{in: "12.", wantErr: "is not a number"},
		{in: "1.2.3", wantErr: "is not a number"},
		{in: "--1", wantErr: "is not a number"},
		{in: "NaN", wantErr: "is not a number"},
		{in: "Inf", wantErr: "is not a number"},
		{in: "0x10", wantErr: "is not a number"},
		{in: "1_000", wantErr: "is not a number"},
		{in: "12%", wantErr: "is not a number"},
		{in: "1e", wantErr: "is not a number"},
		{in: "1e99999", wantErr: "is not a number"},
		{in: "1e400", wantErr: "too large"},
		{in: "$12 JPY", wantErr: "is not a number"},
		{in: "abc", wantErr: "「abc」 is not a number (use"},
		{in: "", wantErr: "is empty"},
	}
	for _, tt := range tests {
		got, err := Number(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Number(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Number(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "42", want: 42},
		{in: "1,234", want: 1234},
		{in: "１，２３４", want: 1234},
		{in: "-7", want: -7},
		{in: "▲3", want: -3},
		{in: "12.00", want: 12},
		{in: "1,234円", want: 1234},
		{in: "9223372036854775807", want: 9223372036854775807},
		{in: "-9223372036854775808", want: -9223372036854775808},
		{in: "9223372036854775808", wantErr: "too large"},
		{in: "12.5", wantErr: "has a fraction"},
		{in: "1e3", wantErr: "is not a whole number"},
		{in: ".0", wantErr: "is not a whole number"},
		{in: "1,23,4", wantErr: "is not a whole number"},
		{in: "", wantErr: "is empty"},
		{in: "四十二", wantErr: "「四十二」 is not a whole number"},
	}
	for _, tt := range tests {
		got, err := Int(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Int(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Int(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		in           string
		def          string
		want         int64
		wantCurrency string
		wantErr      string
	}{
		{in: "¥1,234", want: 1234, wantCurrency: "JPY"},
		{in: "￥１，２３４", want: 1234, wantCurrency: "JPY"},
		{in: `\1,234`, want: 1234, wantCurrency: "JPY"},
		{in: "1,234円", want: 1234, wantCurrency: "JPY"},
		{in: "１，２３４円", want: 1234, wantCurrency: "JPY"},
		{in: "¥1,234円", want: 1234, wantCurrency: "JPY"},
		{in: "¥100.00", want: 100, wantCurrency: "JPY"},
		{in: "$12.34", want: 1234, wantCurrency: "USD"},
		{in: "$12", want: 1200, wantCurrency: "USD"},
		{in: "$1.5", want: 150, wantCurrency: "USD"},
		{in: "$1.500", want: 150, wantCurrency: "USD"},
		{in: "12.34 USD", want: 1234, wantCurrency: "USD"},
		{in: "12.34usd", want: 1234, wantCurrency: "USD"},
		{in: "USD 12.34", want: 1234, wantCurrency: "USD"},
		{in: "€5", want: 500, wantCurrency: "EUR"},
		{in: "1.234 KWD", want: 1234, wantCurrency: "KWD"},
		{in: "-¥500", want: -500, wantCurrency: "JPY"},
		{in: "▲500円", want: -500, wantCurrency: "JPY"},
		{in: "$-0.01", want: -1, wantCurrency: "USD"},
		{in: "1,234", def: "JPY", want: 1234, wantCurrency: "JPY"},
		{in: "12.34", def: "usd", want: 1234, wantCurrency: "USD"},
		{in: "$12.34", def: "JPY", want: 1234, wantCurrency: "USD"},
		{in: "1,234", wantErr: "has no currency"},
		{in: "1,234", def: "XXX", wantErr: "has no currency"},
		{in: "¥12.5", wantErr: "JPY has no minor unit"},
		{in: "$12.345", wantErr: "more than 2 digits"},
		{in: "$12 JPY", wantErr: "is not an amount of money"},
		{in: "12 ABC", wantErr: "is not an amount of money"},
		{in: "1e3円", wantErr: "is not an amount of money"},
		{in: "1,23,4円", wantErr: "is not an amount of money"},
		{in: "¥99999999999999999999", wantErr: "too large"},
		{in: "", wantErr: "is empty"},
	}
	for _, tt := range tests {
		got, cur, err := MoneyIn(tt.in, tt.def)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("MoneyIn(%q, %q) = %v %s, %v; want an error containing %q", tt.in, tt.def, got, cur, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || cur != tt.wantCurrency {
			t.Errorf("MoneyIn(%q, %q) = %v %s, %v; want %v %s", tt.in, tt.def, got, cur, err, tt.want, tt.wantCurrency)
		}
		if tt.def == "" {
			if m, c, err := Money(tt.in); m != got || c != cur || err != nil {
				t.Errorf("Money(%q) = %v %s, %v; MoneyIn gave %v %s", tt.in, m, c, err, got, cur)
			}
		}
	}
}
