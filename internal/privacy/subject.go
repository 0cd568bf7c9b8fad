package privacy

import (
	"context"
	"slices"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/db"
	"github.com/kizuna-community/kizuna/internal/dsr"
	"github.com/kizuna-community/kizuna/internal/errs"
)

// Ref names the subject of a request: a member, or a customer profile (any profile of its merge
// family). Either may be given; the other is found.
type Ref struct {
	MemberID  string
	ProfileID string
}

// resolve finds everything that identifies the subject ref names, reading through q: their
// accounts, their profile's merge family and its identifiers. An account's own id and email
// count even when the profile does not list them yet (the sign-up's identify may still be on its
// way). A ref that names nobody is an errs.NotFound.
func (s *Service) resolve(ctx context.Context, q db.Queryer, ref Ref) (dsr.Subject, error) {
	var sub dsr.Subject
	addMember := func(m accounts.Member) {
		if m.Status == accounts.StatusErased || slices.Contains(sub.MemberIDs, m.ID) {
			return
		}
		sub.MemberIDs = append(sub.MemberIDs, m.ID)
	}
	profileID := ref.ProfileID
	if ref.MemberID != "" {
		m, err := s.acc.GetMember(ctx, ref.MemberID)
		if err != nil {
			return sub, err
		}
		if m.Status == accounts.StatusErased {
			return sub, errs.NotFound("no member with id %s", ref.MemberID)
		}
		addMember(m)
		if profileID == "" {
			pid, err := s.identity.Lookup(ctx, "user_id", m.ID)
			switch {
			case err == nil:
				profileID = pid
			case errs.KindOf(err) != errs.KindNotFound:
				return sub, err
			}
		}
	}
	if profileID != "" {
		root, family, err := s.identity.RootFamily(ctx, q, profileID)
		if err != nil {
			return sub, err
		}
		sub.Root, sub.ProfileIDs = root, family
		ids, err := s.identity.Identifiers(ctx, root)
		if err != nil {
			return sub, err
		}
		for _, it := range ids {
			sub.Identifiers = append(sub.Identifiers, dsr.Identifier{Type: it.Type, Value: it.Value})
			if it.Type != "user_id" {
				continue
			}
			// A user id is a community account when one has that id; other systems' user ids
			// (a shop's customer number) are identifiers only.
			m, err := s.acc.GetMember(ctx, it.Value)
			switch {
			case err == nil:
				addMember(m)
			case errs.KindOf(err) != errs.KindNotFound:
				return sub, err
			}
		}
	}
	if len(sub.MemberIDs) == 0 && len(sub.ProfileIDs) == 0 {
		return sub, errs.NotFound("nobody to look for")
	}
	for _, id := range sub.MemberIDs {
		m, err := s.acc.GetMember(ctx, id)
		if err != nil {
			return sub, err
		}
		for _, it := range []dsr.Identifier{{Type: "user_id", Value: m.ID}, {Type: "email", Value: m.Email}} {
			if !slices.Contains(sub.Identifiers, it) {
				sub.Identifiers = append(sub.Identifiers, it)
			}
		}
	}
	return sub, nil
}

// union adds to a what b holds that a does not.
func union(a, b dsr.Subject) dsr.Subject {
	if a.Root == "" {
		a.Root = b.Root
	}
	for _, p := range b.ProfileIDs {
		if !slices.Contains(a.ProfileIDs, p) {
			a.ProfileIDs = append(a.ProfileIDs, p)
		}
	}
	for _, m := range b.MemberIDs {
		if !slices.Contains(a.MemberIDs, m) {
			a.MemberIDs = append(a.MemberIDs, m)
		}
	}
	for _, it := range b.Identifiers {
		if !slices.Contains(a.Identifiers, it) {
			a.Identifiers = append(a.Identifiers, it)
		}
	}
	return a
}
