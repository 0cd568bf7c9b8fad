// Package parse reads CSV and JSON Lines import files and converts their text values into typed
// values, for imports into the customer data hub (contacts, accounts, purchases, contracts,
// tickets). It is pure Go and streaming: a Reader holds one record at a time, and nothing here
// touches a database.
//
// Japanese files are first-class:
//
//   - CSV and JSON Lines may be UTF-8 (with or without a byte-order mark) or Shift_JIS (as Excel
//     on Japanese Windows saves them). The Reader passes ASCII through untouched and decides at the
//     first non-ASCII byte: if the following bytes (up to 4 KiB) are valid UTF-8 the file is read
//     as UTF-8, otherwise it is decoded as Shift_JIS (Windows-31J, golang.org/x/text/encoding/japanese).
//     A UTF-8 file that later holds invalid UTF-8 gives a *LineError for that record.
//   - Every converter applies Unicode NFKC first, so full-width digits, letters and punctuation
//     (１２３, ＡＢＣ, ／, －, ￥) and era ligatures (㋿, ㍻) are read as their ordinary forms.
//   - Dates accept Japanese era years (令和, 平成, 昭和, 大正, 明治, abbreviated R, H, S, T, M) with the
//     era boundaries checked, and numbers accept yen signs, 円 and ▲ (accounting minus).
//
// Conversion errors are *errs.Error values of kind errs.KindInvalid whose message quotes the input
// in 「」 and says what was expected; Record.Invalid turns one into a *LineError naming the line
// and field.
package parse
