package realasterisk

import (
	"context"
	"net/url"
	"testing"
	"time"
)

// TestPhonesTakeOriginatedCalls: an operator endpoint of configs/asterisk,
// pointed at a sipp phone, answers an originate into Stasis, rejects it as
// busy, or rings until the channel is hung up.
func TestPhonesTakeOriginatedCalls(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{Phones: []string{"op201", "op202", "op301"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := a.NewClient(nil)
	evs, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()
	originate := func(endpoint, id string) {
		t.Helper()
		q := url.Values{"endpoint": {"PJSIP/" + endpoint}, "app": {a.App}, "appArgs": {"operator"}, "channelId": {id}}
		r, err := c.Do(ctx, "POST", "/channels", q, nil)
		if err != nil || r.Status != 200 {
			t.Fatalf("originate %s: %v %+v", endpoint, err, r)
		}
	}
	var ev struct {
		Type    string   `json:"type"`
		Args    []string `json:"args"`
		Cause   int      `json:"cause"`
		Channel struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"channel"`
	}
	// next waits for an event of typ about channel id.
	next := func(id string, types ...string) {
		t.Helper()
		for {
			e, err := evs.WaitFor(ctx, types...)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			ev.Args, ev.Cause = nil, 0
			if err := e.Decode(&ev); err != nil {
				t.Fatal(err)
			}
			if ev.Channel.ID == id {
				return
			}
		}
	}

	answer := a.Phone(t, "op201", PhoneOptions{Mode: PhoneAnswer, AnswerAfter: 200 * time.Millisecond, Timeout: 25 * time.Second})
	originate("op201", "op-answer")
	next("op-answer", "StasisStart")
	if len(ev.Args) != 1 || ev.Args[0] != "operator" || ev.Channel.State != "Up" {
		t.Fatalf("StasisStart of the answered phone: args %q, state %q", ev.Args, ev.Channel.State)
	}
	if r, err := c.Do(ctx, "DELETE", "/channels/op-answer", nil, nil); err != nil || r.Status != 204 {
		t.Fatalf("hang up: %v %+v", err, r)
	}
	next("op-answer", "ChannelDestroyed")
	if err := answer.Wait(ctx); err != nil {
		t.Fatalf("answering phone: %v", err)
	}

	busy := a.Phone(t, "op202", PhoneOptions{Mode: PhoneReject, Timeout: 25 * time.Second})
	originate("op202", "op-busy")
	next("op-busy", "ChannelDestroyed", "StasisStart")
	if ev.Type != "ChannelDestroyed" || ev.Cause != 17 {
		t.Fatalf("rejecting phone: %s with cause %d, want ChannelDestroyed cause 17 (busy)", ev.Type, ev.Cause)
	}
	if err := busy.Wait(ctx); err != nil {
		t.Fatalf("rejecting phone: %v", err)
	}

	ring := a.Phone(t, "op301", PhoneOptions{Mode: PhoneRing, Timeout: 25 * time.Second})
	originate("op301", "op-ring")
	next("op-ring", "ChannelStateChange")
	if ev.Channel.State != "Ringing" {
		t.Fatalf("ringing phone: state %q", ev.Channel.State)
	}
	if r, err := c.Do(ctx, "DELETE", "/channels/op-ring", nil, nil); err != nil || r.Status != 204 {
		t.Fatalf("hang up: %v %+v", err, r)
	}
	next("op-ring", "ChannelDestroyed", "StasisStart")
	if ev.Type != "ChannelDestroyed" {
		t.Fatalf("ringing phone: %s", ev.Type)
	}
	if err := ring.Wait(ctx); err != nil {
		t.Fatalf("ringing phone: %v", err)
	}
}
