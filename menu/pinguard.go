package menu

import "time"

// Defaults of the PIN guard.
const (
	DefaultPINMaxAttemptsPerOrganization = 10
	DefaultPINAlarmFailures              = 30
	DefaultPINAlarmWindow                = 10 * time.Minute
)

// validatePINGuard fills and checks the lockouts per Administration and
// the alarm on wrong PINs across all numbers.
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
}
