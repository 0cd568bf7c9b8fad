// Package api is the admin REST API under /api/v1: Bearer API keys, JSON in and out, errors as
// {"error":{"code","message","field","reason","request_id"}}, cursor pagination, and an OpenAPI 3.1
// document that a test keeps equal to the routes. Handlers decode, call a part and encode.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"strings"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/badges"
	"github.com/kizuna-community/kizuna/internal/community"
	"github.com/kizuna-community/kizuna/internal/consent"
	"github.com/kizuna-community/kizuna/internal/crm"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/httpx"
	"github.com/kizuna-community/kizuna/internal/identity"
	"github.com/kizuna-community/kizuna/internal/imports"
	"github.com/kizuna-community/kizuna/internal/ingest"
	"github.com/kizuna-community/kizuna/internal/kb"
	"github.com/kizuna-community/kizuna/internal/media"
	"github.com/kizuna-community/kizuna/internal/meetup"
	"github.com/kizuna-community/kizuna/internal/privacy"
	"github.com/kizuna-community/kizuna/internal/profile"
	"github.com/kizuna-community/kizuna/internal/score"
	"github.com/kizuna-community/kizuna/internal/segment"
	"github.com/kizuna-community/kizuna/internal/survey"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

//go:embed openapi.json
var openAPI []byte

// Deps are what the API needs. Parts left nil have no routes: the API serves what was built.
type Deps struct {
	Accounts  *accounts.Service
	Community *community.Service // spaces, posts, comments, ideas, profiles, search
	Meetup    *meetup.Service    // events; needs Community
	KB        *kb.Service        // knowledge base; its answer routes need Community
	Badges    *badges.Service    // badges; the expert lists need Community
	Survey    *survey.Service    // polls and surveys; needs Community
	Media     *media.Service     // image uploads
	Sources   *ingest.Sources    // the tracking API's sources and their write keys
	Identity  *identity.Graph    // merges and their undoing; needs Profiles
	Profiles  *profile.Service   // customer profiles
	CRM       *crm.Service       // CRM accounts, purchases, contracts, tickets
	Consent   *consent.Ledger    // consents, the suppression list, provision records
	Segments  *segment.Service   // segments and their members
	Scores    *score.Service     // score models; people's scores on their profiles
	Imports   *imports.Importer  // file imports; needs CRM
	Privacy   *privacy.Service   // data-subject requests: export, erasure, their deadlines
	Log       *slog.Logger
}

// API serves /api/v1.
type API struct {
	acc       *accounts.Service
	community *community.Service
	meetup    *meetup.Service
	kb        *kb.Service
	badges    *badges.Service
	survey    *survey.Service
	media     *media.Service
	sources   *ingest.Sources
	identity  *identity.Graph
	profiles  *profile.Service
	crm       *crm.Service
	consent   *consent.Ledger
	segments  *segment.Service
	scores    *score.Service
	imports   *imports.Importer
	privacy   *privacy.Service
	log       *slog.Logger
	mux       *http.ServeMux
}

// route is one operation. Public routes need no API key. perm, when set, is checked before the
// handler runs, so a key without the scope is refused (403 naming the scope) before its body is
// read; the part still checks everything else.
type route struct {
	method, path string
	public       bool
	perm         accounts.Permission
	handle       func(w http.ResponseWriter, r *http.Request, p accounts.Principal) error
}

// maxBody bounds a JSON request body.
const maxBody = 1 << 20

// New returns the API.
func New(d Deps) *API {
	a := &API{acc: d.Accounts, community: d.Community, meetup: d.Meetup, kb: d.KB, badges: d.Badges, survey: d.Survey, media: d.Media,
		sources: d.Sources, identity: d.Identity, profiles: d.Profiles, crm: d.CRM, consent: d.Consent, segments: d.Segments, scores: d.Scores, imports: d.Imports,
		privacy: d.Privacy, log: d.Log, mux: http.NewServeMux()}
	rts := a.routes()
	// Go's mux has no wildcard with a literal ending ("{id}.ics"), so such a route is served by
	// the route without the ending, which hands the requests that have it on.
	suffixed := map[string][]route{}
	for _, rt := range rts {
		if base, _, _, ok := splitSuffix(rt.path); ok {
			suffixed[rt.method+" "+base] = append(suffixed[rt.method+" "+base], rt)
		}
	}
	for _, rt := range rts {
		if _, _, _, ok := splitSuffix(rt.path); ok {
			continue
		}
		h := a.wrap(rt)
		for _, sr := range suffixed[rt.method+" "+rt.path] {
			h = bySuffix(sr, a.wrap(sr), h)
		}
		a.mux.Handle(rt.method+" "+Prefix+rt.path, h)
	}
	return a
}

// splitSuffix splits a path whose last segment is a wildcard with a literal ending, such as
// /events/{id}.ics, into the path without it (/events/{id}), the wildcard's name and the ending.
func splitSuffix(path string) (base, name, suffix string, ok bool) {
	i := strings.LastIndex(path, "/")
	seg := path[i+1:]
	end := strings.Index(seg, "}")
	if !strings.HasPrefix(seg, "{") || end < 0 || end == len(seg)-1 {
		return path, "", "", false
	}
	return path[:i+1] + seg[:end+1], seg[1:end], seg[end+1:], true
}

// bySuffix serves requests whose wildcard ends with the route's literal ending with suffixed
// (the wildcard without the ending), and the rest with next.
func bySuffix(rt route, suffixed, next http.Handler) http.Handler {
	_, name, suffix, _ := splitSuffix(rt.path)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v, ok := strings.CutSuffix(r.PathValue(name), suffix); ok && v != "" {
			r.SetPathValue(name, v)
			suffixed.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) routes() []route {
	rts := []route{
		{method: "GET", path: "/openapi.json", public: true, handle: a.openAPI},
		{method: "GET", path: "/me", handle: a.me},
		{method: "GET", path: "/members", handle: a.listMembers},
		{method: "GET", path: "/members/{id}", handle: a.getMember},
		{method: "PATCH", path: "/members/{id}", handle: a.patchMember},
		{method: "GET", path: "/api-keys", handle: a.listAPIKeys},
		{method: "POST", path: "/api-keys", handle: a.createAPIKey},
		{method: "DELETE", path: "/api-keys/{id}", handle: a.revokeAPIKey},
		{method: "GET", path: "/audit-log", handle: a.listAudit},
	}
	if a.community != nil {
		rts = append(rts, a.communityRoutes()...)
		rts = append(rts, a.moderationRoutes()...)
		if a.meetup != nil {
			rts = append(rts, a.eventRoutes()...)
		}
		if a.survey != nil {
			rts = append(rts, a.surveyRoutes()...)
		}
	}
	if a.kb != nil {
		rts = append(rts, a.kbRoutes()...)
	}
	if a.badges != nil {
		rts = append(rts, a.badgeRoutes()...)
	}
	if a.media != nil {
		rts = append(rts, a.mediaRoutes()...)
	}
	if a.sources != nil {
		rts = append(rts, a.sourceRoutes()...)
	}
	if a.identity != nil && a.profiles != nil {
		rts = append(rts, a.profileRoutes()...)
	}
	if a.crm != nil {
		rts = append(rts, a.crmRoutes()...)
	}
	if a.consent != nil {
		rts = append(rts, a.consentRoutes()...)
	}
	if a.imports != nil {
		rts = append(rts, a.importRoutes()...)
	}
	if a.segments != nil {
		rts = append(rts, a.segmentRoutes()...)
	}
	if a.scores != nil {
		rts = append(rts, a.scoreRoutes()...)
	}
	if a.privacy != nil {
		rts = append(rts, a.privacyRoutes()...)
	}
	return rts
}

// Routes registers the API on mux. Requests that match no operation get JSON 404 or 405.
func (a *API) Routes(mux *http.ServeMux) {
	mux.Handle(Prefix+"/", a)
}

// ServeHTTP dispatches to the operation. The inner mux sets the matched pattern on the same
// request, so the metrics middleware outside sees the operation's route.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	// No operation matched: find out whether the path exists with another method.
	h, _ := a.mux.Handler(r)
	probe := &allowProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if allow := probe.header.Get("Allow"); probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allow)
		httpx.WriteJSON(w, http.StatusMethodNotAllowed, errorBody(r, "method_not_allowed",
			r.Method+" is not allowed here; use "+allow, ""))
		return
	}
	httpx.WriteError(w, r, a.log, errs.NotFound("no API operation at %s %s; see %s/openapi.json", r.Method, r.URL.Path, Prefix))
}

// allowProbe records what the mux's own 404/405 handler would answer.
type allowProbe struct {
	header http.Header
	status int
}

func (p *allowProbe) Header() http.Header         { return p.header }
func (p *allowProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *allowProbe) WriteHeader(code int)        { p.status = code }

func errorBody(r *http.Request, code, msg, field string) httpx.ErrorBody {
	return httpx.ErrorBody{Error: httpx.ErrorDetail{Code: code, Message: msg, Field: field, RequestID: httpx.RequestIDFrom(r.Context())}}
}

// wrap authenticates the caller (unless the route is public) and writes the handler's error.
func (a *API) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p accounts.Principal
		if !rt.public {
			var err error
			if p, err = a.authenticate(r.Context(), r); err != nil {
				httpx.WriteError(w, r, a.log, err)
				return
			}
			if rt.perm != "" {
				if err := accounts.Authorize(p, rt.perm); err != nil {
					httpx.WriteError(w, r, a.log, err)
					return
				}
			}
		}
		if err := rt.handle(w, r, p); err != nil {
			httpx.WriteError(w, r, a.log, err)
		}
	})
}

func (a *API) authenticate(ctx context.Context, r *http.Request) (accounts.Principal, error) {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return accounts.Principal{}, errs.Unauthenticated("send an API key as Authorization: Bearer <key>")
	}
	return a.acc.AuthenticateAPIKey(ctx, strings.TrimSpace(key))
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request, _ accounts.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(openAPI)
	return err
}
