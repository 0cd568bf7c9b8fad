package web

import (
	"html/template"
	"maps"
	"time"

	"github.com/kizuna-community/kizuna/internal/community"
)

// replyPart is one reply as every reader of its thread in one language sees it: its head
// (opening, byline and body), the reactions bar of a reader who has not reacted to it, and its
// report link (shown to those who may report it).
type replyPart struct {
	Head   template.HTML
	Bar    template.HTML
	Report template.HTML
}

// replyParts are a thread's rendered replies by comment id. A stored value is never changed:
// adding replies stores a new map.
type replyParts map[string]replyPart

// renderReplies fills each row's Head, Bar and ReportLink. Rendering two hundred replies through templates
// was most of the cost of a long thread for members, whose pages cannot be shared whole; the
// parts that are the same for everyone are rendered once per thread version and language
// (every change to the post, its replies or their reactions bumps the version, and the
// replies themselves come from the community's cache of the same version). What differs per
// reader stays in the page template: the reader's own reactions (such a bar is rendered for the
// reader) and the report, accept and moderation actions.
func (s *Web) renderReplies(v *view, post community.Post, rows []commentRow) error {
	key := "replies|" + v.Lang + "|" + post.ID
	if v.Member != nil { // the bar has buttons only for members
		key += "|m"
	}
	now := time.Now()
	parts, _ := s.replies.get(key, post.Version, now)
	var added replyParts
	for i := range rows {
		row := &rows[i]
		part, ok := parts[row.ID]
		if !ok {
			head, err := s.renderBytes("post", "reply-head", row)
			if err != nil {
				return err
			}
			shared := row.Reactions
			shared.Items = make([]reactionItem, len(row.Reactions.Items))
			for j, it := range row.Reactions.Items {
				it.Mine = false
				shared.Items[j] = it
			}
			bar, err := s.renderBytes("post", "reactions", shared)
			if err != nil {
				return err
			}
			link, err := s.renderBytes("post", "report-link", reportForm{V: v, Kind: "comment", ID: row.ID})
			if err != nil {
				return err
			}
			part = replyPart{Head: template.HTML(head), Bar: template.HTML(bar), Report: template.HTML(link)}
			if added == nil {
				added = make(replyParts, len(rows))
				maps.Copy(added, parts)
			}
			added[row.ID] = part
		}
		row.Head, row.Bar = part.Head, part.Bar
		if row.Report != nil {
			row.ReportLink = part.Report
		}
		if row.Reactions.anyMine() {
			bar, err := s.renderBytes("post", "reactions", row.Reactions)
			if err != nil {
				return err
			}
			row.Bar = template.HTML(bar)
		}
	}
	if added != nil {
		s.replies.put(key, post.Version, now, added)
	}
	return nil
}

// anyMine reports whether the reader gave any of the bar's reactions.
func (b reactionBar) anyMine() bool {
	for _, it := range b.Items {
		if it.Mine {
			return true
		}
	}
	return false
}
