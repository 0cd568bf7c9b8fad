// Package dsr is the contract between the privacy part and every part that keeps personal data:
// who a data subject is, the tables a part hands over when the subject asks for their data, and
// the erasure a part applies to its own tables when the subject asks to be forgotten. It holds
// types only, so any part can implement Part without importing the privacy part that calls it.
package dsr

import (
	"context"
	"database/sql"
	"time"
)

// Identifier is one identifier of a subject as the identity graph keeps it: a normalised type
// ("email", "phone", "user_id", "anonymous_id", "social:line", "crm:salesforce" …) and value.
type Identifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Subject is the person a data-subject request is about: their community accounts and their
// customer profile with its merge family, resolved once by the privacy part before any part runs.
type Subject struct {
	// Root is the root of the subject's customer profile, "" when they have none.
	Root string
	// ProfileIDs are Root and every profile merged into it: the ids under which data about the
	// person is recorded. Empty when they have no profile.
	ProfileIDs []string
	// MemberIDs are the subject's community accounts (usually one; none for a customer who never
	// joined the community).
	MemberIDs []string
	// Identifiers are every identifier of the profile family, and each account's id (user_id)
	// and email address.
	Identifiers []Identifier
}

// Values returns the identifier values of the types given (every type when none is given).
func (s Subject) Values(types ...string) []string {
	var out []string
	for _, it := range s.Identifiers {
		if len(types) == 0 {
			out = append(out, it.Value)
			continue
		}
		for _, t := range types {
			if it.Type == t {
				out = append(out, it.Value)
				break
			}
		}
	}
	return out
}

// IDs returns the subject's opaque ids that other records refer to: its member ids and profile
// ids. Erasure replaces them with the tombstone id wherever a record about someone else has to
// name them (an answer accepted on someone else's question, an audit entry).
func (s Subject) IDs() []string {
	out := make([]string, 0, len(s.MemberIDs)+len(s.ProfileIDs))
	out = append(out, s.MemberIDs...)
	return append(out, s.ProfileIDs...)
}

// Table is one table of an export: Name is its file name without extension ("posts"), Rows a
// slice of JSON-encodable rows (structs or maps), written as Name.json and Name.csv.
type Table struct {
	Name string
	Rows any
}

// Erasure is what a part applies when the subject is erased.
type Erasure struct {
	Subject
	// Tombstone is the opaque id that stands for the erased person where a record has to keep
	// naming someone: the author of a post kept anonymised, the other side of a conversation,
	// the actor of an audit entry, the subject of a consent record kept as evidence. It says
	// nothing about who they were.
	Tombstone string
	At        time.Time
	// RemoveContent is the community's policy for what the person wrote: true removes their
	// posts and replies, false keeps them under the tombstone ("Former member").
	RemoveContent bool
}

// Part is a part that keeps personal data. The privacy part calls every registered Part for
// exports and erasures; each one exports and erases only its own tables.
type Part interface {
	// ExportSubject returns what the part keeps about s, for the subject's own copy of their data.
	ExportSubject(ctx context.Context, s Subject) ([]Table, error)
	// EraseSubject removes what the part keeps about e's subject, inside tx: personal data is
	// deleted, and records that must stay (evidence, other people's content) keep e.Tombstone
	// in place of the subject's ids. It is idempotent: running it again finds nothing to do.
	EraseSubject(ctx context.Context, tx *sql.Tx, e Erasure) error
}
