// Package arisim simulates the Asterisk REST Interface of the Asterisk 20
// recorded in /work/shared/ari: the REST API under /ari and the
// /ari/events WebSocket, served on loopback, plus a Go control API that
// plays the other side of the calls — callers who dial in, press keys,
// talk and hang up, and phones (operators) that ring, answer, are busy or
// hang up.
//
// It is driven by the real client (github.com/CyCoreSystems/ari/v5 native)
// exactly as a real Asterisk would be: same URLs, status codes, bodies,
// headers, event types, field names, key order and event order, including
// the odd cases of the traces (PlaybackStarted before the 201, a duplicate
// playbackId, an unsupported media scheme that never finishes, 409 after
// /continue, events dropped while the app has no socket, a second socket
// replacing the first with ApplicationReplaced...). TestReplayTraces
// replays every recorded trace against it.
//
// # Time and cost
//
// Time comes from a clock.Clock: timestamps, prompt lengths, DTMF spacing,
// ring times and recording durations are clock time, so a scaled clock runs
// calls many times faster than real time. All timers share one scheduler
// goroutine; a call costs no goroutine (its OnEvent callbacks run on a
// short-lived delivery goroutine only while there is something to
// deliver). Each WebSocket has one writer goroutine that batches the queued
// frames into one write; a REST reply waits (at most Options.FlushWait) for
// the events it caused to be written first, as Asterisk sends
// ChannelStateChange before the 204 of an answer.
//
// # Control API
//
//	sim := arisim.New(arisim.Options{Clock: clk})
//	sim.Start("127.0.0.1:0")            // sim.URL(), sim.EventsURL(); user ivr, password ivr
//	sim.SetEndpoint("PJSIP/op101", arisim.EndpointBehavior{AnswerAfter: 3 * time.Second})
//	call, err := sim.PlaceCall(ctx, "3331234567", "800749049", arisim.CallOptions{CallerName: "Mario Rossi"})
//	call.Press("1")                     // ChannelDtmfReceived, 250 ms each, 500 ms apart
//	call.Talk(4 * time.Second)          // speech for recordings
//	for ev := range call.Events() {     // what the caller experiences
//		fmt.Println(ev)                 // "04:16:31.184 playback-started sound:vm-press lang=it ..."
//	}
//
// Test helpers: DropWebSockets, RefuseWebSockets, InjectEvent, SetStuck,
// Stats, ActiveChannels, Call(id).
//
// # REST routes
//
// asterisk: GET info, ping, variable; POST variable.
// applications: GET list, GET one, POST/DELETE subscription (accepted,
// no effect).
// channels: GET list; POST (originate), POST {id} (originate with id),
// POST create, POST {id}/dial; GET and DELETE {id}; POST {id}/continue,
// answer, dtmf, play, play/{playbackId}, record; POST/DELETE {id}/ring,
// mute, hold, moh, silence; GET/POST {id}/variable.
// bridges: GET list; POST, POST {id}; GET, DELETE {id}; POST {id}/addChannel,
// removeChannel, play, play/{playbackId}, record (bridge_recording.go);
// POST/DELETE {id}/moh.
// playbacks: GET, DELETE {id}; POST {id}/control (pause, unpause, restart,
// forward, reverse).
// recordings: GET stored, GET/DELETE stored/{name}, GET stored/{name}/file
// (an 8 kHz mono 16-bit WAV: silence, a 440 Hz tone while the caller
// talked), POST stored/{name}/copy; GET/DELETE live/{name}, POST
// live/{name}/stop, POST/DELETE live/{name}/pause and mute.
// sounds: GET list, GET {id} (from Options.Sounds). endpoints: GET list,
// by tech, one (the declared endpoints). deviceStates, mailboxes: GET list
// (empty). events: the WebSocket; POST user/{eventName}.
// Parameters are read from the query string, a form body or a JSON body
// (which wins), like Asterisk does. Snoop channels (POST {id}/snoop, snoop.go),
// with Server.Hears saying whose voice reaches each phone. Other
// documented ARI routes (externalMedia, move, redirect, videoSource, dynamic
// config, modules, logging, sendMessage, device state and mailbox updates)
// answer 501.
//
// # Known differences from Asterisk
//
// Not simulated: subscribeAll and event filters (an app gets the events of
// its own channels and bridges only), the audio itself (Hears models
// who hears whom), external media, transfers,
// channel variables in channel snapshots (channelvars), talk detection
// events, and media other than wav for recordings; a bridge's recording
// is taken as speech throughout (no silence detection). Originated Local
// channels are a single leg. A channel that /continue sends to an explicit
// dialplan location stays there Options.DialplanDuration, then the
// dialplan hangs up; a plain /continue (next priority of the inbound
// context) hangs up at once, as in the lab's dialplan.
package arisim
