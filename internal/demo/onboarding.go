package demo

import (
	"context"
	"fmt"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/onboarding"
)

// onboardingQuestions are the demo's onboarding survey: interests tied to its spaces and tags
// (three of them with an automatic segment), the member's role, how familiar they are with the
// product and what they hope for, in Japanese and English.
var onboardingQuestions = []onboarding.Question{
	{Key: "topics", Kind: onboarding.Multiple, PromptJA: "興味のあることを教えてください", PromptEN: "What would you like to hear about?",
		Choices: []onboarding.Choice{
			{Value: "product", LabelJA: "製品の使い方・Q&A", LabelEN: "Using the product", InterestKind: onboarding.InterestSpace, InterestRef: "product-qa", AutoSegment: true},
			{Value: "ideas", LabelJA: "新機能のアイデア", LabelEN: "Feature ideas", InterestKind: onboarding.InterestSpace, InterestRef: "ideas"},
			{Value: "events", LabelJA: "ユーザー会・イベント", LabelEN: "User group & events", InterestKind: onboarding.InterestSpace, InterestRef: "user-group", AutoSegment: true},
			{Value: "line", LabelJA: "LINE 連携", LabelEN: "LINE integration", InterestKind: onboarding.InterestTag, InterestRef: "line", AutoSegment: true},
			{Value: "sso", LabelJA: "SSO・セキュリティ", LabelEN: "SSO & security", InterestKind: onboarding.InterestTag, InterestRef: "sso"},
		}},
	{Key: "role", Kind: onboarding.Single, PromptJA: "お仕事での役割は？", PromptEN: "What is your role?",
		Choices: []onboarding.Choice{
			{Value: "marketing", LabelJA: "マーケティング", LabelEN: "Marketing"},
			{Value: "success", LabelJA: "カスタマーサクセス", LabelEN: "Customer success"},
			{Value: "engineering", LabelJA: "開発・情報システム", LabelEN: "Engineering & IT"},
			{Value: "other", LabelJA: "その他", LabelEN: "Other"},
		}},
	{Key: "familiarity", Kind: onboarding.Scale, PromptJA: "Kizuna にどのくらい慣れていますか？", PromptEN: "How familiar are you with Kizuna?", ScaleMin: 1, ScaleMax: 5},
	{Key: "goal", Kind: onboarding.Text, PromptJA: "コミュニティで実現したいことがあれば教えてください", PromptEN: "Anything you hope to get from the community?"},
}

// seedOnboarding adds the demo's onboarding survey when there is none yet, so an installation
// seeded before the survey existed gets it too.
func seedOnboarding(ctx context.Context, ob *onboarding.Service) error {
	qs, err := ob.Questions(ctx)
	if err != nil || len(qs) > 0 {
		return err
	}
	for _, q := range onboardingQuestions {
		q.Choices = append([]onboarding.Choice(nil), q.Choices...)
		if _, err := ob.CreateQuestion(ctx, accounts.System(), q); err != nil {
			return fmt.Errorf("demo onboarding question %s: %w", q.Key, err)
		}
	}
	return nil
}
