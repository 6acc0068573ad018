package realasterisk

import (
	"strings"
	"testing"
)

// TestRequestScenarioIsXML: the REGISTER/INVITE scenarios are well-formed
// (sipp refuses others), answer a challenge only with credentials, and
// acknowledge a refused INVITE in its own transaction.
func TestRequestScenarioIsXML(t *testing.T) {
	t.Parallel()
	for _, o := range []RequestOptions{
		{Method: "REGISTER", From: "op201", Username: "op201", Password: "Xk3+9/aZ"},
		{Method: "REGISTER", From: "op201"},
		{Method: "INVITE", From: "op201", Number: "00441234567890", Username: "op201", Password: "secret"},
		{Method: "INVITE", From: "anonymous", Number: "3331234567"},
	} {
		s := requestScenario(o)
		if o.Username != "" && !strings.Contains(s, "[authentication username="+o.Username+" password="+o.Password+"]") {
			t.Errorf("%+v: credentials not in the scenario", o)
		}
		wellFormed(t, s)
		if got := strings.Contains(s, `auth="true"`); got != (o.Username != "") {
			t.Errorf("%+v: answers a challenge: %v", o, got)
		}
		if got := strings.Count(s, "CSeq: 1 "+o.Method); got != 1 {
			t.Errorf("%+v: %d first requests", o, got)
		}
		if o.Method == "INVITE" && !strings.Contains(s, "[last_Via:]") {
			t.Errorf("%+v: a refused INVITE is not acknowledged in its transaction", o)
		}
	}
}
