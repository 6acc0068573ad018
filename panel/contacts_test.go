package panel

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/tickets"
)

func (e *env) contact(org, name, email string, phones ...string) tickets.Contact {
	e.t.Helper()
	c, err := e.store.CreateContact(ctx, tickets.Contact{Organization: org, Name: name, Role: tickets.ContactUser, Email: email, Phones: phones})
	noErr(e.t, err)
	return c
}

// TestContactsRoles: everybody reads the directory; only supervisors and
// administrators write it or import into it, every write needs the form
// token, and an operator's refused write changes nothing.
func TestContactsRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.contact("tribunale-roma-demo", "Anna Bianchi", "anna@tribunale.example", "0612340000")
	op, sup, adm := e.login("op2"), e.login("sup"), e.login("adm")
	id := fmt.Sprint(c.ID)
	form := url.Values{"organization": {"tribunale-roma-demo"}, "name": {"Changed"}, "role": {"user"}}
	csv := url.Values{"csv": {"organization,name,role,email\ntribunale-roma-demo,Ugo,user,ugo@x.example\n"}}

	r := op.get("/contacts")
	wantStatus(t, "operator's list", r, http.StatusOK)
	r.has(t, "Anna Bianchi", "&#43;390612340000")
	r.hasNot(t, `data-testid="contact-new"`, `data-testid="contact-edit"`, `data-testid="contact-disable"`)
	for _, p := range []string{"/contacts/new", "/contacts/import", "/contacts/" + id} {
		wantStatus(t, "operator GET "+p, op.get(p), http.StatusForbidden)
	}
	for _, p := range []struct {
		path string
		form url.Values
	}{{"/contacts/new", form}, {"/contacts/" + id, form}, {"/contacts/" + id + "/disable", url.Values{}},
		{"/contacts/import", csv}, {"/contacts/import", with(csv, "confirm", "1")}} {
		wantStatus(t, "operator POST "+p.path, op.post(p.path, p.form), http.StatusForbidden)
		// Without the token, a supervisor is refused as well.
		wantStatus(t, "no token POST "+p.path, sup.post(p.path, with(p.form, "csrf", "")), http.StatusForbidden)
	}
	list, err := e.store.FindContacts(ctx, tickets.ContactFilter{IncludeDisabled: true})
	noErr(t, err)
	if len(list) != 1 || list[0].Name != "Anna Bianchi" || list[0].Disabled {
		t.Fatalf("refused writes changed the directory: %+v", list)
	}

	for _, u := range []*client{sup, adm} {
		wantStatus(t, "GET new", u.get("/contacts/new"), http.StatusOK)
		wantStatus(t, "GET edit", u.get("/contacts/"+id), http.StatusOK)
		wantStatus(t, "GET import", u.get("/contacts/import"), http.StatusOK)
		u.get("/contacts").has(t, `data-testid="contact-new"`, `data-testid="contact-edit"`)
	}
	wantStatus(t, "unknown contact", sup.get("/contacts/999999"), http.StatusNotFound)
	wantStatus(t, "save", sup.post("/contacts/"+id, form), http.StatusSeeOther)
	wantStatus(t, "disable", adm.post("/contacts/"+id+"/disable", url.Values{}), http.StatusSeeOther)
	got, err := e.store.FindContactByID(ctx, c.ID)
	noErr(t, err)
	if got.Name != "Changed" || !got.Disabled {
		t.Fatalf("after the supervisor's writes: %+v", got)
	}
	// The audit log says who changed the directory; refused writes are
	// not in it.
	var audit []string
	for _, login := range []string{"op2", "sup", "adm"} {
		list, err := e.srv.Audit().List(ctx, login, 10)
		noErr(t, err)
		for _, a := range list {
			audit = append(audit, a.Login+" "+a.Action+" "+a.Target)
		}
	}
	if want := "sup contact.update contact:" + id + ",adm contact.disable contact:" + id; strings.Join(audit, ",") != want {
		t.Fatalf("audit log %q, want %q", audit, want)
	}
}

func with(v url.Values, k, x string) url.Values {
	out := cloneValues(v)
	out.Set(k, x)
	return out
}

// TestContactsFormAndImport: the form's errors come back in the user's
// language with the values typed; the import's dry run lists every wrong
// line and writes nothing, its confirmation writes a right file, and a
// file uploaded as a file works as one pasted.
func TestContactsFormAndImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup := e.login("sup")
	e.contact("tribunale-roma-demo", "Anna", "anna@tribunale.example")
	base := url.Values{"organization": {"tribunale-roma-demo"}, "name": {"Bruno Neri"}, "role": {"referent"},
		"email": {"bruno@tribunale.example"}, "phones": {"06 1234 5678; 333 1234567"}, "language": {"it"}}
	for _, tc := range []struct {
		field, value, want string
		status             int
	}{
		{"email", "not-an-address", "non è un indirizzo e-mail", http.StatusBadRequest},
		{"phones", "06 1234 5678; 12", "«12» non è un numero di telefono", http.StatusBadRequest},
		{"organization", "comune-xyz", "Amministrazione sconosciuta", http.StatusBadRequest},
		{"role", "boss", "Ruolo sconosciuto", http.StatusBadRequest},
		{"name", "", "Nome", http.StatusBadRequest},
		{"email", "ANNA@tribunale.example", "Un altro contatto ha già questo indirizzo", http.StatusConflict},
	} {
		r := sup.post("/contacts/new", with(base, tc.field, tc.value))
		wantStatus(t, tc.field+"="+tc.value, r, tc.status)
		r.has(t, tc.want)
		if tc.field != "name" {
			r.has(t, `value="Bruno Neri"`) // the form comes back as typed
		}
	}
	wantStatus(t, "good", sup.post("/contacts/new", base), http.StatusSeeOther)
	c, err := e.store.FindContactByEmail(ctx, "bruno@tribunale.example")
	noErr(t, err)
	if strings.Join(c.Phones, " ") != "+390612345678 +393331234567" || c.Role != tickets.ContactReferent {
		t.Fatalf("saved %+v", c)
	}
	sup.get("/contacts?q=333+1234567").has(t, "Bruno Neri")
	sup.get("/contacts?q=333+1234567").hasNot(t, ">Anna<")
	sup.get("/contacts?org=corte-appello-milano-demo").has(t, `data-testid="contacts-none"`)

	bad := "organization,name,role,email,phones\n" +
		"tribunale-roma-demo,Carla,user,carla@tribunale.example,\n" +
		"comune-xyz,Dario,boss,dario@x.example,12\n" +
		"tribunale-roma-demo,Ezio,user,CARLA@tribunale.example,\n"
	r := sup.post("/contacts/import", url.Values{"csv": {bad}})
	wantStatus(t, "dry run with errors", r, http.StatusUnprocessableEntity)
	r.has(t, `data-testid="import-rejected"`, `<td data-testid="import-error-line">3</td>`, "unknown organization", `unknown role`,
		`<td data-testid="import-error-line">4</td>`, "also on line 2")
	r.hasNot(t, `data-testid="import-confirm"`)
	// Confirming a wrong file (a forged form) writes nothing either.
	wantStatus(t, "confirm with errors", sup.post("/contacts/import", url.Values{"csv": {bad}, "confirm": {"1"}}), http.StatusUnprocessableEntity)
	if _, err := e.store.FindContactByEmail(ctx, "carla@tribunale.example"); err == nil {
		t.Fatal("a wrong file was imported")
	}

	good := "organization,name,role,email,phones\n" +
		"tribunale-roma-demo,Carla,user,carla@tribunale.example,06 5555 0001\n" +
		"tribunale-roma-demo,Anna Bianchi,referent,anna@tribunale.example,\n"
	r = sup.postMultipart("/contacts/import", map[string]string{}, "file", "contatti.csv", good)
	wantStatus(t, "dry run", r, http.StatusOK)
	r.has(t, `data-testid="import-preview"`, "1 contatti da aggiungere, 1 da aggiornare", `data-testid="import-confirm"`)
	if _, err := e.store.FindContactByEmail(ctx, "carla@tribunale.example"); err == nil {
		t.Fatal("the dry run imported")
	}
	r = sup.post("/contacts/import", url.Values{"csv": {good}, "confirm": {"1"}})
	wantStatus(t, "import", r, http.StatusOK)
	r.has(t, `data-testid="import-done"`, "1 contatti aggiunti, 1 aggiornati")
	a, err := e.store.FindContactByEmail(ctx, "anna@tribunale.example")
	noErr(t, err)
	if a.Name != "Anna Bianchi" || a.Role != tickets.ContactReferent {
		t.Fatalf("not updated: %+v", a)
	}
}

// postMultipart posts a multipart form with one file, as a browser's file
// input does.
func (c *client) postMultipart(path string, fields map[string]string, field, name, content string) response {
	c.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields["csrf"] = c.csrf
	for k, v := range fields {
		noErr(c.e.t, mw.WriteField(k, v))
	}
	fw, err := mw.CreateFormFile(field, name)
	noErr(c.e.t, err)
	_, _ = fw.Write([]byte(content))
	noErr(c.e.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, c.e.ts.URL+path, &body)
	noErr(c.e.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", c.e.ts.URL)
	return c.do(req)
}

// TestTicketContact: an operator sets, clears and adds the contact of a
// ticket of their group, never one of another group's ticket nor a
// contact of another Administration; the history names the contacts.
func TestTicketContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	anna := e.contact("tribunale-roma-demo", "Anna Bianchi", "anna@tribunale.example", "+390612345678")
	milan := e.contact("corte-appello-milano-demo", "Mario Milano", "mario@milano.example")
	_, tk := e.openTicket("lotto2", "+390612345678", "PEC")
	if tk.ContactID != anna.ID {
		t.Fatalf("the call did not fill the contact: %d", tk.ContactID)
	}
	op2, op3 := e.login("op2"), e.login("op3")
	path := fmt.Sprintf("/tickets/%d", tk.ID)
	op2.get(path).has(t, `data-testid="ticket-contact-name">Anna Bianchi`, "anna@tribunale.example", "&#43;390612345678")

	set := func(c *client, contact int64, version int) response {
		return c.post(path+"/contact", url.Values{"contact": {fmt.Sprint(contact)}, "version": {fmt.Sprint(version)}})
	}
	wantStatus(t, "another group's ticket", set(op3, 0, tk.Version), http.StatusNotFound)
	wantStatus(t, "another Administration's contact", set(op2, milan.ID, tk.Version), http.StatusBadRequest)
	wantStatus(t, "clear", set(op2, 0, tk.Version), http.StatusSeeOther)
	wantStatus(t, "stale form", set(op2, anna.ID, tk.Version), http.StatusConflict)
	op2.get(path).has(t, `data-testid="ticket-contact-none"`)

	r := op2.post(path+"/contact/new", url.Values{"name": {"Luca Verdi"}, "role": {"user"}, "email": {"luca@tribunale.example"},
		"phones": {"06 9999 0000"}, "version": {fmt.Sprint(tk.Version + 1)}, "organization": {"corte-appello-milano-demo"}})
	wantStatus(t, "add inline", r, http.StatusSeeOther)
	luca, err := e.store.FindContactByEmail(ctx, "luca@tribunale.example")
	noErr(t, err)
	if luca.Organization != "tribunale-roma-demo" {
		t.Fatalf("a contact added on a ticket belongs to the ticket's Administration, not %q", luca.Organization)
	}
	got, err := e.store.FindTicketByID(ctx, tk.ID, tickets.Viewer{Kind: tickets.ViewerSystem})
	noErr(t, err)
	if got.ContactID != luca.ID {
		t.Fatalf("contact %d, want %d", got.ContactID, luca.ID)
	}
	page := op2.get(path)
	page.has(t, `data-testid="ticket-contact-name">Luca Verdi`, fmt.Sprintf("Anna Bianchi (#%d)", anna.ID), fmt.Sprintf("Luca Verdi (#%d)", luca.ID))
	wantStatus(t, "op3 adds on another group's ticket", op3.post(path+"/contact/new", url.Values{"name": {"X"}, "role": {"user"},
		"version": {fmt.Sprint(got.Version)}}), http.StatusNotFound)
}
