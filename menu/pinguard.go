package menu

import "time"

// Defaults of the PIN guard.
const (
	DefaultPINMaxAttemptsPerOrganization = 10
	DefaultPINAlarmFailures              = 30
	DefaultPINAlarmWindow                = 10 * time.Minute
)

// validatePINGuard fills and checks the lockouts per Administration, the
// alarm on wrong PINs across all numbers, and the Administration codes.
func (c *Config) validatePINGuard(v *validator) {
	p := &c.IVR.PIN
	p.MaxAttemptsPerOrganization = orDefault(p.MaxAttemptsPerOrganization, DefaultPINMaxAttemptsPerOrganization)
	p.AlarmFailures = orDefault(p.AlarmFailures, DefaultPINAlarmFailures)
	p.AlarmWindow = orDefault(p.AlarmWindow, DefaultPINAlarmWindow)
	if p.MaxAttemptsPerOrganization < 1 || p.MaxAttemptsPerOrganization > 1000 {
		v.add(c.IVR.Pos, "ivr.pin.max_attempts_per_organization %d is out of range 1..1000", p.MaxAttemptsPerOrganization)
	}
	if p.AlarmFailures < 1 || p.AlarmFailures > 1000000 {
		v.add(c.IVR.Pos, "ivr.pin.alarm_failures %d is out of range 1..1000000", p.AlarmFailures)
	}
	if p.AlarmWindow < time.Minute || p.AlarmWindow > 24*time.Hour {
		v.add(c.IVR.Pos, "ivr.pin.alarm_window %s is out of range 1m..24h", p.AlarmWindow)
	}
	codes := map[string]string{}
	for _, o := range c.Organizations {
		if o == nil {
			continue
		}
		if o.Code != "" {
			if !isDigits(o.Code) || len(o.Code) < 2 || len(o.Code) > 8 {
				v.add(o.Pos, "organization %q: code %q must be 2 to 8 digits (callers key it on the phone)", o.ID, o.Code)
			} else if other, dup := codes[o.Code]; dup {
				v.add(o.Pos, "organization %q: code %q is also the code of %q", o.ID, o.Code, other)
			} else {
				codes[o.Code] = o.ID
			}
		}
		if p.RequireOrgCodeFromUnknownNumbers && o.Code == "" && len(o.PINs) > 0 {
			v.add(o.Pos, "organization %q has PINs but no code, and ivr.pin.require_org_code_from_unknown_numbers is on: its callers on other numbers could never use its PINs", o.ID)
		}
	}
}

// OrganizationByCode finds an Administration by the code its callers key.
func (c *Config) OrganizationByCode(code string) *Organization {
	if code == "" {
		return nil
	}
	for _, o := range c.Organizations {
		if o != nil && o.Code == code {
			return o
		}
	}
	return nil
}
