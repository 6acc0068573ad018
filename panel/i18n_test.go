package panel

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// verbPattern finds the fmt verbs of a message.
var verbPattern = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestCatalogs: both languages have the same keys, each message the
// same fmt verbs in the same order, and no message is empty.
func TestCatalogs(t *testing.T) {
	t.Parallel()
	for _, a := range Languages {
		if len(catalogue[a]) == 0 {
			t.Fatalf("catalog %s is empty", a)
		}
		for _, b := range Languages {
			for key, msg := range catalogue[a] {
				other, ok := catalogue[b][key]
				if !ok {
					t.Errorf("%q is in the %s catalog, not in the %s one", key, a, b)
					continue
				}
				if strings.TrimSpace(msg) == "" {
					t.Errorf("%s: %q is empty", a, key)
				}
				if va, vb := verbPattern.FindAllString(msg, -1), verbPattern.FindAllString(other, -1); !slices.Equal(va, vb) {
					t.Errorf("%q: verbs %v in %s, %v in %s", key, va, a, vb, b)
				}
			}
		}
	}
}

// keyLiteral is a string literal that looks like a catalog key.
var keyLiteral = regexp.MustCompile(`"([a-z_]+(?:\.[a-z0-9_]+)+)"`)

// msgParam is a flash message asked for in a redirect.
var msgParam = regexp.MustCompile(`[?&]msg=([a-z_]+)`)

// TestCatalogKeysUsed: every key the code or a template names exists in
// every catalog, and so does every key built from a value (statuses,
// priorities, phases, roles, states, days, flash messages).
func TestCatalogKeysUsed(t *testing.T) {
	t.Parallel()
	prefixes := map[string]bool{}
	for key := range catalogue["it"] {
		p, _, _ := strings.Cut(key, ".")
		prefixes[p] = true
	}
	var files []string
	for _, pattern := range []string{"*.go", "templates/*.html", "static/*.js"} {
		m, err := filepath.Glob(pattern)
		noErr(t, err)
		files = append(files, m...)
	}
	used := map[string]string{} // key → a file using it
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		noErr(t, err)
		for _, m := range keyLiteral.FindAllStringSubmatch(string(b), -1) {
			key := m[1]
			p, _, _ := strings.Cut(key, ".")
			ext := key[strings.LastIndex(key, ".")+1:]
			if prefixes[p] && !slices.Contains([]string{"html", "css", "js", "json", "sql", "wav"}, ext) {
				used[key] = f
			}
		}
		for _, m := range msgParam.FindAllStringSubmatch(string(b), -1) {
			used["msg."+m[1]] = f
		}
	}
	if len(used) < 100 {
		t.Fatalf("only %d keys found in the code and templates: the scan is broken", len(used))
	}
	add := func(prefix string, values ...string) {
		for _, v := range values {
			used[prefix+v] = "(values)"
		}
	}
	for _, s := range tickets.Statuses {
		add("status.", string(s))
	}
	for _, p := range tickets.Priorities {
		add("priority.", string(p))
	}
	for _, s := range []tickets.Source{tickets.SourcePhone, tickets.SourceAfterHours, tickets.SourcePanel} {
		add("source.", string(s))
	}
	for _, r := range Roles {
		add("role.", string(r))
	}
	add("phase.", PhaseMenu, PhasePIN, PhaseClosed, PhaseQueue, PhaseRinging, PhaseTalking, PhaseMessage, PhaseStatus, PhaseEnding)
	add("opstate.", string(queues.LoggedOut), string(queues.Available), string(queues.Offered), string(queues.OnCall),
		string(queues.WrapUp), string(queues.Paused))
	add("reason.", pauseReasons...)
	add("day.", "0", "1", "2", "3", "4", "5", "6")
	add("outbox.state.", outboxStatuses...)
	for _, sc := range Scopes {
		add("tokens.scope.", string(sc))
	}
	add("tokens.state.", "active", "expired", "revoked")
	for _, k := range []notify.Kind{notify.KindCreated, notify.KindStatus, notify.KindClosed, notify.KindAfterHours,
		notify.KindEscalated, notify.KindOpening, notify.KindSummary} {
		add("notice.", string(k))
	}
	add("err.", "400", "401", "403", "404", "409", "413", "429", "500")
	add("portal.role.", PortalReferent, PortalUser)
	add("portal.state.", "pending", "used", "expired")
	add("source.", string(tickets.SourceMail), string(tickets.SourcePortal))
	add("notice.", string(notify.KindInvitation))
	add("msg."+controlMsg, append(slices.Clone(operatorActions), "move")...)
	add("step.", handlingKinds...)
	for key, f := range used {
		for _, l := range Languages {
			if _, ok := catalogue[l][key]; !ok {
				t.Errorf("%s uses %q, missing in the %s catalog", f, key, l)
			}
		}
	}
}

// TestMessagesInUserLanguage: the panel's own error messages, seen in
// English on the Italian panel before, are in the user's language.
func TestMessagesInUserLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tk := e.openTicket("lotto2", "+390612345678", "Stampante")
	adm := e.login("adm")
	for _, lang := range []struct {
		code string
		want []string
	}{
		{"it", []string{"Password troppo corta: almeno 10 caratteri.", "Nome utente non valido «bad login!»",
			"Data non valida «ieri»", "Un report copre al massimo 366 giorni.", "Manca la versione del ticket"}},
		{"en", []string{"Password too short: at least 10 characters.", "Invalid login “bad login!”",
			"Bad date “ieri”", "A report covers at most 366 days.", "The ticket version is missing"}},
	} {
		wantStatus(t, "language", adm.post("/lang", url.Values{"lang": {lang.code}, "back": {"/"}}), http.StatusSeeOther)
		for i, r := range []response{
			adm.post("/admin/users", url.Values{"login": {"nuovo"}, "name": {"Nuovo"}, "role": {"operator"},
				"password": {"corta"}, "password2": {"corta"}}),
			adm.post("/admin/users", url.Values{"login": {"bad login!"}, "name": {"Nuovo"}, "role": {"operator"},
				"password": {password}, "password2": {password}}),
			adm.get("/tickets?from=ieri"),
			adm.get("/reports?from=2024-01-01&to=2025-12-31"),
			adm.post(fmt.Sprintf("/tickets/%d", tk.ID), url.Values{"subject": {"x"}}),
		} {
			wantStatus(t, lang.want[i], r, http.StatusBadRequest)
			r.has(t, lang.want[i])
		}
	}
}
