package accounts

import (
	"slices"
	"strings"

	"github.com/kizuna-community/kizuna/internal/errs"
)

// Role is what a person is in the community. Staff roles see the admin; members do not.
type Role string

// The roles.
const (
	RoleAdmin            Role = "admin"
	RoleCommunityManager Role = "community_manager"
	RoleMarketer         Role = "marketer"
	RoleCS               Role = "cs"
	RoleProduct          Role = "product"
	RoleAnalyst          Role = "analyst"
	RoleModerator        Role = "moderator"
	RoleMember           Role = "member"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleCommunityManager, RoleMarketer, RoleCS, RoleProduct, RoleAnalyst, RoleModerator, RoleMember}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Staff reports whether r works the community rather than belongs to it.
func (r Role) Staff() bool { return r.Valid() && r != RoleMember }

func roleList() string {
	s := make([]string, len(Roles))
	for i, r := range Roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// Scope limits what an API key may do.
type Scope string

// The scopes. Admin implies write, write implies read.
const (
	ScopeAdmin Scope = "admin"
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeAdmin, ScopeRead, ScopeWrite}

// Permission is one thing a principal may be allowed to do.
type Permission string

// The permissions. Each names what it allows, as shown in a refusal.
const (
	PermViewAdmin       Permission = "open the admin"
	PermViewMembers     Permission = "view members"
	PermManageMembers   Permission = "manage members and roles"
	PermManageAPIKeys   Permission = "manage API keys"
	PermViewAudit       Permission = "view the audit log"
	PermModerate        Permission = "moderate the community"
	PermManageCommunity Permission = "manage the community"
	PermManageMarketing Permission = "manage marketing"
	PermViewAnalytics   Permission = "view analytics"
	PermManageSettings  Permission = "manage settings"
	PermActAsMember     Permission = "create content on behalf of a member"
)

// scopeNeeded is the least API key scope that may use each permission.
var scopeNeeded = map[Permission]Scope{
	PermViewAdmin:       ScopeRead,
	PermViewMembers:     ScopeRead,
	PermViewAnalytics:   ScopeRead,
	PermModerate:        ScopeWrite,
	PermManageCommunity: ScopeWrite,
	PermManageMarketing: ScopeWrite,
	PermViewAudit:       ScopeAdmin,
	PermManageMembers:   ScopeAdmin,
	PermManageAPIKeys:   ScopeAdmin,
	PermManageSettings:  ScopeAdmin,
	PermActAsMember:     ScopeAdmin,
}

// staff permissions every staff role has.
var staff = []Permission{PermViewAdmin, PermViewMembers}

// grants is the one table of who may do what. Admins may do everything.
var grants = map[Role][]Permission{
	RoleCommunityManager: append([]Permission{PermModerate, PermManageCommunity, PermViewAnalytics}, staff...),
	RoleMarketer:         append([]Permission{PermManageMarketing, PermViewAnalytics}, staff...),
	RoleCS:               append([]Permission{PermViewAnalytics}, staff...),
	RoleProduct:          append([]Permission{PermManageCommunity, PermViewAnalytics}, staff...),
	RoleAnalyst:          append([]Permission{PermViewAnalytics}, staff...),
	RoleModerator:        append([]Permission{PermModerate}, staff...),
	RoleMember:           nil,
}

// Principal is who is acting: a member through a session, an API key, or the system itself
// (the CLI and background jobs).
type Principal struct {
	MemberID string
	Role     Role
	APIKeyID string
	Scopes   []Scope
	system   bool
}

// System is the principal of the operator's CLI and of background jobs: it may do everything.
func System() Principal { return Principal{Role: RoleAdmin, system: true} }

// IsSystem reports whether p is the system principal.
func (p Principal) IsSystem() bool { return p.system }

// Anonymous reports whether nobody is signed in.
func (p Principal) Anonymous() bool { return !p.system && p.MemberID == "" && p.APIKeyID == "" }

// Actor is how events and records name who acted: the member's id, "api_key:ID" for an API key,
// or "system" (see event.Community).
func (p Principal) Actor() string {
	switch {
	case p.MemberID != "":
		return p.MemberID
	case p.APIKeyID != "":
		return "api_key:" + p.APIKeyID
	default:
		return "system"
	}
}

// actor returns how the audit log names p.
func (p Principal) actor() (kind, id string) {
	switch {
	case p.system:
		return "system", "system"
	case p.APIKeyID != "":
		return "api_key", p.APIKeyID
	default:
		return "member", p.MemberID
	}
}

// Allowed reports whether p may do perm: its role grants it and, for an API key, a scope covers it.
func Allowed(p Principal, perm Permission) bool {
	if p.Anonymous() {
		return false
	}
	if p.APIKeyID != "" && !scopeCovers(p.Scopes, scopeNeeded[perm]) {
		return false
	}
	return p.Role == RoleAdmin || slices.Contains(grants[p.Role], perm)
}

func scopeCovers(have []Scope, need Scope) bool {
	for _, s := range have {
		if s == need || s == ScopeAdmin || (s == ScopeWrite && need == ScopeRead) {
			return true
		}
	}
	return false
}

// Authorize returns nil if p may do perm, else an error saying what is missing.
func Authorize(p Principal, perm Permission) error {
	if Allowed(p, perm) {
		return nil
	}
	if p.Anonymous() {
		return errs.Unauthenticated("log in to %s", perm)
	}
	if p.APIKeyID != "" && !scopeCovers(p.Scopes, scopeNeeded[perm]) {
		return errs.Forbidden("this API key needs the %q scope to %s", scopeNeeded[perm], perm)
	}
	return errs.Forbidden("your role may not %s", perm)
}
