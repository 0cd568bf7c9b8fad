package imports

import (
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// The kinds of file Run imports.
const (
	KindContacts  = "contacts"
	KindAccounts  = "accounts"
	KindPurchases = "purchases"
	KindContracts = "contracts"
	KindTickets   = "tickets"
	KindConsents  = "consents"
)

// Kinds lists the kinds in the order help texts show them.
var Kinds = []string{KindContacts, KindAccounts, KindPurchases, KindContracts, KindTickets, KindConsents}

// FieldType is how a column's text is converted.
type FieldType string

// The field types, each read by the parse converter of the same name.
const (
	TypeText     FieldType = "text"
	TypeDate     FieldType = "date"
	TypeDateTime FieldType = "datetime"
	TypeNumber   FieldType = "number"
	TypeMoney    FieldType = "money"
	TypeBool     FieldType = "bool"
	TypeCategory FieldType = "category"
)

// Field is one field a kind reads.
type Field struct {
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required,omitempty"`
	// Values are the allowed values of a category, as stored.
	Values []string `json:"values,omitempty"`
	// Synonyms maps other spellings of a category value (e.g. 解約) to the value (cancelled).
	Synonyms map[string]string `json:"-"`
	// Aliases are the headers, besides Name, that map to the field by default. They are matched
	// like Name: ignoring case, width, spaces, '_' and '-'.
	Aliases []string `json:"aliases,omitempty"`
}

// choices are the spellings parse.Category accepts for a category field.
func (f Field) choices() []string {
	out := slices.Clone(f.Values)
	for s := range f.Synonyms {
		out = append(out, s)
	}
	slices.Sort(out[len(f.Values):])
	return out
}

// Kind describes one kind of import: its fields and how rows are told apart.
type Kind struct {
	Name   string  `json:"name"`
	Fields []Field `json:"fields"`
	// Traits says that columns which map to no field are kept as profile traits (contacts)
	// rather than ignored.
	Traits bool `json:"traits,omitempty"`
	// Key is the field that identifies a row across imports (the external id), "" for contacts,
	// which are identified by their identifiers.
	Key string `json:"key,omitempty"`
}

// Field returns the field called name.
func (k *Kind) Field(name string) (Field, bool) {
	for _, f := range k.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// The identifier columns of a customer, shared by contacts, purchases and tickets.
var customerFields = []Field{
	{Name: "email", Type: TypeText, Aliases: []string{"e-mail", "mail", "mail_address", "email_address", "メールアドレス", "メール", "Eメール", "Eメールアドレス", "電子メール"}},
	{Name: "phone", Type: TypeText, Aliases: []string{"tel", "telephone", "phone_number", "mobile", "電話番号", "電話", "携帯電話", "携帯電話番号", "携帯番号", "TEL"}},
	{Name: "user_id", Type: TypeText, Aliases: []string{"userid", "ユーザーID", "ユーザID", "会員ID"}},
	{Name: "crm_id", Type: TypeText, Aliases: []string{"customer_id", "顧客ID", "顧客番号", "顧客コード"}},
	{Name: "store_member", Type: TypeText, Aliases: []string{"store_member_number", "membership_number", "member_number", "会員番号", "店舗会員番号", "ポイントカード番号"}},
}

var accountRef = Field{Name: "account_external_id", Type: TypeText, Aliases: []string{"account_id", "company_id", "会社ID", "取引先ID", "企業ID", "法人ID"}}

var currencyField = Field{Name: "currency", Type: TypeText, Aliases: []string{"通貨", "通貨コード"}}

var kinds = map[string]*Kind{
	KindContacts: {
		Name:   KindContacts,
		Traits: true,
		Fields: append(slices.Clone(customerFields),
			accountRef,
			Field{Name: "name", Type: TypeText, Aliases: []string{"full_name", "氏名", "名前", "お名前", "フルネーム"}},
			Field{Name: "first_name", Type: TypeText, Aliases: []string{"given_name", "名", "下の名前"}},
			Field{Name: "last_name", Type: TypeText, Aliases: []string{"family_name", "surname", "姓", "苗字", "名字"}},
			Field{Name: "name_kana", Type: TypeText, Aliases: []string{"kana", "フリガナ", "ふりがな", "氏名カナ", "氏名(カナ)", "カナ"}},
			Field{Name: "company", Type: TypeText, Aliases: []string{"company_name", "organization", "会社名", "会社", "企業名", "勤務先"}},
			Field{Name: "title", Type: TypeText, Aliases: []string{"job_title", "役職", "肩書"}},
			Field{Name: "plan", Type: TypeText, Aliases: []string{"プラン"}},
			Field{Name: "birthday", Type: TypeDate, Aliases: []string{"birthdate", "date_of_birth", "誕生日", "生年月日"}},
			Field{Name: "newsletter", Type: TypeBool, Aliases: []string{"opt_in", "メルマガ", "メルマガ購読", "メールマガジン"}},
			Field{Name: "points", Type: TypeNumber, Aliases: []string{"ポイント", "保有ポイント"}},
			Field{Name: "address", Type: TypeText, Aliases: []string{"住所"}},
			Field{Name: "postal_code", Type: TypeText, Aliases: []string{"zip", "zip_code", "郵便番号"}},
			Field{Name: "prefecture", Type: TypeText, Aliases: []string{"都道府県"}},
		),
	},
	KindAccounts: {
		Name: KindAccounts,
		Key:  "external_id",
		Fields: []Field{
			{Name: "external_id", Type: TypeText, Required: true, Aliases: []string{"id", "account_id", "company_id", "会社ID", "取引先ID", "企業ID", "法人ID", "顧客ID"}},
			{Name: "name", Type: TypeText, Required: true, Aliases: []string{"company", "company_name", "account_name", "会社名", "取引先名", "企業名", "社名", "法人名"}},
			{Name: "domain", Type: TypeText, Aliases: []string{"website", "ドメイン", "ウェブサイト"}},
			{Name: "industry", Type: TypeText, Aliases: []string{"業種", "業界"}},
			{Name: "plan", Type: TypeText, Aliases: []string{"プラン", "契約プラン"}},
		},
	},
	KindPurchases: {
		Name: KindPurchases,
		Key:  "external_id",
		Fields: append([]Field{
			{Name: "external_id", Type: TypeText, Required: true, Aliases: []string{"id", "order_id", "purchase_id", "注文ID", "注文番号", "購入ID", "受注番号", "伝票番号"}},
			{Name: "amount", Type: TypeMoney, Required: true, Aliases: []string{"total", "price", "amount_total", "金額", "合計", "合計金額", "購入金額", "売上", "税込金額"}},
			currencyField,
			{Name: "purchased_at", Type: TypeDate, Required: true, Aliases: []string{"date", "order_date", "purchase_date", "ordered_at", "購入日", "注文日", "購入日時", "注文日時", "売上日"}},
			{Name: "product", Type: TypeText, Aliases: []string{"product_name", "item", "商品", "商品名", "品名"}},
			accountRef,
		}, customerFields...),
	},
	KindContracts: {
		Name: KindContracts,
		Key:  "external_id",
		Fields: []Field{
			{Name: "external_id", Type: TypeText, Required: true, Aliases: []string{"id", "contract_id", "契約ID", "契約番号"}},
			withRequired(accountRef, "顧客ID"),
			{Name: "plan", Type: TypeText, Aliases: []string{"プラン", "契約プラン"}},
			{Name: "status", Type: TypeCategory, Required: true, Values: []string{"active", "cancelled", "expired"},
				Synonyms: map[string]string{"有効": "active", "契約中": "active", "canceled": "cancelled", "解約": "cancelled", "解約済み": "cancelled",
					"キャンセル": "cancelled", "期限切れ": "expired", "満了": "expired", "終了": "expired"},
				Aliases: []string{"ステータス", "状態", "契約状況", "契約ステータス"}},
			{Name: "starts_on", Type: TypeDate, Required: true, Aliases: []string{"start_date", "started_on", "開始日", "契約開始日", "契約日"}},
			{Name: "renews_on", Type: TypeDate, Aliases: []string{"renewal_date", "end_date", "更新日", "契約更新日", "次回更新日"}},
			{Name: "amount", Type: TypeMoney, Required: true, Aliases: []string{"price", "金額", "契約金額", "月額", "年額"}},
			currencyField,
		},
	},
	KindTickets: {
		Name: KindTickets,
		Key:  "external_id",
		Fields: append([]Field{
			{Name: "external_id", Type: TypeText, Required: true, Aliases: []string{"id", "ticket_id", "チケットID", "チケット番号", "問い合わせ番号", "問合せ番号"}},
			{Name: "subject", Type: TypeText, Aliases: []string{"title", "件名", "タイトル", "問い合わせ内容"}},
			{Name: "status", Type: TypeCategory, Required: true, Values: []string{"open", "pending", "solved", "closed"},
				Synonyms: map[string]string{"new": "open", "未対応": "open", "新規": "open", "オープン": "open", "対応中": "pending", "保留": "pending",
					"保留中": "pending", "解決": "solved", "解決済み": "solved", "完了": "closed", "クローズ": "closed", "終了": "closed"},
				Aliases: []string{"ステータス", "状態", "対応状況"}},
			{Name: "priority", Type: TypeCategory, Values: []string{"low", "normal", "high", "urgent"},
				Synonyms: map[string]string{"低": "low", "中": "normal", "普通": "normal", "通常": "normal", "高": "high", "緊急": "urgent"},
				Aliases:  []string{"優先度", "重要度"}},
			{Name: "opened_at", Type: TypeDate, Required: true, Aliases: []string{"created_at", "opened", "受付日", "起票日", "作成日", "問い合わせ日"}},
			{Name: "solved_at", Type: TypeDate, Aliases: []string{"solved", "resolved_at", "解決日", "完了日"}},
			accountRef,
		}, customerFields...),
	},
	KindConsents: {
		Name: KindConsents,
		Fields: append([]Field{
			{Name: "channel", Type: TypeCategory, Required: true, Values: []string{"email", "line", "web_push", "sms", "phone", "in_app"},
				Synonyms: consentChannelWords, Aliases: []string{"チャネル", "チャンネル", "配信チャネル", "連絡手段", "媒体", "medium"}},
			{Name: "purpose", Type: TypeText, Required: true, Aliases: []string{"目的", "利用目的", "同意目的", "配信目的", "配信種別", "種別", "consent_purpose"}},
			{Name: "status", Type: TypeCategory, Required: true, Values: []string{"opted_in", "opted_out", "unknown"}, Synonyms: consentStatusWords,
				Aliases: []string{"consent", "consent_status", "opt_in_status", "subscription_status", "同意状況", "同意", "同意ステータス", "同意有無",
					"ステータス", "状態", "配信希望", "購読状況"}},
			{Name: "recorded_at", Type: TypeDateTime, Required: true, Aliases: []string{"consented_at", "date", "timestamp", "updated_at", "changed_at",
				"同意日", "同意日時", "取得日", "取得日時", "記録日", "記録日時", "変更日", "変更日時", "更新日時"}},
			{Name: "text_version", Type: TypeText, Aliases: []string{"version", "policy_version", "terms_version", "wording_version", "文言バージョン",
				"規約バージョン", "同意文言バージョン", "同意文書バージョン", "プライバシーポリシー版", "規約版"}},
			{Name: "ip", Type: TypeText, Aliases: []string{"ip_address", "IPアドレス"}},
			{Name: "user_agent", Type: TypeText, Aliases: []string{"ua", "browser", "ユーザーエージェント"}},
		}, customerFields...),
	},
}

// consentStatusWords are the spellings of consent statuses CRMs and spreadsheets use.
var consentStatusWords = map[string]string{
	"同意": "opted_in", "同意する": "opted_in", "同意あり": "opted_in", "同意済み": "opted_in", "許諾": "opted_in", "承諾": "opted_in",
	"オプトイン": "opted_in", "opt-in": "opted_in", "optin": "opted_in", "opt in": "opted_in", "opted in": "opted_in", "subscribed": "opted_in",
	"購読": "opted_in", "購読中": "opted_in", "希望": "opted_in", "希望する": "opted_in", "受け取る": "opted_in", "yes": "opted_in",
	"true": "opted_in", "はい": "opted_in", "1": "opted_in", "○": "opted_in", "〇": "opted_in",
	"拒否": "opted_out", "同意しない": "opted_out", "同意なし": "opted_out", "不同意": "opted_out", "撤回": "opted_out", "同意撤回": "opted_out",
	"オプトアウト": "opted_out", "opt-out": "opted_out", "optout": "opted_out", "opt out": "opted_out", "opted out": "opted_out",
	"unsubscribed": "opted_out", "配信停止": "opted_out", "停止": "opted_out", "解除": "opted_out", "購読解除": "opted_out",
	"希望しない": "opted_out", "受け取らない": "opted_out", "no": "opted_out", "false": "opted_out", "いいえ": "opted_out", "0": "opted_out",
	"×":  "opted_out",
	"不明": "unknown", "未確認": "unknown", "未回答": "unknown", "未設定": "unknown",
}

// consentChannelWords are other spellings of consent channels.
var consentChannelWords = map[string]string{
	"e-mail": "email", "mail": "email", "メール": "email", "eメール": "email", "電子メール": "email", "メルマガ": "email",
	"ライン": "line", "line公式アカウント": "line",
	"push": "web_push", "web push": "web_push", "webpush": "web_push", "web-push": "web_push", "プッシュ": "web_push", "プッシュ通知": "web_push",
	"webプッシュ": "web_push", "ブラウザ通知": "web_push",
	"ショートメッセージ": "sms", "ショートメール": "sms", "sms(ショートメッセージ)": "sms",
	"tel": "phone", "call": "phone", "電話": "phone", "架電": "phone",
	"in-app": "in_app", "inapp": "in_app", "in app": "in_app", "app": "in_app", "アプリ": "in_app", "アプリ内": "in_app", "アプリ内通知": "in_app",
	"サイト内通知": "in_app",
}

// consentPurposeWords are other spellings of consent purposes; third parties are written
// third_party:<name> or 第三者提供:<name>.
var consentPurposeWords = map[string]string{
	"マーケティング": "marketing", "広告": "marketing", "販促": "marketing", "プロモーション": "marketing", "promotion": "marketing",
	"promotions": "marketing", "advertising": "marketing", "メルマガ": "marketing", "キャンペーン": "marketing",
	"product news": "product_news", "product-news": "product_news", "news": "product_news", "newsletter": "product_news",
	"ニュース": "product_news", "お知らせ": "product_news", "製品ニュース": "product_news", "製品情報": "product_news",
	"ニュースレター": "product_news", "新機能のお知らせ": "product_news",
	"survey": "research", "surveys": "research", "調査": "research", "アンケート": "research", "リサーチ": "research",
	"transactional": "service", "サービス": "service", "取引": "service", "取引関連": "service", "重要なお知らせ": "service",
	"サービスに関するお知らせ": "service",
}

func withRequired(f Field, aliases ...string) Field {
	f.Required = true
	f.Aliases = append(slices.Clone(f.Aliases), aliases...)
	return f
}

// KindOf returns the kind called name.
func KindOf(name string) (*Kind, bool) {
	k, ok := kinds[strings.ToLower(strings.TrimSpace(name))]
	return k, ok
}

// fold is the form in which headers are compared: NFKC, lower case, without spaces, '_', '-',
// '・' and brackets, so "E-mail", "e_mail" and "Ｅメール" meet their aliases.
func fold(s string) string {
	s = strings.ToLower(norm.NFKC.String(s))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '_', '-', '・', '(', ')', '（', '）', '　':
			return -1
		}
		return r
	}, s)
}

// traitKey turns a header into a trait name: NFKC, lower case, runs of spaces and '-' as '_'.
func traitKey(h string) string {
	h = strings.ToLower(norm.NFKC.String(h))
	h = strings.Map(func(r rune) rune {
		if r == '-' {
			return ' '
		}
		return r
	}, h)
	return strings.Join(strings.Fields(h), "_")
}

// aliases maps every folded name and alias of k's fields to the field.
func (k *Kind) aliases() map[string]string {
	m := map[string]string{}
	for _, f := range k.Fields {
		for _, a := range append([]string{f.Name}, f.Aliases...) {
			if _, taken := m[fold(a)]; !taken {
				m[fold(a)] = f.Name
			}
		}
	}
	return m
}

// readerKey is the name parse.Reader gives a column when read without a mapping.
func readerKey(h string) string {
	return strings.Join(strings.Fields(strings.ToLower(norm.NFKC.String(h))), "_")
}
