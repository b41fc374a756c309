package accounts

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/policy"
)

// Pages are the organisation admin pages (members, teams, invitations,
// the audit log), the page that accepts an invitation, and the
// organisations section of the account page. They change what the JSON
// API changes through the same operations (ops.go), so the authorizer
// decides both alike. An admin page is for those who may manage the
// organisation: a member gets 403, an outsider 404.
type Pages struct {
	*Handler
	Web *session.Web
	// PublicURL is the server's address, where invitation links point.
	PublicURL string
}

// maxForm bounds the forms these pages read.
const maxForm = 16 << 10

// auditPage is how many events the audit page shows at once.
const auditPage = 100

// Routes adds the pages ({org} is an ID or a slug, {team} too). Each
// state-changing one is a form post that the session middleware lets
// through only with the session's CSRF token.
func (p *Pages) Routes(mux *http.ServeMux) {
	page := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, p.Web.RequirePage(h)) }
	page("GET /orgs/{org}/members", p.show(p.membersView))
	page("POST /orgs/{org}/members/{user}/role", p.setRolePost)
	page("POST /orgs/{org}/members/{user}/remove", p.removeMemberPost)
	page("GET /orgs/{org}/teams", p.show(p.teamsView))
	page("POST /orgs/{org}/teams", p.createTeamPost)
	page("GET /orgs/{org}/teams/{team}", p.show(p.teamView))
	page("POST /orgs/{org}/teams/{team}/delete", p.deleteTeamPost)
	page("POST /orgs/{org}/teams/{team}/members", p.addTeamMemberPost)
	page("POST /orgs/{org}/teams/{team}/members/{user}/remove", p.removeTeamMemberPost)
	page("GET /orgs/{org}/invitations", p.show(p.invitationsView))
	page("POST /orgs/{org}/invitations", p.invitePost)
	page("POST /orgs/{org}/invitations/{id}/revoke", p.revokeInvitationPost)
	page("GET /orgs/{org}/audit", p.show(p.auditView))
	// Not behind RequirePage: someone signed out is told to sign in with
	// the invited address, and the token goes nowhere (no ?next=).
	mux.Handle("GET /invitations/accept", p.Web.Middleware(http.HandlerFunc(p.acceptPage)))
	page("POST /invitations/accept", p.acceptPost)
}

// adminPage is what a view renders: a template, its title and its data.
type adminPage struct {
	name, title string
	data        any
}

// view builds an admin page of o, which the principal may manage.
type view func(r *http.Request, o Org) (adminPage, error)

func (p *Pages) show(v view) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { p.render(w, r, v, http.StatusOK, nil) }
}

// render answers with v's page of {org} once the principal may manage it
// (or the refusal), problem above it with status when not nil.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, v view, status int, problem error) {
	o, err := p.org(r, policy.Manage)
	if err != nil {
		p.refuse(w, r, err)
		return
	}
	pg, err := v(r, o)
	if err != nil {
		p.refuse(w, r, err)
		return
	}
	page := p.Web.Page(r, pg.title, pg.data)
	if problem != nil {
		page.Error = p.say(r, problem)
	}
	pages.Render(w, status, pg.name, page)
}

// say is what a person is told of err: the store's and the authorizer's
// own words, and no more than "not found" for what they may not see.
func (p *Pages) say(r *http.Request, err error) string {
	switch statusOf(err) {
	case http.StatusInternalServerError:
		slog.ErrorContext(r.Context(), "accounts page", "method", r.Method, "path", r.URL.Path, "err", err)
		return "Something went wrong on the server; it was logged."
	case http.StatusNotFound:
		if errors.Is(err, policy.ErrHidden) {
			return "Not found."
		}
	}
	return err.Error()
}

// refuse answers with an error page of err's status.
func (p *Pages) refuse(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	page := p.Web.Page(r, http.StatusText(status), nil)
	page.Error = p.say(r, err)
	pages.Render(w, status, "error.html", page)
}

// after answers a form post: to next when err is nil, else v's page
// again with the problem.
func (p *Pages) after(w http.ResponseWriter, r *http.Request, err error, v view, next string) {
	if err != nil {
		p.render(w, r, v, statusOf(err), err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// orgPath is a path under /orgs/{org}/ of this request.
func orgPath(r *http.Request, rest string) string {
	return "/orgs/" + url.PathEscape(r.PathValue("org")) + "/" + rest
}

func form(w http.ResponseWriter, r *http.Request, field string) string {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	return r.PostFormValue(field)
}

// rolesFor are the roles the principal may give in o: owner only for
// those the policies let make owners.
func (p *Pages) rolesFor(r *http.Request, o Org) ([]policy.Role, error) {
	err := p.mayTouchOwner(r, o.ID, policy.Owner)
	switch {
	case err == nil:
		return []policy.Role{policy.Owner, policy.Admin, policy.Member}, nil
	case errors.Is(err, policy.ErrForbidden):
		return []policy.Role{policy.Admin, policy.Member}, nil
	default:
		return nil, err
	}
}

// memberRow is a member as the members page shows them.
type memberRow struct {
	Member
	// Roles are those the viewer may give them; Changeable is false for an
	// owner when the viewer may not unmake owners.
	Roles      []policy.Role
	Changeable bool
	Me         bool
}

func (p *Pages) membersView(r *http.Request, o Org) (adminPage, error) {
	ms, err := p.Store.Members(r.Context(), o.ID)
	if err != nil {
		return adminPage{}, err
	}
	roles, err := p.rolesFor(r, o)
	if err != nil {
		return adminPage{}, err
	}
	me := auth.From(r.Context()).UserID
	rows := make([]memberRow, len(ms))
	for i, m := range ms {
		rows[i] = memberRow{Member: m, Roles: roles, Me: m.ID == me,
			Changeable: m.Role != policy.Owner || len(roles) == 3}
	}
	return adminPage{"org_members.html", "Members", struct {
		Org     Org
		Members []memberRow
	}{o, rows}}, nil
}

func (p *Pages) setRolePost(w http.ResponseWriter, r *http.Request) {
	_, err := p.changeRole(r, policy.Role(form(w, r, "role")))
	p.after(w, r, err, p.membersView, orgPath(r, "members"))
}

func (p *Pages) removeMemberPost(w http.ResponseWriter, r *http.Request) {
	_, err := p.dropMember(r)
	next := orgPath(r, "members")
	if pr := auth.From(r.Context()); pr.UserID == r.PathValue("user") {
		next = "/account" // they left: the organisation's pages are no longer theirs
	}
	p.after(w, r, err, p.membersView, next)
}

func (p *Pages) teamsView(r *http.Request, o Org) (adminPage, error) {
	ts, err := p.Store.Teams(r.Context(), o.ID)
	if err != nil {
		return adminPage{}, err
	}
	return adminPage{"org_teams.html", "Teams", struct {
		Org   Org
		Teams []Team
	}{o, ts}}, nil
}

func (p *Pages) createTeamPost(w http.ResponseWriter, r *http.Request) {
	slug := form(w, r, "slug")
	_, t, err := p.newTeam(r, slug, r.PostFormValue("name"))
	p.after(w, r, err, p.teamsView, orgPath(r, "teams/"+url.PathEscape(t.Slug)))
}

func (p *Pages) teamView(r *http.Request, o Org) (adminPage, error) {
	t, err := p.Store.Team(r.Context(), o.ID, r.PathValue("team"))
	if err != nil {
		return adminPage{}, err
	}
	in, err := p.Store.TeamMembers(r.Context(), t.ID)
	if err != nil {
		return adminPage{}, err
	}
	all, err := p.Store.Members(r.Context(), o.ID)
	if err != nil {
		return adminPage{}, err
	}
	inTeam := map[string]bool{}
	for _, u := range in {
		inTeam[u.ID] = true
	}
	var candidates []Member
	for _, m := range all {
		if !inTeam[m.ID] {
			candidates = append(candidates, m)
		}
	}
	return adminPage{"org_team.html", "Team " + t.Name, struct {
		Org        Org
		Team       Team
		Members    []User
		Candidates []Member
	}{o, t, in, candidates}}, nil
}

func (p *Pages) deleteTeamPost(w http.ResponseWriter, r *http.Request) {
	_, err := p.dropTeam(r)
	p.after(w, r, err, p.teamView, orgPath(r, "teams"))
}

func (p *Pages) addTeamMemberPost(w http.ResponseWriter, r *http.Request) {
	_, err := p.joinTeam(r, form(w, r, "user"))
	p.after(w, r, err, p.teamView, orgPath(r, "teams/"+url.PathEscape(r.PathValue("team"))))
}

func (p *Pages) removeTeamMemberPost(w http.ResponseWriter, r *http.Request) {
	_, err := p.leaveTeam(r)
	p.after(w, r, err, p.teamView, orgPath(r, "teams/"+url.PathEscape(r.PathValue("team"))))
}

// invitationsData is the invitations page; Created and Link only right
// after an invitation was made, the one time its link is shown.
type invitationsData struct {
	Org         Org
	Invitations []Invitation
	Roles       []policy.Role
	Created     *Invitation
	Link        string
}

func (p *Pages) invitations(r *http.Request, o Org) (*invitationsData, error) {
	is, err := p.Store.Invitations(r.Context(), o.ID)
	if err != nil {
		return nil, err
	}
	roles, err := p.rolesFor(r, o)
	if err != nil {
		return nil, err
	}
	return &invitationsData{Org: o, Invitations: is, Roles: roles}, nil
}

func (p *Pages) invitationsView(r *http.Request, o Org) (adminPage, error) {
	d, err := p.invitations(r, o)
	return adminPage{"org_invitations.html", "Invitations", d}, err
}

func (p *Pages) invitePost(w http.ResponseWriter, r *http.Request) {
	email := form(w, r, "email")
	hours, err := 0, error(nil)
	if s := r.PostFormValue("expires_in_hours"); s != "" {
		if hours, err = strconv.Atoi(s); err != nil {
			err = fmt.Errorf("%w expiry %q: give a number of hours", ErrInvalid, s)
		}
	}
	var (
		o     Org
		inv   Invitation
		token string
	)
	if err == nil {
		o, inv, token, err = p.newInvitation(r, email, policy.Role(r.PostFormValue("role")), hours)
	}
	if err != nil {
		p.render(w, r, p.invitationsView, statusOf(err), err)
		return
	}
	// Answered here, not redirected: the link exists only in this answer.
	d, err := p.invitations(r, o)
	if err != nil {
		p.refuse(w, r, err)
		return
	}
	d.Created, d.Link = &inv, p.PublicURL+"/invitations/accept?token="+url.QueryEscape(token)
	pages.Render(w, http.StatusCreated, "org_invitations.html", p.Web.Page(r, "Invitations", d))
}

func (p *Pages) revokeInvitationPost(w http.ResponseWriter, r *http.Request) {
	_, err := p.dropInvitation(r)
	p.after(w, r, err, p.invitationsView, orgPath(r, "invitations"))
}

// auditView lists o's events, newest first, people named by email where
// the organisation knows them.
func (p *Pages) auditView(r *http.Request, o Org) (adminPage, error) {
	var before int64
	if s := r.URL.Query().Get("before"); s != "" {
		var err error
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 0 {
			return adminPage{}, fmt.Errorf("%w before=%q: give a time in Unix microseconds", ErrInvalid, s)
		}
	}
	events, err := audit.List(r.Context(), p.Store.DB, o.ID, before, auditPage)
	if err != nil {
		return adminPage{}, err
	}
	ms, err := p.Store.Members(r.Context(), o.ID)
	if err != nil {
		return adminPage{}, err
	}
	email := map[string]string{}
	for _, m := range ms {
		email[m.ID] = m.Email
	}
	for i, e := range events {
		if a, ok := email[e.Actor]; ok {
			events[i].Actor = a
		}
		if t, ok := email[e.Target]; ok {
			events[i].Target = t
		}
	}
	var older int64
	if len(events) == auditPage {
		older = events[len(events)-1].At
	}
	return adminPage{"org_audit.html", "Audit log", struct {
		Org    Org
		Events []audit.Event
		Older  int64
	}{o, events, older}}, nil
}

func (p *Pages) acceptPage(w http.ResponseWriter, r *http.Request) {
	pages.Render(w, http.StatusOK, "invitation_accept.html",
		p.Web.Page(r, "Invitation", struct{ Token string }{r.URL.Query().Get("token")}))
}

func (p *Pages) acceptPost(w http.ResponseWriter, r *http.Request) {
	token := form(w, r, "token")
	inv, err := p.acceptInvitation(r, token)
	var o Org
	if err == nil {
		o, err = p.Store.Org(r.Context(), inv.OrgID)
	}
	if err != nil {
		page := p.Web.Page(r, "Invitation", struct{ Token string }{token})
		page.Error = p.say(r, err)
		pages.Render(w, statusOf(err), "invitation_accept.html", page)
		return
	}
	pages.Render(w, http.StatusOK, "invitation_done.html", p.Web.Page(r, "Welcome to "+o.Name, struct {
		Org  Org
		Role policy.Role
	}{o, inv.Role}))
}

// orgRow is an organisation on the account page.
type orgRow struct {
	OrgRole
	// Manage is whether the person may manage it: its admin pages are linked.
	Manage bool
}

// AccountSection lists the signed-in person's organisations on the account
// page, linking the admin pages of those they may manage.
func (p *Pages) AccountSection(r *http.Request) (template.HTML, error) {
	pr := auth.From(r.Context())
	orgs, err := p.Store.OrgsOf(r.Context(), pr.UserID)
	if err != nil {
		return "", err
	}
	rows := make([]orgRow, len(orgs))
	for i, o := range orgs {
		err := p.Authz.Authorize(r.Context(), pr, policy.Manage, policy.OrgResource(o.ID))
		if err != nil && !errors.Is(err, policy.ErrForbidden) {
			return "", err
		}
		rows[i] = orgRow{OrgRole: o, Manage: err == nil}
	}
	return pages.Fragment("account_orgs.html", p.Web.Page(r, "", rows))
}
