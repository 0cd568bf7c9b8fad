package normalize

import (
	"strings"
	"testing"

	"github.com/kizuna-community/kizuna/internal/errs"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  taro  ", "taro"},
		{"ＴＡＲＯ　ＹＡＭＡＤＡ", "TARO YAMADA"},      // full-width letters, U+3000
		{"山田　　太郎", "山田 太郎"},                 // ideographic spaces collapse
		{"\u3000山田\u3000太郎\u3000", "山田 太郎"}, // and are trimmed
		{"ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"},             // half-width katakana, voiced mark joins
		{"ｶﾞｷﾞｸﾞｹﾞｺﾞ ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "ガギグゲゴ パピプペポ"},
		{"ｻﾄｳ ｹﾝｲﾁ", "サトウ ケンイチ"},
		{"ｰ", "ー"}, // half-width long vowel mark
		{"１２３－４５６", "123-456"},
		{"（株）キズナ", "(株)キズナ"},
		{"㈱キズナ", "(株)キズナ"}, // parenthesised ideograph expands
		{"a\t\n b\r\nc", "a b c"},
		{"zero\u200Bwidth\uFEFF", "zerowidth"},
		{"e\u200B\u0301", "é"}, // removing ZWSP first keeps the result in NFKC
		{"Ａ\u00A0Ｂ", "A B"},    // no-break space
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"Taro", "Taro"}, // case is kept
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Text(tt.want); got != tt.want {
			t.Errorf("Text(%q) not stable: %q", tt.want, got)
		}
	}
}

func TestEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"taro@example.co.jp", "taro@example.co.jp"},
		{"ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ", "taro@example.co.jp"},
		{"taro＠kizuna.jp", "taro@kizuna.jp"},
		{"　Taro.Yamada@Kizuna.JP　", "taro.yamada@kizuna.jp"},
		{"<taro@kizuna.jp>", "taro@kizuna.jp"},
		{"mailto:taro@kizuna.jp", "taro@kizuna.jp"},
		{"MAILTO:Taro@Kizuna.jp", "taro@kizuna.jp"},
		{"<mailto:taro@kizuna.jp>", "taro@kizuna.jp"},
		{"mailto:<taro@kizuna.jp>", "taro@kizuna.jp"},
		{"＜ｔａｒｏ＠ｋｉｚｕｎａ．ｊｐ＞", "taro@kizuna.jp"},
		{"taro@kizuna。co。jp", "taro@kizuna.co.jp"},           // ideographic full stop
		{"taro@kizuna｡jp", "taro@kizuna.jp"},                 // half-width ideographic full stop
		{"taro@kizuna.jp.", "taro@kizuna.jp"},                // FQDN dot
		{"t.a.r.o+news@gmail.com", "t.a.r.o+news@gmail.com"}, // Gmail dots and tags kept
		{"taro_y-1@mail.kizuna.co.jp", "taro_y-1@mail.kizuna.co.jp"},
		{"o'brien@kizuna.ie", "o'brien@kizuna.ie"},
		{"taro@日本語.jp", "taro@日本語.jp"},
		{"taro@ｷｽﾞﾅ.jp", "taro@キズナ.jp"},
		{"taro@xn--wgv71a119e.jp", "taro@xn--wgv71a119e.jp"},
	}
	for _, tt := range tests {
		got, err := Email(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Email(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			continue
		}
		if again, err := Email(got); err != nil || again != got {
			t.Errorf("Email(%q) not stable: %q, %v", got, again, err)
		}
	}
}

func TestEmailInvalid(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", "empty"},
		{"　", "empty"},
		{"taro", "missing @"},
		{"taro@", "nothing after the @"},
		{"@kizuna.jp", "nothing before the @"},
		{"taro@kizuna", "no dot"},
		{"taro@@kizuna.jp", "more than one @"},
		{"taro@a@kizuna.jp", "more than one @"},
		{"taro yamada@kizuna.jp", "not allowed"},
		{"山田@kizuna.jp", "not allowed"},
		{".taro@kizuna.jp", "dot"},
		{"taro.@kizuna.jp", "dot"},
		{"ta..ro@kizuna.jp", "dot"},
		{"taro@kizuna..jp", "empty label"},
		{"taro@-kizuna.jp", "hyphen"},
		{"taro@kizuna_x.jp", "not allowed"},
		{"taro@192.168.0.1", "number"},
		{"\"taro\"@kizuna.jp", "not allowed"},
		{"Taro <taro@kizuna.jp>", "not allowed"},
		{"mailto:taro@kizuna.jp?subject=hi", "not allowed"},
		{strings.Repeat("a", 65) + "@kizuna.jp", "64"},
		{"taro@" + strings.Repeat("a", 64) + ".jp", "63"},
		{"taro@" + strings.Repeat("abcdefgh.", 30) + "jp", "253"},
	}
	for _, tt := range tests {
		got, err := Email(tt.in)
		if err == nil {
			t.Errorf("Email(%q) = %q, want error", tt.in, got)
			continue
		}
		if errs.KindOf(err) != errs.KindInvalid || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Email(%q) error = %v, want invalid containing %q", tt.in, err, tt.msg)
		}
	}
}

func TestPhone(t *testing.T) {
	tests := []struct{ in, region, want string }{
		{"090-1234-5678", "JP", "+819012345678"},
		{"09012345678", "JP", "+819012345678"},
		{"090 1234 5678", "", "+819012345678"},
		{"０９０－１２３４－５６７８", "JP", "+819012345678"}, // full-width digits and hyphen-minus
		{"０９０ー１２３４ー５６７８", "JP", "+819012345678"}, // katakana long vowel mark as hyphen
		{"090ｰ1234ｰ5678", "JP", "+819012345678"}, // half-width long vowel mark
		{"090‐1234‐5678", "JP", "+819012345678"}, // U+2010 hyphen
		{"090–1234—5678", "JP", "+819012345678"}, // en and em dashes
		{"090−1234−5678", "JP", "+819012345678"}, // U+2212 minus sign
		{"090―1234―5678", "JP", "+819012345678"}, // U+2015 horizontal bar
		{"０９０　１２３４　５６７８", "JP", "+819012345678"}, // ideographic spaces
		{"(090)1234-5678", "JP", "+819012345678"},
		{"03-1234-5678", "JP", "+81312345678"},
		{"０３（１２３４）５６７８", "JP", "+81312345678"},
		{"03.1234.5678", "JP", "+81312345678"},
		{"06-6123-4567", "JP", "+81661234567"},
		{"0467-12-3456", "JP", "+81467123456"},
		{"0120-123-456", "JP", "+81120123456"}, // toll-free
		{"０１２０－１２３－４５６", "JP", "+81120123456"},
		{"0800-123-4567", "JP", "+818001234567"}, // toll-free, 10-digit
		{"0570-012-345", "JP", "+81570012345"},   // Navi Dial
		{"050-1234-5678", "JP", "+815012345678"}, // IP phone
		{"070-1234-5678", "JP", "+817012345678"},
		{"+81 90 1234 5678", "JP", "+819012345678"},
		{"+81-90-1234-5678", "US", "+819012345678"}, // "+" wins over the default region
		{"＋８１　９０　１２３４　５６７８", "JP", "+819012345678"},
		{"+81 090 1234 5678", "JP", "+819012345678"}, // trunk 0 kept by mistake
		{"+81090-1234-5678", "JP", "+819012345678"},
		{"+81(0)90-1234-5678", "JP", "+819012345678"},
		{"+81 (0)3-1234-5678", "JP", "+81312345678"},
		{"81-90-1234-5678", "JP", "+819012345678"}, // country code without "+"
		{"81312345678", "JP", "+81312345678"},
		{"010-81-90-1234-5678", "JP", "+819012345678"}, // Japan's international prefix
		{"010-1-415-555-0100", "JP", "+14155550100"},
		{"tel:+81-90-1234-5678", "JP", "+819012345678"},
		{"TEL:090-1234-5678", "JP", "+819012345678"},
		{"+1 (415) 555-0100", "JP", "+14155550100"},
		{"+1 (415) 555-0100", "US", "+14155550100"},
		{"(415) 555-0100", "US", "+14155550100"},
		{"415.555.0100", "us", "+14155550100"},
		{"1-415-555-0100", "US", "+14155550100"},
		{"011 81 90 1234 5678", "US", "+819012345678"},
		{"+44 20 7946 0018", "JP", "+442079460018"},
		{"+44 (0)20 7946 0018", "JP", "+442079460018"},
		{"020 7946 0018", "GB", "+442079460018"},
		{"010-1234-5678", "KR", "+821012345678"},
		{"0912-345-678", "TW", "+886912345678"},
		{"+49 30 1234567", "JP", "+49301234567"}, // unknown region rules: only E.164's limits
	}
	for _, tt := range tests {
		got, err := Phone(tt.in, tt.region)
		if err != nil || got != tt.want {
			t.Errorf("Phone(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
			continue
		}
		if again, err := Phone(got, tt.region); err != nil || again != got {
			t.Errorf("Phone(%q) not stable: %q, %v", got, again, err)
		}
	}
}

func TestPhoneInvalid(t *testing.T) {
	tests := []struct{ in, region, msg string }{
		{"", "JP", "no digits"},
		{"---", "JP", "no digits"},
		{"abc", "JP", "letters"},
		{"090-1234-567８ext", "JP", "letters"},
		{"03-1234-5678 内線12", "JP", "letters"},
		{"090-1234-5678 ext. 3", "JP", "letters"},
		{"090-1234-5678#1", "JP", "\"#\""},
		{"090*1234", "JP", "\"*\""},
		{"81+90", "JP", "only at the start"},
		{"1234-5678", "JP", "must start with 0"}, // local number without area code
		{"090-1234-567", "JP", "too short"},
		{"090-1234-56789", "JP", "too long"},
		{"0120-123-45", "JP", "too short"},
		{"+81 90 1234 567", "JP", "too short"},
		{"+81 90 1234 56789", "JP", "too long"},
		{"+1 415 555 010", "US", "too short"},
		{"+1 015 555 0100", "US", "cannot start with 0 or 1"},
		{"555-0100", "US", "too short"},
		{"+1234567890123456", "JP", "15 digits"},
		{"+0 90 1234 5678", "JP", "cannot start with 0"},
		{"+123", "JP", "too short"},
		{"+81 00 1234 5678", "JP", "cannot start with 0"},
		{"81 0 000000000", "JP", "cannot start with 0"},
		{"090-1234-5678", "XX", "unsupported default region"},
	}
	for _, tt := range tests {
		got, err := Phone(tt.in, tt.region)
		if err == nil {
			t.Errorf("Phone(%q, %q) = %q, want error", tt.in, tt.region, got)
			continue
		}
		if errs.KindOf(err) != errs.KindInvalid || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Phone(%q, %q) error = %v, want invalid containing %q", tt.in, tt.region, err, tt.msg)
		}
	}
}

func TestValue(t *testing.T) {
	tests := []struct{ typ, in, want string }{
		{"email", "ＴＡＲＯ＠ＫＩＺＵＮＡ．ＪＰ", "taro@kizuna.jp"},
		{"EMAIL", "taro@kizuna.jp", "taro@kizuna.jp"},
		{"phone", "090-1234-5678", "+819012345678"},
		{"phone", "０３（１２３４）５６７８", "+81312345678"},
		{"user_id", "  User-42 ", "User-42"}, // case kept
		{"user_id", "ｕｓｅｒ４２", "user42"},
		{"user_id", "1", "1"},
		{"anonymous_id", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{"anonymous_id", "abc.DEF_123", "abc.DEF_123"},
		{"member_id", "ＭＢ－０００１２３", "MB-000123"},
		{"store_member", "1234 5678 9012", "1234 5678 9012"},
		{"store_member:shibuya", "A-1", "A-1"},
		{"crm:salesforce", "0035g00000ABCDe", "0035g00000ABCDe"},
		{"CRM:Salesforce", "0035g00000ABCDeAAX", "0035g00000ABCDeAAX"},
		{"crm:hubspot", "12345", "12345"},
		{"social:line", "U4af4980629abcdef0123456789ABCDEF", "U4af4980629abcdef0123456789abcdef"},
		{"social:line", "ｕ４ａｆ４９８０６２９ａｂｃｄｅｆ０１２３４５６７８９ａｂｃｄｅｆ", "U4af4980629abcdef0123456789abcdef"},
		{"social:x", "@Kizuna", "@Kizuna"},
		{"loyalty_card", "ﾎﾟｲﾝﾄ-001", "ポイント-001"},
		{"custom:shop.jp-1", "x1", "x1"},
	}
	for _, tt := range tests {
		got, err := Value(tt.typ, tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Value(%q, %q) = %q, %v; want %q", tt.typ, tt.in, got, err, tt.want)
			continue
		}
		if again, err := Value(tt.typ, got); err != nil || again != got {
			t.Errorf("Value(%q, %q) not stable: %q, %v", tt.typ, got, again, err)
		}
	}
}

func TestValueInvalid(t *testing.T) {
	tests := []struct{ typ, in, field, msg string }{
		{"email", "taro", "value", "not a valid email identifier: missing @"},
		{"phone", "090-abcd", "value", "not a valid phone identifier: contains letters"},
		{"user_id", "", "value", "user_id identifier: empty"},
		{"user_id", "　", "value", "empty"},
		{"member_id", strings.Repeat("x", 256), "value", "longer than 255"},
		{"member_id", "a\x00b", "value", "control"},
		{"anonymous_id", "a\xffb", "value", "UTF-8"},
		{"social:line", "U123", "value", "social:line identifier: a LINE user id"},
		{"social:line", "Ug4af4980629abcdef0123456789abcde", "value", "LINE"},
		{"", "x", "type", "not a name"},
		{"e mail", "x", "type", "not a name"},
		{"1email", "x", "type", "not a name"},
		{"crm", "x", "type", "needs a system"},
		{"social", "x", "type", "needs a system"},
		{"social:", "x", "type", "invalid system"},
		{"crm:sales force", "x", "type", "invalid system"},
		{"email:work", "x", "type", "takes no system"},
		{"phone:us", "x", "type", "takes no system"},
		{"user_id:a", "x", "type", "takes no system"},
	}
	for _, tt := range tests {
		got, err := Value(tt.typ, tt.in)
		if err == nil {
			t.Errorf("Value(%q, %q) = %q, want error", tt.typ, tt.in, got)
			continue
		}
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.KindInvalid || e.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Value(%q, %q) error = %v, want invalid %s containing %q", tt.typ, tt.in, err, tt.field, tt.msg)
		}
	}
}

func TestParseType(t *testing.T) {
	tests := []struct{ in, base, system string }{
		{"email", "email", ""},
		{"Crm:SalesForce", "crm", "salesforce"},
		{"ｓｏｃｉａｌ：ｌｉｎｅ", "social", "line"},
		{"store_member:shop-12", "store_member", "shop-12"},
		{"loyalty", "loyalty", ""},
	}
	for _, tt := range tests {
		base, sys, err := ParseType(tt.in)
		if err != nil || string(base) != tt.base || sys != tt.system {
			t.Errorf("ParseType(%q) = %q, %q, %v; want %q, %q", tt.in, base, sys, err, tt.base, tt.system)
		}
	}
}

func TestJunk(t *testing.T) {
	junk := []string{
		"", " ", "　", "null", "NULL", "Null", "nil", "none", "None", "undefined", "anonymous",
		"unknown", "test", "TEST", "ｔｅｓｔ", "n/a", "N/A", "na", "-", "ー", "－", "0", "00", "0-0",
		"-1", "void", "NaN", "true", "false", "[object Object]", "abc123", "guest",
		"0000", "1111", "xxxx", "XXXX", "ｘｘｘｘ", "ああああ", "....", "?", "???", "***",
		"1234", "12345678", "1234567890", "abcd", "qwerty", "asdf",
		"なし", "ナシ", "ﾅｼ", "無し", "不明", "未設定", "未入力", "未登録", "該当なし", "特になし", "テスト", "ﾃｽﾄ", "ゲスト",
		"test@test.com", "test@gmail.com", "null@kizuna.jp", "xxxx@gmail.com",
		"noreply@kizuna.jp", "no-reply@kizuna.jp", "donotreply@kizuna.jp", "do-not-reply@kizuna.jp",
		"mailer-daemon@kizuna.jp", "taro@example.com", "taro@example.net", "taro@example.org",
		"taro@example.jp", "taro@example.co.jp", "taro@example.ne.jp", "taro@mail.example",
		"taro@foo.test", "taro@foo.invalid", "taro@localhost", "taro@test.co.jp",
		"ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ",
		"+819000000000", "+819011111111",
	}
	for _, v := range junk {
		if !Junk(v) {
			t.Errorf("Junk(%q) = false, want true", v)
		}
	}
	ok := []string{
		"taro", "1", "42", "11", "111", "123", "abc", "x1", "0001", "10", "nonexistent", "testing",
		"nullable", "山田太郎", "ヤマダ", "U4af4980629abcdef0123456789abcdef",
		"6f9619ff-8b86-d011-b42d-00c04fc964ff", "taro@kizuna.jp", "info@kizuna.co.jp",
		"taro@example-shop.jp", "taro@myexample.com", "taro@example.kizuna.jp", "taro@testing.com",
		"+819012345678", "+81312345678", "+14155550100", "+81120123456",
	}
	for _, v := range ok {
		if Junk(v) {
			t.Errorf("Junk(%q) = true, want false", v)
		}
	}
}

// FuzzValue checks that Value never panics, that what it returns is stable under a second pass,
// and that Text, Email and Phone are stable too.
func FuzzValue(f *testing.F) {
	seeds := []struct{ typ, v string }{
		{"email", "ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ"},
		{"email", "<mailto:Taro@Kizuna。jp.>"},
		{"phone", "０３（１２３４）５６７８"},
		{"phone", "+81 (0)90ー1234ー5678"},
		{"phone", "81-90-1234-5678"},
		{"phone", "010-1-415-555-0100"},
		{"user_id", "ﾔﾏﾀﾞ　ﾀﾛｳ"},
		{"anonymous_id", "6F9619FF-8B86-D011-B42D-00C04FC964FF"},
		{"crm:salesforce", "0035g00000ABCDe"},
		{"social:line", "U4af4980629abcdef0123456789ABCDEF"},
		{"member_id", "e\u200B\u0301"},
		{"custom", "\u00A8x"},
		{"email", "taro@İSTANBUL.tr"},
	}
	for _, s := range seeds {
		f.Add(s.typ, s.v)
	}
	f.Fuzz(func(t *testing.T, typ, v string) {
		out, err := Value(typ, v)
		if err == nil {
			again, err := Value(typ, out)
			if err != nil || again != out {
				t.Fatalf("Value(%q, %q) = %q, but Value(%q, %q) = %q, %v", typ, v, out, typ, out, again, err)
			}
			_ = Junk(out)
		}
		if s := Text(v); Text(s) != s {
			t.Fatalf("Text not stable for %q: %q then %q", v, s, Text(s))
		}
		if e, err := Email(v); err == nil {
			if again, err := Email(e); err != nil || again != e {
				t.Fatalf("Email(%q) = %q, then %q, %v", v, e, again, err)
			}
		}
		if p, err := Phone(v, "JP"); err == nil {
			if again, err := Phone(p, "US"); err != nil || again != p {
				t.Fatalf("Phone(%q) = %q, then %q, %v", v, p, again, err)
			}
		}
	})
}
