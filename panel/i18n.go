package panel

import (
	"fmt"
	"time"

	"github.com/helpdesk-ivr/ivr/hours"
)

// lang is a panel language ("it" or "en"); its methods translate and
// format for the templates.
type lang string

// T translates a message key; a missing key shows itself, and a test
// checks that both languages have every key.
func (l lang) T(key string) string {
	if m, ok := catalogue[string(l)][key]; ok {
		return m
	}
	if m, ok := catalogue["it"][key]; ok {
		return m
	}
	return key
}

// Tf translates a key whose message has fmt verbs.
func (l lang) Tf(key string, args ...any) string { return fmt.Sprintf(l.T(key), args...) }

// Has reports whether key exists.
func (l lang) Has(key string) bool {
	_, ok := catalogue[string(l)][key]
	return ok
}

// Clock is a time of day, 15:04:05.
func (l lang) Clock(t time.Time) string { return t.Format("15:04:05") }

// DateTime is a date and time in the language's order.
func (l lang) DateTime(t time.Time) string {
	if l == "en" {
		return t.Format("2006-01-02 15:04")
	}
	return t.Format("02/01/2006 15:04")
}

// Date is a date in the language's order.
func (l lang) Date(t time.Time) string {
	if l == "en" {
		return t.Format("2006-01-02")
	}
	return t.Format("02/01/2006")
}

// DateOf formats a calendar date with its weekday.
func (l lang) DateOf(d hours.Date) string {
	wd := l.Weekday(d.Weekday())
	if l == "en" {
		return fmt.Sprintf("%s %04d-%02d-%02d", wd, d.Year, d.Month, d.Day)
	}
	return fmt.Sprintf("%s %02d/%02d/%04d", wd, d.Day, d.Month, d.Year)
}

// Weekday names a day of the week.
func (l lang) Weekday(d time.Weekday) string { return l.T(fmt.Sprintf("day.%d", d)) }

// Reason names a pause reason, or shows one typed by the operator.
func (l lang) Reason(r string) string {
	if l.Has("reason." + r) {
		return l.T("reason." + r)
	}
	return r
}

// Field names a field of the ticket history.
func (l lang) Field(f string) string {
	if l.Has("field." + f) {
		return l.T("field." + f)
	}
	return f
}

var catalogue = map[string]map[string]string{
	"it": {
		"app.name": "Help desk", "app.skip": "Vai al contenuto",
		"nav.label": "Menu principale", "nav.wallboard": "Wallboard", "nav.live": "Chiamate in corso", "nav.console": "Console operatore",
		"nav.tickets": "Ticket", "nav.afterhours": "Richieste fuori orario", "nav.reports": "Report", "nav.config": "Configurazione",
		"nav.users": "Utenti", "nav.logout": "Esci",
		"lang.label": "Lingua", "lang.switch": "Cambia",
		"role.operator": "operatore", "role.supervisor": "supervisore", "role.admin": "amministratore",
		"login.title": "Accesso", "login.login": "Utente", "login.password": "Password", "login.submit": "Entra",
		"login.wrong":  "Utente o password errati.",
		"login.locked": "Troppi tentativi falliti: accesso bloccato fino alle %s. Riprovi più tardi.",
		"err.csrf":     "Modulo scaduto o non valido: ricarichi la pagina e riprovi.",
		"err.home":     "Torna alla pagina iniziale", "err.400": "Richiesta non valida", "err.401": "Accesso richiesto",
		"err.403": "Non autorizzato", "err.404": "Non trovato", "err.409": "Conflitto", "err.429": "Troppi tentativi",
		"err.500":   "Errore interno: riprovi più tardi",
		"msg.saved": "Ticket salvato.", "msg.article": "Messaggio aggiunto.", "msg.state": "Stato aggiornato.",
		"msg.busy":       "Non è possibile cambiare stato durante una chiamata.",
		"msg.user_added": "Utente creato.", "msg.user_changed": "Utente aggiornato.", "msg.reloaded": "Configurazione ricaricata.",
		"queues.none": "Code operatori non configurate.",
		"live.failed": "Lettura parziale: alcuni dati potrebbero non essere aggiornati.",
		"wb.caption":  "Situazione delle code, aggiornata alle", "wb.group": "Gruppo", "wb.waiting": "In attesa",
		"wb.longest": "Attesa max", "wb.available": "Disponibili", "wb.busy": "In chiamata", "wb.wrapup": "Post-chiamata",
		"wb.paused": "In pausa", "wb.offered": "Offerte", "wb.answered": "Risposte", "wb.abandoned": "Abbandonate",
		"wb.sl": "Livello di servizio", "wb.nogroups": "Nessun gruppo.",
		"live.none": "Chiamate in corso non disponibili.", "live.caption": "Chiamate attive alle", "live.caller": "Chiamante",
		"live.where": "Dove", "live.operator": "Operatore", "live.duration": "Durata", "live.in_phase": "Nella fase",
		"live.nocalls": "Nessuna chiamata in corso.", "live.withheld": "numero riservato", "live.position": "posizione",
		"phase.menu": "Menu", "phase.pin": "PIN", "phase.closed": "Fuori orario", "phase.queue": "In coda",
		"phase.ringing": "Squilla", "phase.talking": "In conversazione", "phase.message": "Lascia un messaggio",
		"phase.status": "Stato ticket", "phase.ending": "In chiusura",
		"caller.referent": "Referente tecnico", "caller.user": "Utente", "caller.unknown": "Non identificato",
		"console.state": "Il mio stato", "console.call": "La mia chiamata",
		"console.not_operator": "Il suo utente non è un operatore delle code.",
		"console.since":        "dalle", "console.available": "Disponibile", "console.pause": "Pausa", "console.reason": "Motivo",
		"console.other": "Altro motivo", "console.logout": "Disconnetti dalle code",
		"console.reason_needed": "Una pausa richiede un motivo.", "console.no_call": "Nessuna chiamata in questo momento.",
		"console.answer": "Rispondi", "console.hangup": "Riaggancia",
		"msg.phone":         "Il telefono non ha risposto al comando: la chiamata è forse già finita.",
		"console.stale":     "Il ticket o la chiamata sono cambiati mentre lei scriveva: salvi per vedere le differenze, o ricarichi la pagina.",
		"console.no_ticket": "Nessun ticket visibile per questa chiamata.", "console.wait": "Attesa",
		"console.by_caller": "Ticket precedenti del chiamante", "console.by_org": "Ticket precedenti dell'Amministrazione",
		"opstate.logged_out": "Disconnesso", "opstate.available": "Disponibile", "opstate.offered": "Chiamata in arrivo",
		"opstate.on_call": "In chiamata", "opstate.wrap_up": "Post-chiamata", "opstate.paused": "In pausa",
		"reason.break": "Pausa", "reason.back_office": "Back office", "reason.training": "Formazione",
		"reason.no_answer": "Chiamata non risposta",
		"status.new":       "Nuovo", "status.in_progress": "In lavorazione", "status.waiting": "In attesa", "status.closed": "Chiuso",
		"priority.critical": "Critico/Bloccante", "priority.high": "Alto", "priority.medium": "Medio", "priority.low": "Basso",
		"source.phone": "Telefono", "source.after_hours": "Fuori orario", "source.panel": "Pannello",
		"ticket.number": "Numero", "ticket.subject": "Oggetto", "ticket.status": "Stato", "ticket.priority": "Priorità",
		"ticket.category": "Categoria", "ticket.group": "Gruppo", "ticket.assignee": "Assegnato a", "ticket.save": "Salva",
		"ticket.created": "Aperto", "ticket.caller": "Chiamante", "ticket.organization": "Amministrazione",
		"ticket.role": "Ruolo", "ticket.menu_path": "Percorso nel menu", "ticket.source": "Canale", "ticket.due": "Scadenza",
		"ticket.closed": "Chiuso il", "ticket.facts": "Dati del ticket", "ticket.edit": "Modifica",
		"ticket.articles": "Messaggi e note", "ticket.attachments": "Allegati", "ticket.calls": "Chiamate",
		"ticket.history": "Storico", "ticket.no_calls": "Nessuna chiamata.", "ticket.recordings": "Registrazioni",
		"ticket.transition":    "Un ticket non può passare da «%s» a «%s».",
		"ticket.conflict":      "Il ticket è stato modificato da un altro utente mentre lei lo modificava: nulla è stato salvato.",
		"ticket.conflict_help": "Sotto trova i dati attuali del ticket e, nel modulo, le sue modifiche: le controlli e salvi di nuovo per applicarle.",
		"article.kind":         "Tipo", "article.internal": "Nota interna (solo personale)",
		"article.public": "Messaggio pubblico (visibile al chiamante)", "article.body": "Testo", "article.add": "Aggiungi",
		"article.none": "Nessun messaggio.", "attachment.none": "Nessun allegato.",
		"recording.download": "Scarica la registrazione", "recording.unavailable": "Registrazione non disponibile",
		"history.at": "Quando", "history.who": "Chi", "history.field": "Campo", "history.old": "Prima", "history.new": "Dopo",
		"history.created": "Ticket aperto",
		"field.status":    "Stato", "field.priority": "Priorità", "field.group": "Gruppo", "field.assignee": "Assegnato a",
		"field.category": "Categoria", "field.subject": "Oggetto", "field.description": "Descrizione",
		"field.article": "Messaggio pubblico", "field.internal_note": "Nota interna", "field.attachment": "Allegato",
		"field.closed_at": "Chiuso il", "field.due_at": "Scadenza", "field.organization": "Amministrazione",
		"tickets.search": "Cerca", "tickets.all_groups": "Tutti i gruppi", "tickets.count": "%d ticket",
		"tickets.count_more": "più di %d ticket", "tickets.none": "Nessun ticket.", "tickets.first": "Prima pagina",
		"tickets.next": "Pagina successiva", "tickets.pages": "Pagine",
		"filter.from": "Dal", "filter.to": "Al", "filter.apply": "Filtra", "filter.reset": "Azzera",
		"afterhours.help": "Richieste lasciate a servizio chiuso, da lavorare entro la scadenza (il giorno lavorativo successivo).",
		"afterhours.none": "Nessuna richiesta aperta.", "afterhours.overdue": "scaduta",
		"reports.bucket": "Dettaglio", "reports.day": "Per giorno", "reports.hour": "Per ora", "reports.csv": "Esporta CSV",
		"reports.caption": "Chiamate per gruppo (livello di servizio: risposta entro %d s)", "reports.period": "Periodo",
		"reports.asa": "ASA", "reports.asa_long": "Tempo medio di risposta", "reports.aht": "AHT",
		"reports.aht_long": "Durata media della conversazione", "reports.none": "Nessuna chiamata nel periodo.",
		"reports.total": "Totale", "reports.chart": "Chiamate per periodo e livello di servizio", "reports.other": "Altre (trasferite)",
		"config.service": "Servizio", "config.name": "Nome", "config.number": "Numero", "config.timezone": "Fuso orario",
		"config.schedule": "Orario", "config.file": "File", "config.reload": "Ricarica la configurazione",
		"config.reload_failed": "La nuova configurazione non è valida; resta in vigore la precedente.",
		"config.tree":          "Albero del menu", "config.root": "Menu principale", "config.org_route": "instradamento per Amministrazione",
		"config.schedules": "Orari e festività", "config.used_by": "Usato da:", "config.weekly": "Orario settimanale",
		"config.closed": "chiuso", "config.holidays": "Festività dal %s al %s", "config.closures": "Chiusure straordinarie",
		"config.openings": "Aperture straordinarie", "config.groups": "Gruppi e operatori", "config.strategy": "Strategia di coda", "config.penalty": "penalità",
		"config.operators": "Operatori",
		"users.login":      "Utente", "users.name": "Nome", "users.role": "Ruolo", "users.state": "Stato", "users.actions": "Azioni",
		"users.disabled": "disabilitato", "users.enabled": "attivo", "users.disable": "Disabilita", "users.enable": "Abilita",
		"users.new_password": "Nuova password", "users.set_password": "Imposta", "users.add": "Nuovo utente",
		"users.confirm": "Conferma password", "users.mismatch": "Le due password non coincidono.",
		"users.not_self": "Non può disabilitare il suo stesso utente.",
		"day.0":          "domenica", "day.1": "lunedì", "day.2": "martedì", "day.3": "mercoledì", "day.4": "giovedì",
		"day.5": "venerdì", "day.6": "sabato",
	},
	"en": {
		"app.name": "Help desk", "app.skip": "Skip to content",
		"nav.label": "Main menu", "nav.wallboard": "Wallboard", "nav.live": "Live calls", "nav.console": "Operator console",
		"nav.tickets": "Tickets", "nav.afterhours": "After-hours requests", "nav.reports": "Reports", "nav.config": "Configuration",
		"nav.users": "Users", "nav.logout": "Log out",
		"lang.label": "Language", "lang.switch": "Switch",
		"role.operator": "operator", "role.supervisor": "supervisor", "role.admin": "administrator",
		"login.title": "Log in", "login.login": "User", "login.password": "Password", "login.submit": "Log in",
		"login.wrong":  "Wrong user or password.",
		"login.locked": "Too many failed attempts: logins are locked until %s. Please try again later.",
		"err.csrf":     "The form has expired or is not valid: reload the page and try again.",
		"err.home":     "Back to the start page", "err.400": "Bad request", "err.401": "Please log in",
		"err.403": "Forbidden", "err.404": "Not found", "err.409": "Conflict", "err.429": "Too many attempts",
		"err.500":   "Internal error: please try again later",
		"msg.saved": "Ticket saved.", "msg.article": "Message added.", "msg.state": "State updated.",
		"msg.busy":       "You cannot change your state during a call.",
		"msg.user_added": "User created.", "msg.user_changed": "User updated.", "msg.reloaded": "Configuration reloaded.",
		"queues.none": "Operator queues are not configured.",
		"live.failed": "Partial reading: some figures may be out of date.",
		"wb.caption":  "Queues, updated at", "wb.group": "Group", "wb.waiting": "Waiting",
		"wb.longest": "Longest wait", "wb.available": "Available", "wb.busy": "On call", "wb.wrapup": "Wrap-up",
		"wb.paused": "Paused", "wb.offered": "Offered", "wb.answered": "Answered", "wb.abandoned": "Abandoned",
		"wb.sl": "Service level", "wb.nogroups": "No groups.",
		"live.none": "Live calls are not available.", "live.caption": "Active calls at", "live.caller": "Caller",
		"live.where": "Where", "live.operator": "Operator", "live.duration": "Duration", "live.in_phase": "In this phase",
		"live.nocalls": "No calls in progress.", "live.withheld": "withheld number", "live.position": "position",
		"phase.menu": "Menu", "phase.pin": "PIN", "phase.closed": "After hours", "phase.queue": "Queued",
		"phase.ringing": "Ringing", "phase.talking": "Talking", "phase.message": "Leaving a message",
		"phase.status": "Ticket status", "phase.ending": "Ending",
		"caller.referent": "Technical referent", "caller.user": "User", "caller.unknown": "Not identified",
		"console.state": "My state", "console.call": "My call",
		"console.not_operator": "Your user is not a queue operator.",
		"console.since":        "since", "console.available": "Available", "console.pause": "Pause", "console.reason": "Reason",
		"console.other": "Other reason", "console.logout": "Log out of the queues",
		"console.reason_needed": "A pause needs a reason.", "console.no_call": "No call right now.",
		"console.answer": "Answer", "console.hangup": "Hang up",
		"msg.phone":         "The phone did not take the command: the call may be over already.",
		"console.stale":     "The ticket or the call changed while you were typing: save to see the differences, or reload the page.",
		"console.no_ticket": "No visible ticket for this call.", "console.wait": "Wait",
		"console.by_caller": "Previous tickets of the caller", "console.by_org": "Previous tickets of the Administration",
		"opstate.logged_out": "Logged out", "opstate.available": "Available", "opstate.offered": "Call ringing",
		"opstate.on_call": "On call", "opstate.wrap_up": "Wrap-up", "opstate.paused": "Paused",
		"reason.break": "Break", "reason.back_office": "Back office", "reason.training": "Training",
		"reason.no_answer": "Call not answered",
		"status.new":       "New", "status.in_progress": "In progress", "status.waiting": "Waiting", "status.closed": "Closed",
		"priority.critical": "Critical/Blocking", "priority.high": "High", "priority.medium": "Medium", "priority.low": "Low",
		"source.phone": "Phone", "source.after_hours": "After hours", "source.panel": "Panel",
		"ticket.number": "Number", "ticket.subject": "Subject", "ticket.status": "Status", "ticket.priority": "Priority",
		"ticket.category": "Category", "ticket.group": "Group", "ticket.assignee": "Assigned to", "ticket.save": "Save",
		"ticket.created": "Opened", "ticket.caller": "Caller", "ticket.organization": "Administration",
		"ticket.role": "Role", "ticket.menu_path": "Menu path", "ticket.source": "Channel", "ticket.due": "Due",
		"ticket.closed": "Closed on", "ticket.facts": "Ticket", "ticket.edit": "Edit",
		"ticket.articles": "Messages and notes", "ticket.attachments": "Attachments", "ticket.calls": "Calls",
		"ticket.history": "History", "ticket.no_calls": "No calls.", "ticket.recordings": "Recordings",
		"ticket.transition":    "A ticket cannot go from “%s” to “%s”.",
		"ticket.conflict":      "Someone else changed this ticket while you were editing it: nothing was saved.",
		"ticket.conflict_help": "Below are the ticket as it is now and, in the form, your changes: check them and save again to apply them.",
		"article.kind":         "Kind", "article.internal": "Internal note (staff only)",
		"article.public": "Public message (the caller can read it)", "article.body": "Text", "article.add": "Add",
		"article.none": "No messages.", "attachment.none": "No attachments.",
		"recording.download": "Download the recording", "recording.unavailable": "Recording not available",
		"history.at": "When", "history.who": "Who", "history.field": "Field", "history.old": "Before", "history.new": "After",
		"history.created": "Ticket opened",
		"field.status":    "Status", "field.priority": "Priority", "field.group": "Group", "field.assignee": "Assigned to",
		"field.category": "Category", "field.subject": "Subject", "field.description": "Description",
		"field.article": "Public message", "field.internal_note": "Internal note", "field.attachment": "Attachment",
		"field.closed_at": "Closed on", "field.due_at": "Due", "field.organization": "Administration",
		"tickets.search": "Search", "tickets.all_groups": "All groups", "tickets.count": "%d tickets",
		"tickets.count_more": "more than %d tickets", "tickets.none": "No tickets.", "tickets.first": "First page",
		"tickets.next": "Next page", "tickets.pages": "Pages",
		"filter.from": "From", "filter.to": "To", "filter.apply": "Filter", "filter.reset": "Reset",
		"afterhours.help": "Requests left while the service was closed, to be worked by their due time (the next working day).",
		"afterhours.none": "No open requests.", "afterhours.overdue": "overdue",
		"reports.bucket": "Detail", "reports.day": "By day", "reports.hour": "By hour", "reports.csv": "Export CSV",
		"reports.caption": "Calls per group (service level: answered within %d s)", "reports.period": "Period",
		"reports.asa": "ASA", "reports.asa_long": "Average speed of answer", "reports.aht": "AHT",
		"reports.aht_long": "Average handle time", "reports.none": "No calls in the period.",
		"reports.total": "Total", "reports.chart": "Calls per period and service level", "reports.other": "Other (transferred)",
		"config.service": "Service", "config.name": "Name", "config.number": "Number", "config.timezone": "Time zone",
		"config.schedule": "Schedule", "config.file": "File", "config.reload": "Reload the configuration",
		"config.reload_failed": "The new configuration is not valid; the previous one stays in force.",
		"config.tree":          "Menu tree", "config.root": "Main menu", "config.org_route": "routed by Administration",
		"config.schedules": "Schedules and holidays", "config.used_by": "Used by:", "config.weekly": "Weekly hours",
		"config.closed": "closed", "config.holidays": "Holidays from %s to %s", "config.closures": "Extra closures",
		"config.openings": "Extra openings", "config.groups": "Groups and operators", "config.strategy": "Queue strategy", "config.penalty": "penalty",
		"config.operators": "Operators",
		"users.login":      "User", "users.name": "Name", "users.role": "Role", "users.state": "State", "users.actions": "Actions",
		"users.disabled": "disabled", "users.enabled": "active", "users.disable": "Disable", "users.enable": "Enable",
		"users.new_password": "New password", "users.set_password": "Set", "users.add": "New user",
		"users.confirm": "Confirm password", "users.mismatch": "The two passwords differ.",
		"users.not_self": "You cannot disable your own user.",
		"day.0":          "Sunday", "day.1": "Monday", "day.2": "Tuesday", "day.3": "Wednesday", "day.4": "Thursday",
		"day.5": "Friday", "day.6": "Saturday",
	},
}
