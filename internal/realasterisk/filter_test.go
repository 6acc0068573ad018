package realasterisk

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"golang.org/x/net/websocket"
)

// TestEventFilterOnAsterisk: the application's event filter (ivrd asks
// for the events it handles only) answers on the real Asterisk as on the
// simulator, and the real Asterisk then sends nothing else.
func TestEventFilterOnAsterisk(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	c := a.NewClient(nil)
	evs, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()

	sim := arisim.New(arisim.Options{})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	simSock, err := websocket.Dial(sim.EventsURL()+"?app="+url.QueryEscape(a.App)+"&api_key=ivr:ivr", "", "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	defer simSock.Close()
	simPut := func(body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "PUT", sim.URL()+"/applications/"+a.App+"/eventFilter", bytes.NewReader([]byte(body)))
		req.SetBasicAuth("ivr", "ivr")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	type filterView struct {
		Allowed    []map[string]any `json:"events_allowed"`
		Disallowed []map[string]any `json:"events_disallowed"`
		Message    string           `json:"message"`
	}
	for _, body := range []string{
		`{"allowed":"StasisStart"}`,
		`{"allowed":["StasisStart"]}`,
		`{"allowed":[{"type":""}]}`,
		`{"disallowed":[{"name":"ChannelVarset"}]}`,
		`{"allowed":[{"type":"StasisStart"},{"type":"ChannelVarset"}],"disallowed":[{"type":"ChannelVarset"}]}`,
		`{"other":1}`, // neither list given: both kept
		`{}`,          // both cleared
		`{"allowed":[{"type":"StasisStart"},{"type":"StasisEnd"},{"type":"ChannelDtmfReceived"}],"disallowed":[]}`,
	} {
		r, err := c.Do(ctx, "PUT", "/applications/"+a.App+"/eventFilter", nil, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		status, simBody := simPut(body)
		var real, simulated filterView
		_ = json.Unmarshal(r.Body, &real)
		_ = json.Unmarshal(simBody, &simulated)
		if r.Status != status || real.Message != simulated.Message ||
			len(real.Allowed) != len(simulated.Allowed) || len(real.Disallowed) != len(simulated.Disallowed) {
			t.Errorf("PUT eventFilter %s:\n asterisk  %d %s\n simulator %d %s", body, r.Status, r.Body, status, simBody)
		}
	}

	call := a.Call(t, CallOptions{Keys: []Key{{After: 700 * time.Millisecond, Digit: '5'}}, HangUpAfter: 500 * time.Millisecond, Timeout: 25 * time.Second})
	var seen []string
	dtmf := false
	for {
		ev, err := evs.Next(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", seen, err)
		}
		seen = append(seen, ev.Type)
		switch ev.Type {
		case "StasisStart":
			var start channelEvent
			if err := ev.Decode(&start); err != nil {
				t.Fatal(err)
			}
			if r, err := c.Do(ctx, "POST", "/channels/"+start.Channel.ID+"/answer", nil, nil); err != nil || r.Status != 204 {
				t.Fatalf("answer: %v %+v", err, r)
			}
			// Makes a ChannelVarset, which must not come.
			if _, err := c.Do(ctx, "POST", "/channels/"+start.Channel.ID+"/variable", url.Values{"variable": {"X"}, "value": {"1"}}, nil); err != nil {
				t.Fatal(err)
			}
		case "ChannelDtmfReceived":
			dtmf = true
		case "StasisEnd":
			if !dtmf {
				t.Errorf("the key never came: %v", seen)
			}
			if err := call.Wait(ctx); err != nil {
				t.Errorf("the caller: %v", err)
			}
			return
		default:
			t.Errorf("event %s passed the filter (%v)", ev.Type, seen)
		}
	}
}
