package ivr

import (
	"time"

	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// LockoutPolicy is the lockout policy of a configuration.
func LockoutPolicy(cfg *menu.Config) tickets.LockoutPolicy {
	p := cfg.IVR.PIN
	return tickets.LockoutPolicy{
		Window: p.Lockout, MaxPerNumber: p.MaxAttempts, MaxPerOrganization: p.MaxAttemptsPerOrganization,
		AlarmFailures: p.AlarmFailures, AlarmWindow: p.AlarmWindow, TrustFor: tickets.DefaultPINTrust,
	}
}

// pin asks for a PIN, verifies it, and feeds the verdict (never the
// digits) to the navigator. Wrong PINs count across calls per number and
// per Administration targeted (silence does not), so that neither
// redialling nor rotating caller ids gains anything.
func (s *session) pin(act menu.Action) (menu.Action, error) {
	now := s.now()
	pol := LockoutPolicy(s.cfg)
	target := tickets.PINTarget{Caller: s.caller, Organization: s.orgByCallerID()}
	if s.pinLocked(target, now, pol, act.Node) {
		return s.feedPIN(menu.PINResult{Status: menu.PINLocked}), nil
	}
	prompts := act.Prompts
	codeOK := true
	if target.Organization == "" && s.cfg.IVR.PIN.RequireOrgCodeFromUnknownNumbers {
		// A number of no Administration names one with its code first, so
		// the PIN is checked against that Administration's PINs only.
		org, keyed, err := s.orgCode(act)
		if err != nil {
			return act, err
		}
		if !keyed {
			return s.pinVerdict(act, target, now, pol, menu.PINResult{Status: menu.PINNoInput}), nil
		}
		if org == nil {
			codeOK = false // the PIN is still asked: a wrong code sounds like a wrong PIN
		} else {
			target.Organization = org.ID
			if s.pinLocked(target, now, pol, act.Node) {
				return s.feedPIN(menu.PINResult{Status: menu.PINLocked}), nil
			}
		}
		prompts = []menu.Prompt{s.system("pin_ask")}
	}
	digits, timedOut, err := s.ask(prompts, act.Collect, true)
	if err != nil {
		return act, err
	}
	var res menu.PINResult
	switch {
	case timedOut || digits == "":
		res = menu.PINResult{Status: menu.PINNoInput}
	case len(digits) > act.Collect.MaxDigits || !codeOK:
		res = menu.PINResult{Status: menu.PINWrong}
	default:
		res = s.cfg.VerifyPIN(s.c.opts.PINSecret, digits, target.Organization)
	}
	// Keys typed after the PIN are not menu choices: they may be more of it.
	s.digits = s.digits[:0]
	if res.Status == menu.PINAccepted && target.Organization == "" {
		// The PIN alone named the Administration: a locked one takes
		// no PIN from numbers it does not trust, right or not.
		target.Organization = res.Organization
		if s.pinLocked(target, now, pol, act.Node) {
			return s.feedPIN(menu.PINResult{Status: menu.PINLocked}), nil
		}
	}
	return s.pinVerdict(act, target, now, pol, res), nil
}

// pinVerdict records the verdict on a PIN entry, counts a wrong one, and
// feeds the navigator.
func (s *session) pinVerdict(act menu.Action, target tickets.PINTarget, now time.Time, pol tickets.LockoutPolicy, res menu.PINResult) menu.Action {
	if res.Status == menu.PINAccepted {
		ctx, cancel := s.storeCtx()
		if err := s.c.opts.Lockouts.Succeeded(ctx, target, now); err != nil {
			s.storeFailed("pin_success", err)
		}
		cancel()
		s.record(tickets.CallEvent{Kind: tickets.EventPINAccepted, Node: act.Node, Detail: "role " + string(res.Role)})
	} else {
		s.c.metrics.pinFailures.Inc()
		s.record(tickets.CallEvent{Kind: tickets.EventPINRefused, Node: act.Node, Detail: string(res.Status)})
	}
	s.emit(Event{Kind: EvPIN, Node: act.Node, Result: string(res.Status), Org: res.Organization, Role: string(res.Role)})
	in := res
	if res.Status == menu.PINWrong && s.pinFailed(target, now, pol, act.Node) {
		in = menu.PINResult{Status: menu.PINLocked}
	}
	return s.feedPIN(in)
}

// orgCode asks a caller on a number of no Administration for their
// Administration's code; keyed is false when nothing was keyed.
func (s *session) orgCode(act menu.Action) (org *menu.Organization, keyed bool, err error) {
	// The navigator's prompts lead into the PIN question (after a wrong
	// PIN: "wrong PIN" then "key your PIN"); here they lead into the code's.
	prompts := append([]menu.Prompt{}, act.Prompts...)
	if n := len(prompts); n > 0 && prompts[n-1].Name == "system:pin_ask" {
		prompts = prompts[:n-1]
	}
	prompts = append(prompts, s.system("pin_org_ask"))
	code, timedOut, err := s.ask(prompts, menu.Collect{MaxDigits: 8, FirstDigitTimeout: act.Collect.FirstDigitTimeout,
		InterDigitTimeout: act.Collect.InterDigitTimeout, Terminator: "#"}, true)
	if err != nil || timedOut || code == "" {
		return nil, false, err
	}
	return s.cfg.OrganizationByCode(code), true, nil
}

func (s *session) feedPIN(res menu.PINResult) menu.Action {
	next := s.nav.Feed(menu.Input{Kind: menu.InputPIN, PIN: res})
	s.org, s.role = s.nav.Identity()
	return next
}

// pinLocked asks the lockouts whether target may try now. A store that
// cannot answer lets the caller try: the call's own limit still holds.
func (s *session) pinLocked(t tickets.PINTarget, now time.Time, pol tickets.LockoutPolicy, node string) bool {
	ctx, cancel := s.storeCtx()
	lk, err := s.c.opts.Lockouts.Locked(ctx, t, now, pol)
	cancel()
	if err != nil {
		s.storeFailed("pin_lockout_check", err)
		return false
	}
	if !lk.Locked() {
		return false
	}
	detail := "caller locked out"
	if !lk.Number {
		detail = "administration locked for this number"
	}
	s.record(tickets.CallEvent{Kind: tickets.EventPINLocked, Node: node, Detail: detail})
	s.emit(Event{Kind: EvPIN, Node: node, Result: string(menu.PINLocked), Reason: detail})
	return true
}

// pinFailed counts a wrong PIN and reports whether the caller is now
// locked out.
func (s *session) pinFailed(t tickets.PINTarget, now time.Time, pol tickets.LockoutPolicy, node string) bool {
	ctx, cancel := s.storeCtx()
	v, err := s.c.opts.Lockouts.Failed(ctx, t, now, pol)
	cancel()
	if err != nil {
		s.storeFailed("pin_failure_count", err)
		return false
	}
	if v.Alarm {
		s.c.metrics.pinAlarms.Inc()
		s.log.Warn("pin_failure_alarm", "failures", v.Recent, "threshold", pol.AlarmFailures, "window", pol.AlarmWindow.String())
	}
	if v.OrganizationLocked {
		s.c.metrics.pinOrgLockouts.Inc()
		s.log.Warn("pin_organization_locked", "organization", t.Organization, "lockout", pol.Window.String())
	}
	locked := v.NumberLocked
	if v.NumberLocked {
		s.c.metrics.pinLockouts.Inc()
	} else if v.OrganizationLocked {
		// Unless the number is one the Administration trusts.
		ctx, cancel := s.storeCtx()
		lk, err := s.c.opts.Lockouts.Locked(ctx, t, now, pol)
		cancel()
		locked = err == nil && lk.Organization
	}
	if locked {
		detail := "caller locked out of PIN entry"
		if !v.NumberLocked {
			detail = "administration locked for this number"
		}
		s.record(tickets.CallEvent{Kind: tickets.EventPINLocked, Node: node, Detail: detail})
	}
	return locked
}

// orgByCallerID is the Administration the caller id identified, which a
// PIN must then belong to.
func (s *session) orgByCallerID() string {
	if o := s.cfg.OrganizationByCaller(s.caller); o != nil {
		return o.ID
	}
	return ""
}

// statusViewer is what a caller may hear about by phone. Only a PIN says
// who the caller is: the technical referent's hears of any ticket of the
// Administration, a generic user's of the tickets opened from the same
// number or with the same PIN; anyone else, a caller recognised by the
// caller id alone included (a prefix covers a whole office), of the
// tickets opened from the same number.
func (s *session) statusViewer() tickets.Viewer {
	switch {
	case s.org != "" && s.role == menu.RoleReferent:
		return tickets.Viewer{Kind: tickets.ViewerCallerOrg, Organization: s.org, Caller: s.caller}
	case s.org != "" && s.role == menu.RoleUser:
		return tickets.Viewer{Kind: tickets.ViewerCallerUser, Organization: s.org, Caller: s.caller}
	}
	return tickets.Viewer{Kind: tickets.ViewerCallerOwn, Caller: s.caller}
}
