package normalize_test

import (
	"fmt"

	"github.com/kizuna-community/kizuna/internal/identity/normalize"
)

func ExampleValue() {
	for _, in := range []struct{ typ, v string }{
		{"email", "ＴＡＲＯ＠ＫＩＺＵＮＡ．ＣＯ．ＪＰ"},
		{"phone", "０９０ー１２３４ー５６７８"},
		{"phone", "+81 (0)3-1234-5678"},
		{"member_id", "ＭＢ－０００１２３"},
		{"social:line", "U4AF4980629ABCDEF0123456789ABCDEF"},
		{"phone", "090-1234-567"},
	} {
		out, err := normalize.Value(in.typ, in.v)
		fmt.Printf("%q %v junk=%v\n", out, err, normalize.Junk(out))
	}
	// Output:
	// "taro@kizuna.co.jp" <nil> junk=false
	// "+819012345678" <nil> junk=false
	// "+81312345678" <nil> junk=false
	// "MB-000123" <nil> junk=false
	// "U4af4980629abcdef0123456789abcdef" <nil> junk=false
	// "" value: not a valid phone identifier: too short for +8190 junk=true
}
