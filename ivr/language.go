package ivr

import (
	"context"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// languageStore keeps the language a caller chose in the language menu
// (tickets.Store, MemoryRecorder).
type languageStore interface {
	SetTicketLanguage(ctx context.Context, ticketID int64, lang string) error
}

// EventLanguage is the call's timeline entry for its language: Detail is
// "<lang> (<how>)", how being caller (Administration or number), key
// (the language menu) or silence (the menu's default).
const EventLanguage tickets.EventKind = "language"

// languageNode names the language menu in events.
const languageNode = "language"

// startLanguage is the language the call is opened in: its
// Administration's or its number's, else the default (the language menu
// may change it).
func (s *session) startLanguage() string {
	if l := s.cfg.CallerLanguage(s.caller, s.org); l != "" {
		return l
	}
	return s.cfg.IVR.Language
}

// chooseLanguage settles the caller's language before anything is said
// that depends on it: a call taken over keeps the one its channel kept
// (Asterisk holds CHANNEL(language) for the call's life); a caller known
// by Administration or number is served in theirs; the others are asked
// when there is a language menu. The channel is set to it, so that
// Asterisk's own sounds (digits, dates) follow.
func (s *session) chooseLanguage(resumed bool) (string, error) {
	if resumed && s.cfg.ServedLanguage(s.ch.Language) {
		s.lang = s.ch.Language
		return s.lang, nil
	}
	lang, how := s.startLanguage(), "caller"
	if s.cfg.CallerLanguage(s.caller, s.org) == "" {
		how = ""
	}
	s.setChannelLanguage(s.cfg.IVR.Language)
	if how == "" && !resumed && s.cfg.IVR.LanguageMenu != nil {
		chosen, err := s.askLanguage()
		if err != nil {
			return "", err
		}
		lang, how = s.cfg.IVR.Language, "silence"
		if chosen != "" {
			lang, how = chosen, "key"
		}
	}
	s.setChannelLanguage(lang)
	s.lang = lang
	if how != "" {
		s.record(tickets.CallEvent{Kind: EventLanguage, Node: languageNode, Detail: lang + " (" + how + ")"})
		s.emit(Event{Kind: EvLanguage, Text: lang, Reason: how})
	}
	if s.ticket.ID != 0 && s.ticket.Language != lang {
		s.saveLanguage(lang)
	}
	return lang, nil
}

// askLanguage plays the language menu: each language's sentence in its
// own voice. Silence means the default; a wrong key is told once.
func (s *session) askLanguage() (string, error) {
	m := s.cfg.IVR.LanguageMenu
	collect := menu.Collect{MaxDigits: 1, FirstDigitTimeout: m.Timeout}
	prompts := s.cfg.LanguagePrompts()
	for try := 0; try < 2; try++ {
		key, timedOut, err := s.ask(prompts, collect, true)
		if err != nil {
			return "", err
		}
		if timedOut {
			s.emit(Event{Kind: EvTimeout, Node: languageNode})
			return "", nil
		}
		s.emit(Event{Kind: EvKeys, Node: languageNode, Keys: key})
		if lang := m.Keys[key]; lang != "" {
			return lang, nil
		}
		prompts = append([]menu.Prompt{s.system("invalid")}, s.cfg.LanguagePrompts()...)
	}
	return "", nil
}

// setChannelLanguage makes Asterisk pick sound files in lang.
func (s *session) setChannelLanguage(lang string) {
	if lang == "" || s.ch.Language == lang {
		return
	}
	if err := s.c.client.Channel().SetVariable(s.key, "CHANNEL(language)", lang); err != nil {
		if !isNotFound(err) {
			s.log.Warn("set_language_failed", "error", err.Error())
		}
		return
	}
	s.ch.Language = lang
}

// saveLanguage records a language chosen after the ticket opened. A call
// whose record opens later (store down) takes s.lang with it.
func (s *session) saveLanguage(lang string) {
	st, ok := s.c.opts.Store.(languageStore)
	if !ok {
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := st.SetTicketLanguage(ctx, s.ticket.ID, lang); err != nil {
		s.storeFailed("set_ticket_language", err)
		return
	}
	s.ticket.Language = lang
}
