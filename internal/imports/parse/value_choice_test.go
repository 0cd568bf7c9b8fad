package parse

import (
	"strings"
	"testing"
)

func TestBool(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{in: "true", want: true}, {in: "TRUE", want: true}, {in: "True", want: true},
		{in: "ｔｒｕｅ", want: true}, {in: "yes", want: true}, {in: "Y", want: true},
		{in: "1", want: true}, {in: "１", want: true}, {in: "on", want: true}, {in: "ON", want: true},
		{in: "はい", want: true}, {in: "有", want: true}, {in: "あり", want: true},
		{in: "○", want: true}, {in: "〇", want: true}, {in: " はい ", want: true}, {in: "　はい　", want: true},
		{in: "false", want: false}, {in: "No", want: false}, {in: "n", want: false},
		{in: "0", want: false}, {in: "０", want: false}, {in: "off", want: false},
		{in: "いいえ", want: false}, {in: "無", want: false}, {in: "なし", want: false}, {in: "×", want: false},
		{in: "", wantErr: true}, {in: "maybe", wantErr: true}, {in: "2", wantErr: true}, {in: "ok", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Bool(tt.in)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "is not yes or no") {
				t.Errorf("Bool(%q) = %v, %v; want an error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Bool(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCategory(t *testing.T) {
	allowed := []string{"Bronze", "Silver", "Gold", "VIP", "ゴールド", "法人 顧客"}
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "gold", want: "Gold"},
		{in: " GOLD ", want: "Gold"},
		{in: "ｇｏｌｄ", want: "Gold"},
		{in: "ＶＩＰ", want: "VIP"},
		{in: "vip", want: "VIP"},
		{in: "ｺﾞｰﾙﾄﾞ", want: "ゴールド"},
		{in: "ゴールド", want: "ゴールド"},
		{in: "法人　顧客", want: "法人 顧客"},
		{in: "法人  顧客", want: "法人 顧客"},
		{in: "Platinum", wantErr: "「Platinum」 is not one of: Bronze, Silver, Gold, VIP, ゴールド, 法人 顧客"},
		{in: "ごーるど", wantErr: "is not one of"},
		{in: "", wantErr: "is not one of"},
	}
	for _, tt := range tests {
		got, err := Category(tt.in, allowed)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Category(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Category(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
