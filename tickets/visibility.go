package tickets

import (
	"slices"
	"strings"
)

// Sees reports whether v may see t: the rule the store's queries apply,
// for stores kept in memory (simulations). An unknown kind sees nothing.
func (v Viewer) Sees(t Ticket) bool {
	switch v.Kind {
	case ViewerSystem, ViewerStaffAll:
		return true
	case ViewerStaffGroups:
		return slices.Contains(v.Groups, t.Group)
	case ViewerCallerOrg:
		return (v.Organization != "" && t.Organization == v.Organization) || (v.Caller != "" && t.Caller == v.Caller)
	case ViewerCallerOwn:
		return v.Caller != "" && t.Caller == v.Caller
	case ViewerCallerUser:
		return (v.Caller != "" && t.Caller == v.Caller) ||
			(v.Organization != "" && t.Organization == v.Organization && t.CallerRole == CallerUser)
	case ViewerContact:
		return v.Contact > 0 && t.ContactID == v.Contact
	}
	return false
}

// userVisibility is ViewerCallerUser's condition on tickets alias t: the
// user PIN is one per Administration, so "their" tickets are those opened
// from their number or by a caller who keyed the same PIN.
func userVisibility(v Viewer, a *args) string {
	var conds []string
	if v.Caller != "" {
		conds = append(conds, "t.caller = "+a.add(v.Caller))
	}
	if v.Organization != "" {
		conds = append(conds, "(t.organization = "+a.add(v.Organization)+" AND t.caller_role = 'user')")
	}
	if len(conds) == 0 {
		return "false"
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}
