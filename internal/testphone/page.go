package testphone

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
)

//go:embed web
var webFS embed.FS

var (
	pageTmpl = template.Must(template.ParseFS(webFS, "web/phone.html"))
	staticFS = must(fs.Sub(webFS, "web/static"))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// texts are the page's words, by language; "it" is the default.
var texts = map[string]map[string]string{
	"it": {
		"title": "Telefono di prova", "caller": "Numero del chiamante", "at": "Data e ora (vuoto: adesso)",
		"call": "Chiama", "hangup": "Riaggancia", "ticket": "Ticket", "transcript": "Trascrizione",
		"keypad": "Tastiera", "idle": "Pronto", "calling": "In chiamata", "ended": "Chiamata terminata",
		"error": "Errore", "builtin": "Suono di Asterisk (non riprodotto)", "nobody": "Nessun audio: solo trascrizione", "placing": "Chiamata in corso…",
		"back": "← Torna al pannello", "draft": "Le chiamate seguono la bozza della configurazione n.",
		"answer": "Rispondi", "cbWaiting": "Richiamata prenotata: resta su questa pagina, il telefono squillerà al tuo turno.",
		"cbRinging": "Il servizio di assistenza ti sta richiamando…", "cbNoAnswer": "Richiamata non risposta: il servizio riproverà più tardi.",
		"cbFailed": "Richiamata non riuscita: il ticket passa al gruppo.",
	},
	"en": {
		"title": "Test phone", "caller": "Caller number", "at": "Date and time (empty: now)",
		"call": "Call", "hangup": "Hang up", "ticket": "Ticket", "transcript": "Transcript",
		"keypad": "Keypad", "idle": "Ready", "calling": "In a call", "ended": "Call ended",
		"error": "Error", "builtin": "Asterisk sound (not played)", "nobody": "No audio: transcript only", "placing": "Calling…",
		"back": "← Back to the panel", "draft": "Calls follow the draft configuration no.",
		"answer": "Answer", "cbWaiting": "Callback booked: stay on this page, the phone will ring in your turn.",
		"cbRinging": "The help desk is calling you back…", "cbNoAnswer": "Callback not answered: the help desk will try again later.",
		"cbFailed": "Callback failed: the ticket goes to the group.",
	},
}

type pageData struct {
	Lang, CSRF, Base string
	T                map[string]string
	Msgs             string // texts as JSON, for the script
	CanAt, Audio     bool
	Keys             []string
	// Draft is the draft version the calls run under (?draft=ID), "" for
	// the configuration in force.
	Draft string
}

func (p *Phone) lang(r *http.Request) string {
	if l := p.o.Lang(r); texts[l] != nil {
		return l
	}
	return "it"
}

func (p *Phone) page(w http.ResponseWriter, r *http.Request) {
	lang := p.lang(r)
	msgs, _ := json.Marshal(texts[lang])
	d := pageData{
		Lang: lang, T: texts[lang], Msgs: string(msgs),
		// The routes may be mounted under a prefix: the script builds
		// its URLs from the page's own path.
		Base:  strings.TrimSuffix(r.URL.Path, "/testphone"),
		CanAt: p.o.NewDesk != nil, Audio: p.o.Prompts != "" && p.o.Config != nil,
		Keys: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"},
	}
	if p.o.CSRFToken != nil {
		d.CSRF = p.o.CSRFToken(r)
	}
	if id, err := strconv.ParseInt(r.URL.Query().Get("draft"), 10, 64); err == nil && id > 0 && p.o.Draft != nil {
		d.Draft = strconv.FormatInt(id, 10)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTmpl.Execute(w, d); err != nil {
		p.o.Logger.Error("testphone_page_failed", "error", err.Error())
	}
}

// static serves the page's script and style (a strict CSP allows no
// inline script).
func (p *Phone) static(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "*")
	ct := map[string]string{"phone.js": "text/javascript; charset=utf-8", "phone.css": "text/css; charset=utf-8"}[name]
	b, err := fs.ReadFile(staticFS, name)
	if ct == "" || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
