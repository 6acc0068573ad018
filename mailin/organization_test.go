package mailin

import (
	"testing"

	"github.com/helpdesk-ivr/ivr/menu"
)

// TestOrganization: a sender's Administration by exact address, else by
// a domain only one Administration has, never by a public domain.
func TestOrganization(t *testing.T) {
	t.Parallel()
	conf := &menu.Config{Organizations: []*menu.Organization{
		{ID: "a", Emails: []string{"Referente <referente@trib.example>", "ufficio.a@gmail.com"}},
		{ID: "b", Emails: []string{"x@ca.example", "y@shared.example"}},
		{ID: "c", Emails: []string{"z@shared.example"}},
	}}
	s, err := New(Config{}, Options{Config: func() *menu.Config { return conf }})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"referente@trib.example": "a", "other@trib.example": "a", "ufficio.a@gmail.com": "a",
		"someone@gmail.com": "", "w@shared.example": "", "q@ca.example": "b", "nobody@else.example": "",
	} {
		if got := s.organization(addr); got != want {
			t.Errorf("organization(%s) = %q, want %q", addr, got, want)
		}
	}
}
