package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"

	"github.com/kizuna-community/kizuna/internal/accounts"
	"github.com/kizuna-community/kizuna/internal/dm"
	"github.com/kizuna-community/kizuna/internal/errs"
	"github.com/kizuna-community/kizuna/internal/notify"
)

// Page sizes of the inbox and of a conversation.
const (
	notificationsPerPage = 30
	messagesPerPage      = 50
	conversationsShown   = dm.MaxLimit
)

// errsField is e with its field renamed, so the message shows beside another form's input.
func errsField(e *errs.Error, field string) error {
	c := *e
	c.Field = field
	return &c
}

// ---- notifications ----

// notificationsData is one page of the inbox.
type notificationsData struct {
	Items []notify.Notification
	Older string // cursor of the next, older page
	First bool
}

// NotifyTypeName is the translated description of a notification type.
func (v *view) NotifyTypeName(t string) string { return v.cat.text("notify.type." + t) }

func (s *Web) notifications(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("notifications.title"), "notifications"
	before := r.URL.Query().Get("before")
	items, older, err := s.ntf.List(r.Context(), v.Member.ID, before, notificationsPerPage)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	v.Data = notificationsData{Items: items, Older: older, First: before == ""}
	if r.URL.Query().Get("notice") == "read" {
		v.Notice = v.T("notifications.all_read")
	}
	s.render(w, r, 0, "notifications", v)
}

func (s *Web) readAllNotifications(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.ntf.MarkAllRead(r.Context(), v.Member.ID); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/notifications?notice=read")
}

// openNotification marks one notification read and goes where it points (a local path only).
func (s *Web) openNotification(w http.ResponseWriter, r *http.Request, v *view) {
	if err := s.ntf.MarkRead(r.Context(), v.Member.ID, r.PathValue("id")); err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, safeNext(r.PostFormValue("url"), "/notifications"))
}

// preferenceRow is one notification type with whether it is on.
type preferenceRow struct {
	Type    string
	Enabled bool
}

func (s *Web) notificationSettings(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("settings.notifications.title"), "notifications"
	prefs, err := s.ntf.Preferences(r.Context(), v.Member.ID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	var rows []preferenceRow
	for _, t := range notify.Types {
		rows = append(rows, preferenceRow{Type: t, Enabled: prefs[t]})
	}
	v.Data = rows
	if r.URL.Query().Get("notice") == "saved" {
		v.Notice = v.T("settings.saved")
	}
	s.render(w, r, 0, "settings-notifications", v)
}

// saveNotificationSettings turns every type on that is ticked and off that is not.
func (s *Web) saveNotificationSettings(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	on := r.PostForm["types"]
	for _, t := range notify.Types {
		if err := s.ntf.SetPreference(r.Context(), v.Member.ID, t, slices.Contains(on, t)); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	s.redirect(w, r, "/settings/notifications?notice=saved")
}

// ---- direct messages ----

// conversationRow is one conversation in the list.
type conversationRow struct {
	dm.Conversation
	Name string // the other party's name, or a placeholder for a deleted member
}

func (s *Web) conversations(w http.ResponseWriter, r *http.Request, v *view) {
	v.Title, v.Nav2 = v.T("messages.title"), "messages"
	list, err := s.dms.Conversations(r.Context(), v.principal(), conversationsShown)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	rows := make([]conversationRow, len(list))
	for i, c := range list {
		rows[i] = conversationRow{Conversation: c, Name: s.memberName(v, c.Other)}
	}
	v.Data = rows
	s.render(w, r, 0, "messages", v)
}

func (s *Web) memberName(v *view, m accounts.Member) string {
	if m.DisplayName == "" {
		return v.T("messages.former_member")
	}
	return m.DisplayName
}

// messageRow is one message of a thread, its Markdown rendered by the community's sanitiser.
type messageRow struct {
	dm.Message
	HTML template.HTML
	Mine bool
}

// threadData is one conversation.
type threadData struct {
	ID        string // "" before the first message
	Other     accounts.Member
	OtherName string
	Handle    string // the other party's profile
	Messages  []messageRow
	Older     string
	Action    string // where the reply form posts
}

// findConversation returns p's conversation with id, or with the member other when id is "".
func (s *Web) findConversation(r *http.Request, v *view, id, other string) (dm.Conversation, bool, error) {
	list, err := s.dms.Conversations(r.Context(), v.principal(), conversationsShown)
	if err != nil {
		return dm.Conversation{}, false, err
	}
	for _, c := range list {
		if (id != "" && c.ID == id) || (id == "" && c.Other.ID == other) {
			return c, true, nil
		}
	}
	return dm.Conversation{}, false, nil
}

func (s *Web) conversation(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "messages"
	s.showThread(w, r, v, 0, r.PathValue("id"))
}

// showThread renders a conversation (marking it read), keeping v.Form for a failed reply.
func (s *Web) showThread(w http.ResponseWriter, r *http.Request, v *view, status int, id string) {
	before := r.URL.Query().Get("before")
	msgs, older, err := s.dms.Messages(r.Context(), v.principal(), id, before, messagesPerPage)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	c, found, err := s.findConversation(r, v, id, "")
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !found {
		s.fail(w, r, v, errs.NotFound("no conversation %s", id))
		return
	}
	if before == "" {
		if err := s.dms.MarkRead(r.Context(), v.principal(), id); err != nil {
			s.fail(w, r, v, err)
			return
		}
		v.DMUnread = max(0, v.DMUnread-c.Unread)
	}
	d := threadData{ID: id, Other: c.Other, OtherName: s.memberName(v, c.Other), Older: older, Action: "/messages/" + url.PathEscape(id)}
	if c.Other.ID != "" {
		// Only the link to the profile needs it: a member without one (suspended) gets none.
		if pr, err := s.com.Profile(r.Context(), c.Other.ID); err == nil {
			d.Handle = pr.Handle
		}
	}
	md := s.com.Markdown()
	// Newest first from the service; a thread reads oldest first.
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		d.Messages = append(d.Messages, messageRow{Message: m, HTML: safeHTML(md.HTML(m.Body)), Mine: m.SenderID == v.Member.ID})
	}
	v.Title, v.Data = v.T("messages.with", d.OtherName), d
	s.render(w, r, status, "conversation", v)
}

func (s *Web) reply(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "messages"
	r.ParseForm()
	id := r.PathValue("id")
	c, found, err := s.findConversation(r, v, id, "")
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if !found {
		s.fail(w, r, v, errs.NotFound("no conversation %s", id))
		return
	}
	_, err = s.dms.Send(r.Context(), v.principal(), c.Other.ID, r.PostForm.Get("body"))
	if err != nil {
		if e, ok := errAs(err); ok {
			v.Form = newForm(r)
			if e.Field != "" {
				v.Form.errors["body"] = s.message(v, e)
			} else {
				v.Form.alert = s.message(v, e)
			}
			s.showThread(w, r, v, statusOf(e), id)
			return
		}
		s.fail(w, r, v, err)
		return
	}
	s.redirect(w, r, "/messages/"+url.PathEscape(id)+"#latest")
}

// statusOf is the status of a page that shows a form error.
func statusOf(e *errs.Error) int {
	switch e.Kind {
	case errs.KindTooMany:
		return http.StatusTooManyRequests
	case errs.KindForbidden:
		return http.StatusForbidden
	}
	return http.StatusUnprocessableEntity
}

// messageTo opens the conversation with a member, or an empty one to write the first message.
func (s *Web) messageTo(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "messages"
	s.newThread(w, r, v, 0)
}

func (s *Web) newThread(w http.ResponseWriter, r *http.Request, v *view, status int) {
	pr, err := s.com.Profile(r.Context(), r.PathValue("member"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if pr.MemberID == v.Member.ID {
		s.redirect(w, r, "/messages")
		return
	}
	c, found, err := s.findConversation(r, v, "", pr.MemberID)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	if found && status == 0 {
		s.redirect(w, r, "/messages/"+url.PathEscape(c.ID))
		return
	}
	d := threadData{OtherName: pr.DisplayName, Handle: pr.Handle, Action: "/messages/to/" + url.PathEscape(pr.MemberID)}
	v.Title, v.Data = v.T("messages.with", pr.DisplayName), d
	s.render(w, r, status, "conversation", v)
}

func (s *Web) sendTo(w http.ResponseWriter, r *http.Request, v *view) {
	v.Nav2 = "messages"
	r.ParseForm()
	pr, err := s.com.Profile(r.Context(), r.PathValue("member"))
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	m, err := s.dms.Send(r.Context(), v.principal(), pr.MemberID, r.PostForm.Get("body"))
	if err != nil {
		e, ok := errAs(err)
		if !ok {
			s.fail(w, r, v, err)
			return
		}
		v.Form = newForm(r)
		if e.Field == "body" {
			v.Form.errors["body"] = s.message(v, e)
		} else {
			v.Form.alert = s.message(v, e)
		}
		s.newThread(w, r, v, statusOf(e))
		return
	}
	s.redirect(w, r, "/messages/"+url.PathEscape(m.ConversationID)+"#latest")
}
