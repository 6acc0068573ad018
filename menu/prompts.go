package menu

import (
	"sort"
	"time"

	"github.com/helpdesk-ivr/ivr/hours"
)

// SystemPrompts are the built-in texts of the prompts every help desk
// needs besides its menu; ivr.prompts in the file overrides any of them.
var SystemPrompts = map[string]Text{
	"invalid":          {"it": "Scelta non valida.", "en": "That is not a valid choice."},
	"no_input":         {"it": "Non abbiamo ricevuto alcuna scelta.", "en": "We did not receive a choice."},
	"goodbye":          {"it": "Grazie per aver chiamato. Arrivederci.", "en": "Thank you for calling. Goodbye."},
	"too_many_errors":  {"it": "Non è stato possibile comprendere la sua scelta. La invitiamo a richiamare o a scrivere all'assistenza.", "en": "We could not understand your choice. Please call again or write to the help desk."},
	"closed":           {"it": "Il servizio di assistenza è al momento chiuso.", "en": "The help desk is closed at the moment."},
	"closed_holiday":   {"it": "Oggi il servizio di assistenza è chiuso per festività.", "en": "The help desk is closed today for a public holiday."},
	"reopens":          {"it": "Il servizio riaprirà", "en": "The service reopens on"},
	"at_hour":          {"it": "alle ore", "en": "at"},
	"and":              {"it": "e", "en": "and"},
	"record_offer":     {"it": "Per lasciare una richiesta registrata, prema 1. Per terminare la chiamata, riagganci.", "en": "To leave a recorded request, press 1. Otherwise, hang up."},
	"record_intro":     {"it": "Lasci il suo messaggio dopo il segnale acustico, indicando nome, amministrazione e recapito. Prema cancelletto per terminare.", "en": "Please leave your message after the tone, with your name, administration and a contact number. Press hash to finish."},
	"record_saved":     {"it": "La sua richiesta è stata registrata con il numero di ticket", "en": "Your request has been recorded with ticket number"},
	"record_empty":     {"it": "Non abbiamo registrato alcun messaggio.", "en": "We did not record any message."},
	"next_working_day": {"it": "e sarà presa in carico il giorno lavorativo", "en": "and will be handled on the working day"},
	"pin_ask":          {"it": "Digiti il PIN della sua amministrazione seguito dal tasto cancelletto.", "en": "Please enter your administration's PIN followed by the hash key."},
	"pin_org_ask":      {"it": "Digiti il codice della sua amministrazione seguito dal tasto cancelletto.", "en": "Please enter your administration's code followed by the hash key."},
	"pin_wrong":        {"it": "Il PIN non è corretto.", "en": "The PIN is not correct."},
	"pin_role_refused": {"it": "Questo servizio è riservato ai referenti tecnici dell'amministrazione.", "en": "This service is reserved for the administration's technical referents."},
	"pin_locked":       {"it": "Troppi tentativi errati. L'inserimento del PIN è temporaneamente bloccato.", "en": "Too many wrong attempts. PIN entry is temporarily locked."},
	"transfer":         {"it": "La stiamo mettendo in contatto con un operatore. Il numero del suo ticket è", "en": "We are connecting you to an operator. Your ticket number is"},
	// Without a ticket number (the ticket store was down): no half sentence.
	"transfer_no_ticket":     {"it": "La stiamo mettendo in contatto con un operatore.", "en": "We are connecting you to an operator."},
	"record_saved_no_ticket": {"it": "La sua richiesta è stata registrata", "en": "Your request has been recorded"},
	"group_closed":           {"it": "Il servizio richiesto è al momento chiuso.", "en": "The service you chose is closed at the moment."},
	"no_operator":            {"it": "Al momento nessun operatore è disponibile.", "en": "No operator is available at the moment."},
	"queue_position":         {"it": "Lei è il chiamante numero", "en": "You are caller number"},
	"queue_wait":             {"it": "Il tempo di attesa stimato è di circa", "en": "The estimated waiting time is about"},
	"minutes":                {"it": "minuti.", "en": "minutes."},
	"queue_breakout":         {"it": "Per smettere di attendere e lasciare una richiesta registrata, prema il tasto", "en": "To stop waiting and leave a recorded request, press"},
	"queue_full":             {"it": "Tutti gli operatori sono occupati e non è possibile attendere in linea.", "en": "All operators are busy and no more callers can wait."},
	"status_ask":             {"it": "Digiti il numero del ticket seguito dal tasto cancelletto.", "en": "Please enter the ticket number followed by the hash key."},
	"status_bad":             {"it": "Il numero digitato non è valido.", "en": "The number you entered is not valid."},
	"status_unknown":         {"it": "Non risulta alcun ticket con questo numero.", "en": "There is no ticket with this number."},
	"status_is":              {"it": "Lo stato del ticket è", "en": "The ticket status is"},
	"status_new":             {"it": "nuovo, in attesa di presa in carico.", "en": "new, waiting to be taken in charge."},
	"status_in_progress":     {"it": "in lavorazione.", "en": "in progress."},
	"status_waiting":         {"it": "in attesa di sue informazioni.", "en": "waiting for information from you."},
	"status_closed":          {"it": "chiuso.", "en": "closed."},
	// The post-call survey (Group.Survey).
	"survey_ask":     {"it": "Prima di salutarla, le chiediamo di valutare il servizio ricevuto: prema un tasto da 1, per niente soddisfatto, a 5, molto soddisfatto.", "en": "Before you go, please rate the service you received: press a key from 1, not satisfied at all, to 5, very satisfied."},
	"survey_comment": {"it": "Grazie. Se desidera, lasci un breve commento dopo il segnale acustico e prema cancelletto per terminare. Altrimenti riagganci.", "en": "Thank you. If you wish, leave a short comment after the tone and press hash to finish. Otherwise, hang up."},
	"survey_thanks":  {"it": "Grazie per la sua valutazione. Arrivederci.", "en": "Thank you for your rating. Goodbye."},
	// Callbacks (Group.Callback).
	"callback_offer":         {"it": "Per essere richiamati senza perdere il turno, prema il tasto", "en": "To be called back without losing your place, press"},
	"callback_choose":        {"it": "Per essere richiamati al numero da cui sta chiamando, prema 1. Per indicare un altro numero, prema 2.", "en": "To be called back on the number you are calling from, press 1. To give another number, press 2."},
	"callback_ask_number":    {"it": "Digiti il numero al quale desidera essere richiamato, seguito dal tasto cancelletto.", "en": "Please enter the number to call you back on, followed by the hash key."},
	"callback_read_back":     {"it": "Ha indicato il numero", "en": "You entered the number"},
	"callback_confirm":       {"it": "Per confermare, prema 1. Per digitarlo di nuovo, prema 2.", "en": "To confirm, press 1. To enter it again, press 2."},
	"callback_invalid":       {"it": "Il numero indicato non è valido.", "en": "That number is not valid."},
	"callback_premium":       {"it": "Non possiamo richiamare numeri a pagamento o di servizi speciali.", "en": "We cannot call back premium-rate or special service numbers."},
	"callback_international": {"it": "Non possiamo richiamare numeri esteri.", "en": "We cannot call back numbers outside Italy."},
	"callback_confirmed":     {"it": "Grazie. La richiameremo quando sarà il suo turno, senza perdere la posizione in coda. Può riagganciare.", "en": "Thank you. We will call you back when your turn comes, keeping your place in the queue. You may hang up now."},
	"callback_scheduled":     {"it": "Grazie. Il servizio sta per chiudere: la richiameremo per primo alla riapertura,", "en": "Thank you. The service is about to close: you will be the first we call back when it reopens, on"},
	"callback_greeting":      {"it": "Buongiorno, la richiamiamo dal servizio di assistenza come da lei richiesto. La mettiamo in contatto con un operatore.", "en": "Hello, this is the help desk calling you back as you asked. We are connecting you to an operator."},
	// Conversation recording (Group.Recording).
	"recording_notice":  {"it": "La informiamo che la chiamata potrebbe essere registrata per verificare la qualità del servizio. La registrazione è conservata per il tempo previsto e ascoltata solo dal personale autorizzato.", "en": "Please note that this call may be recorded to check the quality of the service. The recording is kept for a limited time and heard only by authorised staff."},
	"recording_refuse":  {"it": "Se non desidera che la conversazione sia registrata, prema ora il tasto", "en": "If you do not want the conversation to be recorded, press now"},
	"recording_refused": {"it": "La conversazione non sarà registrata.", "en": "The conversation will not be recorded."},
	"technical_problem": {"it": "Ci scusiamo per l'interruzione. Riprendiamo dal menu principale.", "en": "We apologise for the interruption. Let us start again from the main menu."},
}

// SystemText returns the text of a system prompt in a language: the
// file's own text if it has one, else the built-in one.
func (c *Config) SystemText(name, lang string) string {
	if t := c.IVR.Prompts[name][lang]; t != "" {
		return t
	}
	return SystemPrompts[name][lang]
}

// Location is the service's time zone.
func (c *Config) Location() *time.Location { return c.location }

// Schedule returns a compiled schedule by name.
func (c *Config) Schedule(name string) *hours.Schedule { return c.schedules[name] }

// ServiceSchedule is the schedule of the entry point.
func (c *Config) ServiceSchedule() *hours.Schedule { return c.schedules[c.Service.Schedule] }

// GroupSchedule is the schedule of a group (the service's if it has none).
func (c *Config) GroupSchedule(id string) *hours.Schedule {
	if g := c.groups[id]; g != nil && g.Schedule != "" {
		return c.schedules[g.Schedule]
	}
	return c.ServiceSchedule()
}

// Group returns a group by id, or nil.
func (c *Config) Group(id string) *Group { return c.groups[id] }

// Organization returns an Administration by id, or nil.
func (c *Config) Organization(id string) *Organization { return c.orgs[id] }

// Node returns a menu node by id, or nil.
func (c *Config) Node(id string) *Node { return c.nodes[id] }

// NodeIDs lists every node id, sorted.
func (c *Config) NodeIDs() []string { return sortedKeys(c.nodes) }

// Keys returns a menu node's option keys, sorted.
func (n *Node) Keys() []string { return n.keys }

// Parent returns the node's parent, nil for the root.
func (n *Node) Parent() *Node { return n.parent }

// SoundName is the Asterisk sound a node's prompt plays in a language: the
// configured one, or the file `ivrctl prompts` generates from the text.
func (n *Node) SoundName(lang string) string {
	if s := n.Sound[lang]; s != "" {
		return s
	}
	return "helpdesk/menu-" + n.ID
}

// SystemSoundName is the Asterisk sound of a system prompt.
func SystemSoundName(name string) string { return "helpdesk/system-" + name }

// PromptTexts lists every (sound name, language, text) the configuration
// needs spoken, for prompt generation and for the simulator's durations.
func (c *Config) PromptTexts() []PromptText {
	var out []PromptText
	for _, id := range c.NodeIDs() {
		n := c.nodes[id]
		for _, lang := range c.Service.Languages {
			if t := n.Prompt[lang]; t != "" && n.Sound[lang] == "" {
				out = append(out, PromptText{Sound: n.SoundName(lang), Lang: lang, Text: t})
			}
		}
	}
	out = append(out, c.languagePromptTexts()...)
	names := make([]string, 0, len(SystemPrompts))
	for name := range SystemPrompts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, lang := range c.Service.Languages {
			out = append(out, PromptText{Sound: SystemSoundName(name), Lang: lang, Text: c.SystemText(name, lang)})
		}
	}
	return out
}

// PromptText is one prompt to be spoken.
type PromptText struct {
	// Sound is written into Lang's sounds; Voice, when set, is the
	// language it is spoken in (the language menu's sentences), else Lang.
	Sound, Lang, Text string
	Voice             string
}

// Speaker is the language the prompt is spoken in.
func (p PromptText) Speaker() string {
	if p.Voice != "" {
		return p.Voice
	}
	return p.Lang
}
