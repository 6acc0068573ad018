package tickets_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/helpdesk-ivr/ivr/internal/fault"
	"github.com/helpdesk-ivr/ivr/tickets"
)

var knownOrgs = func(id string) bool { return id == "comune-prato" || id == "asl-roma" }

func TestContactsCRUD(t *testing.T) {
	t.Parallel()
	s, clk, _ := newStore(t, t0)
	c := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "comune-prato", Name: " Anna Bianchi ",
		Role: tickets.ContactReferent, Email: "Anna.Bianchi@comune.prato.it", Phones: []string{"0574 123456", "+39 333 1234567", "00390574123456"},
		Language: "IT"}))
	equal(t, "created", []any{c.Name, c.Phones, c.Language, c.Disabled, c.CreatedAt.Equal(t0)},
		[]any{"Anna Bianchi", []string{"+390574123456", "+393331234567"}, "it", false, true})

	// One person per address, whatever the case.
	_, err := s.CreateContact(ctx, tickets.Contact{Organization: "asl-roma", Name: "Altra", Role: tickets.ContactUser, Email: "anna.bianchi@COMUNE.prato.it"})
	wantErr(t, err, fault.ErrConflict)
	for _, bad := range []tickets.Contact{
		{Organization: "comune-prato", Name: "", Role: tickets.ContactUser},
		{Organization: "comune-prato", Name: "X", Role: "boss"},
		{Organization: "comune-prato", Name: "X", Role: tickets.ContactUser, Email: "not-an-address"},
		{Organization: "comune-prato", Name: "X", Role: tickets.ContactUser, Email: "X <x@y.it>"},
		{Organization: "comune-prato", Name: "X", Role: tickets.ContactUser, Phones: []string{"12345"}},
		{Organization: "", Name: "X", Role: tickets.ContactUser},
		{Organization: "comune-prato", Name: "X", Role: tickets.ContactUser, Language: "italiano"},
	} {
		if _, err := s.CreateContact(ctx, bad); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("create %+v: %v, want invalid", bad, err)
		}
	}

	u := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "comune-prato", Name: "Bruno Verdi",
		Role: tickets.ContactUser, Phones: []string{"3471112222"}}))
	clk.Advance(60e9)
	u.Email, u.Name = "bruno@comune.prato.it", "Bruno Verdi Rossi"
	u = must[tickets.Contact](t)(s.UpdateContact(ctx, u))
	if u.Name != "Bruno Verdi Rossi" || u.Email != "bruno@comune.prato.it" || u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("updated: %+v", u)
	}
	u.Email = "ANNA.bianchi@comune.prato.it"
	_, err = s.UpdateContact(ctx, u)
	wantErr(t, err, fault.ErrConflict)

	equal(t, "by id", must[tickets.Contact](t)(s.FindContactByID(ctx, c.ID)), c)
	equal(t, "by e-mail", must[tickets.Contact](t)(s.FindContactByEmail(ctx, "anna.BIANCHI@comune.prato.it")), c)
	_, err = s.FindContactByEmail(ctx, "nobody@x.it")
	wantErr(t, err, fault.ErrNotFound)
	byPhone := must[[]tickets.Contact](t)(s.FindContactsByPhone(ctx, "0574-123456", ""))
	if len(byPhone) != 1 || byPhone[0].ID != c.ID {
		t.Fatalf("by phone: %+v", byPhone)
	}
	if l := must[[]tickets.Contact](t)(s.FindContactsByPhone(ctx, "0574123456", "asl-roma")); len(l) != 0 {
		t.Fatalf("by phone of another Administration: %+v", l)
	}

	ids := func(l []tickets.Contact) []int64 {
		out := []int64{}
		for _, c := range l {
			out = append(out, c.ID)
		}
		return out
	}
	other := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "asl-roma", Name: "Carla Neri", Role: tickets.ContactUser}))
	equal(t, "all", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{}))), []int64{other.ID, c.ID, u.ID})
	equal(t, "of one", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{Organization: "comune-prato"}))), []int64{c.ID, u.ID})
	equal(t, "name", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{Text: "verdi"}))), []int64{u.ID})
	equal(t, "mail", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{Text: "BIANCHI@"}))), []int64{c.ID})
	equal(t, "national phone", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{Text: "347 1112222"}))), []int64{u.ID})
	equal(t, "like chars", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{Text: "%"}))), []int64{})

	d := must[tickets.Contact](t)(s.DisableContact(ctx, u.ID, true))
	if !d.Disabled {
		t.Fatal("not disabled")
	}
	equal(t, "disabled hidden", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{Organization: "comune-prato"}))), []int64{c.ID})
	equal(t, "disabled shown", ids(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{Organization: "comune-prato", IncludeDisabled: true}))), []int64{c.ID, u.ID})
	if l := must[[]tickets.Contact](t)(s.FindContactsByPhone(ctx, "3471112222", "")); len(l) != 0 {
		t.Fatalf("disabled by phone: %+v", l)
	}
	_, err = s.DisableContact(ctx, 999999, true)
	wantErr(t, err, fault.ErrNotFound)
}

func TestParseContactsCSV(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		want       []string // "line: substring"
		contacts   int
	}{
		{"good", "organization,name,role,email,phones,language\n" +
			"comune-prato,Anna,referent,anna@prato.it,0574 123456;+393331234567,it\n" +
			"\n" +
			"asl-roma,\"Rossi, Mario\",USER,mario@asl.it,,\n", nil, 2},
		{"columns in any order, language absent", "email,name,organization,role\nx@y.it,X,asl-roma,user\n", nil, 1},
		{"every error by line", "organization,name,role,email,phones,language\n" +
			"comune-prato,Anna,referent,anna@prato.it,,\n" +
			"comune-xyz,Bruno,capo,bruno-at-prato,12;0574 1,italiano\n" +
			"asl-roma,Carla,user,ANNA@prato.it,,\n" +
			"asl-roma,,user,,,\n",
			[]string{"3: unknown organization \"comune-xyz\"", "3: unknown role \"capo\"", "3: \"bruno-at-prato\" is not an e-mail",
				"3: phone \"12\"", "3: language \"italiano\"", "4: e-mail ANNA@prato.it also on line 2", "5: a contact needs a name", "5: e-mail missing"}, 1},
		{"bad header", "organization,nome,role\n", []string{"1: unknown column \"nome\"", "1: missing column \"name\"", "1: missing column \"email\""}, 0},
		{"empty", "", []string{"1: empty file"}, 0},
		{"header only", "organization,name,role,email\n", []string{"1: no contacts"}, 0},
		{"bad quote", "organization,name,role,email\nasl-roma,\"X,user,x@y.it\n", []string{"2: not valid CSV"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			list, errs := tickets.ParseContactsCSV(strings.NewReader(tc.file), knownOrgs)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			for _, w := range tc.want {
				line, msg, _ := strings.Cut(w, ": ")
				found := false
				for _, e := range errs {
					if "line "+line == strings.SplitN(e.Error(), ":", 2)[0] && strings.Contains(e.Message, msg) {
						found = true
					}
				}
				if !found {
					t.Errorf("no error %q in %q", w, got)
				}
			}
			if len(tc.want) == 0 && len(errs) > 0 {
				t.Errorf("errors %q", got)
			}
			if len(list) != tc.contacts {
				t.Errorf("%d contacts, want %d: %+v", len(list), tc.contacts, list)
			}
		})
	}
	list, _ := tickets.ParseContactsCSV(strings.NewReader("organization,name,role,email,phones\nasl-roma,\"Rossi, Mario\",USER,mario@asl.it,06 1234567 ; 3331234567\n"), knownOrgs)
	equal(t, "parsed", []any{list[0].Name, list[0].Role, list[0].Phones}, []any{"Rossi, Mario", tickets.ContactUser, []string{"+39061234567", "+393331234567"}})
}

func FuzzParseContactsCSV(f *testing.F) {
	f.Add("organization,name,role,email,phones,language\ncomune-prato,Anna,referent,anna@prato.it,0574 123456,it\n")
	f.Add("email,name\n\"x")
	f.Fuzz(func(t *testing.T, s string) {
		list, errs := tickets.ParseContactsCSV(strings.NewReader(s), knownOrgs)
		if len(list) == 0 && len(errs) == 0 {
			t.Fatal("neither contacts nor errors")
		}
		for _, c := range list {
			if _, err := tickets.NormalizeContact(c); err != nil || !knownOrgs(c.Organization) || c.Email == "" {
				t.Fatalf("accepted a bad contact %+v: %v", c, err)
			}
		}
	})
}

func TestImportContacts(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	existing := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "comune-prato", Name: "Anna",
		Role: tickets.ContactUser, Email: "anna@prato.it", Disabled: true}))
	must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "asl-roma", Name: "Dario", Role: tickets.ContactUser, Email: "dario@asl.it"}))
	count := func() int {
		return len(must[[]tickets.Contact](t)(s.FindContacts(ctx, tickets.ContactFilter{IncludeDisabled: true})))
	}

	good := "organization,name,role,email,phones,language\n" +
		"comune-prato,Anna Bianchi,referent,ANNA@prato.it,0574 123456,it\n" +
		"asl-roma,Mario Rossi,user,mario@asl.it,3331234567,\n"
	res := must[tickets.ImportResult](t)(s.ImportContacts(ctx, strings.NewReader(good), knownOrgs, true))
	equal(t, "dry run", []any{len(res.Errors), res.Created, res.Updated, count()}, []any{0, 1, 1, 2})

	// One wrong line: nothing is written, and the address of another
	// Administration's contact is an error of its line.
	bad := good + "comune-prato,Dario,user,dario@asl.it,,\n" + "comune-prato,Ezio,chief,ezio@prato.it,,\n"
	for _, dry := range []bool{true, false} {
		res = must[tickets.ImportResult](t)(s.ImportContacts(ctx, strings.NewReader(bad), knownOrgs, dry))
		if len(res.Errors) != 2 || res.Errors[0].Line != 4 || !strings.Contains(res.Errors[0].Message, `contact of "asl-roma"`) ||
			res.Errors[1].Line != 5 || res.Created+res.Updated != 0 {
			t.Fatalf("dry %v: %+v", dry, res)
		}
	}
	if count() != 2 || must[tickets.Contact](t)(s.FindContactByID(ctx, existing.ID)).Name != "Anna" {
		t.Fatal("a rejected import wrote")
	}

	res = must[tickets.ImportResult](t)(s.ImportContacts(ctx, strings.NewReader(good), knownOrgs, false))
	equal(t, "import", []any{len(res.Errors), res.Created, res.Updated, count()}, []any{0, 1, 1, 3})
	a := must[tickets.Contact](t)(s.FindContactByID(ctx, existing.ID))
	equal(t, "upserted by e-mail", []any{a.Name, a.Role, a.Phones, a.Language, a.Email, a.Disabled},
		[]any{"Anna Bianchi", tickets.ContactReferent, []string{"+390574123456"}, "it", "anna@prato.it", true})
	m := must[tickets.Contact](t)(s.FindContactByEmail(ctx, "mario@asl.it"))
	equal(t, "added", []any{m.Organization, m.Name, m.Phones, m.Language}, []any{"asl-roma", "Mario Rossi", []string{"+393331234567"}, ""})

	// Again: the same file updates, adds nothing.
	res = must[tickets.ImportResult](t)(s.ImportContacts(ctx, strings.NewReader(good), knownOrgs, false))
	equal(t, "again", []any{res.Created, res.Updated, count()}, []any{0, 2, 3})
}

func TestCallFillsContact(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	mk := func(org, name, phone string) tickets.Contact {
		return must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: org, Name: name, Role: tickets.ContactUser, Phones: []string{phone}}))
	}
	anna := mk("comune-prato", "Anna", "+390574111111")
	mk("comune-prato", "Bruno", "+390574222222")
	mk("asl-roma", "Carla", "+390574222222") // one switchboard, two people
	dis := mk("comune-prato", "Dario", "+390574333333")
	must[tickets.Contact](t)(s.DisableContact(ctx, dis.ID, true))
	mk("asl-roma", "Ezio", "+390574444444")
	mk("comune-prato", "Franca", "+390574444444") // one number, two Administrations

	for _, tc := range []struct {
		caller, org string
		want        int64
	}{
		{"+390574111111", "", anna.ID},             // unknown Administration: the person's
		{"+390574111111", "comune-prato", anna.ID}, // the same
		{"+390574111111", "asl-roma", 0},           // the caller id says another Administration
		{"+390574222222", "", 0},                   // two people with this number
		{"+390574333333", "comune-prato", 0},       // disabled
		{"+390574999999", "comune-prato", 0},       // unknown number
		{"", "comune-prato", 0},                    // withheld
		{"+390574444444", "comune-prato", must[[]tickets.Contact](t)(s.FindContactsByPhone(ctx, "+390574444444", "comune-prato"))[0].ID},
	} {
		_, tk := open(t, s, tickets.NewCall{Caller: tc.caller, Organization: tc.org})
		if tk.ContactID != tc.want {
			t.Errorf("call from %q of %q: contact %d, want %d", tc.caller, tc.org, tk.ContactID, tc.want)
		}
		if got := must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system)); got.ContactID != tc.want {
			t.Errorf("call from %q of %q: stored contact %d, want %d", tc.caller, tc.org, got.ContactID, tc.want)
		}
	}
}

func TestTicketContactUpdate(t *testing.T) {
	t.Parallel()
	s, _, _ := newStore(t, t0)
	anna := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "comune-prato", Name: "Anna", Role: tickets.ContactUser, Phones: []string{"+390574111111"}}))
	carla := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "asl-roma", Name: "Carla", Role: tickets.ContactUser, Phones: []string{"+390574111111"}}))
	other := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "asl-roma", Name: "Ugo", Role: tickets.ContactUser}))
	off := must[tickets.Contact](t)(s.CreateContact(ctx, tickets.Contact{Organization: "comune-prato", Name: "Off", Role: tickets.ContactUser, Disabled: true}))

	// The caller id said comune-prato: Anna. A PIN then says asl-roma:
	// Anna goes, and the one asl-roma contact with the number comes.
	_, tk := open(t, s, tickets.NewCall{Caller: "+390574111111", Organization: "comune-prato"})
	equal(t, "opened", tk.ContactID, anna.ID)
	tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, Organization: ptr("asl-roma")}, sysActor))
	equal(t, "after PIN", tk.ContactID, carla.ID)

	// Explicit choices: another Administration's or a disabled contact no.
	for _, id := range []int64{anna.ID, off.ID, 987654} {
		_, err := s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, ContactID: ptr(id)}, operator)
		wantErr(t, err, fault.ErrInvalid)
	}
	tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, ContactID: ptr(other.ID)}, operator))
	equal(t, "picked", tk.ContactID, other.ID)
	tk = must[tickets.Ticket](t)(s.UpdateTicket(ctx, tk.ID, tickets.TicketUpdate{Version: tk.Version, ContactID: ptr(int64(0))}, operator))
	equal(t, "cleared", tk.ContactID, int64(0))
	equal(t, "stored", must[tickets.Ticket](t)(s.FindTicketByID(ctx, tk.ID, system)).ContactID, int64(0))

	var got []string
	for _, c := range must[[]tickets.Change](t)(s.History(ctx, tk.ID, everyone)) {
		if c.Field == "contact" {
			got = append(got, c.Actor.ID+":"+c.Old+">"+c.New)
		}
	}
	equal(t, "history", got, []string{"ivr:" + itoa(anna.ID) + ">" + itoa(carla.ID), "mrossi:" + itoa(carla.ID) + ">" + itoa(other.ID), "mrossi:" + itoa(other.ID) + ">"})

	// A ticket of no Administration keeps the contact it is given.
	_, nt := open(t, s, tickets.NewCall{Caller: "+390574999999"})
	nt = must[tickets.Ticket](t)(s.UpdateTicket(ctx, nt.ID, tickets.TicketUpdate{Version: nt.Version, ContactID: ptr(anna.ID)}, operator))
	equal(t, "no Administration", nt.ContactID, anna.ID)
	// The PIN then says comune-prato, Anna's: she stays.
	nt = must[tickets.Ticket](t)(s.UpdateTicket(ctx, nt.ID, tickets.TicketUpdate{Version: nt.Version, Organization: ptr("comune-prato")}, sysActor))
	equal(t, "same Administration", nt.ContactID, anna.ID)
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
