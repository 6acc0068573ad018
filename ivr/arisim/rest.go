package arisim

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
)

// routeTable lists every ARI route the simulator knows. Routes answered
// with 501 exist in ARI 20 but are not simulated.
var routeTable = mkRoutes([]struct {
	m, p string
	h    handler
}{
	{"GET", "/asterisk/info", (*Server).hAsteriskInfo},
	{"GET", "/asterisk/ping", (*Server).hPing},
	{"GET", "/asterisk/variable", (*Server).hGlobalVarGet},
	{"POST", "/asterisk/variable", (*Server).hGlobalVarSet},
	{"GET", "/asterisk/modules", (*Server).hNotImplemented},
	{"GET", "/asterisk/logging", (*Server).hNotImplemented},
	{"GET", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}", (*Server).hNotImplemented},

	{"GET", "/applications", (*Server).hAppList},
	{"GET", "/applications/{applicationName}", (*Server).hAppGet},
	{"POST", "/applications/{applicationName}/subscription", (*Server).hAppSubscription},
	{"DELETE", "/applications/{applicationName}/subscription", (*Server).hAppSubscription},
	{"PUT", "/applications/{applicationName}/eventFilter", (*Server).hAppFilter},

	{"GET", "/channels", (*Server).hChannelList},
	{"POST", "/channels", (*Server).hOriginate},
	{"POST", "/channels/create", (*Server).hChannelCreate},
	{"POST", "/channels/externalMedia", (*Server).hNotImplemented},
	{"GET", "/channels/{channelId}", (*Server).hChannelGet},
	{"POST", "/channels/{channelId}", (*Server).hOriginate},
	{"DELETE", "/channels/{channelId}", (*Server).hChannelHangup},
	{"POST", "/channels/{channelId}/continue", (*Server).hContinue},
	{"POST", "/channels/{channelId}/move", (*Server).hNotImplemented},
	{"POST", "/channels/{channelId}/redirect", (*Server).hNotImplemented},
	{"POST", "/channels/{channelId}/answer", (*Server).hAnswer},
	{"POST", "/channels/{channelId}/ring", (*Server).hRing},
	{"DELETE", "/channels/{channelId}/ring", (*Server).hRing},
	{"POST", "/channels/{channelId}/dtmf", (*Server).hSendDTMF},
	{"POST", "/channels/{channelId}/mute", (*Server).hMute},
	{"DELETE", "/channels/{channelId}/mute", (*Server).hMute},
	{"POST", "/channels/{channelId}/hold", (*Server).hHold},
	{"DELETE", "/channels/{channelId}/hold", (*Server).hHold},
	{"POST", "/channels/{channelId}/moh", (*Server).hMOH},
	{"DELETE", "/channels/{channelId}/moh", (*Server).hMOH},
	{"POST", "/channels/{channelId}/silence", (*Server).hSilence},
	{"DELETE", "/channels/{channelId}/silence", (*Server).hSilence},
	{"POST", "/channels/{channelId}/play", (*Server).hChannelPlay},
	{"POST", "/channels/{channelId}/play/{playbackId}", (*Server).hChannelPlay},
	{"POST", "/channels/{channelId}/record", (*Server).hRecord},
	{"GET", "/channels/{channelId}/variable", (*Server).hChanVarGet},
	{"POST", "/channels/{channelId}/variable", (*Server).hChanVarSet},
	{"POST", "/channels/{channelId}/snoop", (*Server).hSnoop},
	{"POST", "/channels/{channelId}/snoop/{snoopId}", (*Server).hSnoop},
	{"POST", "/channels/{channelId}/dial", (*Server).hDial},
	{"GET", "/channels/{channelId}/rtp_statistics", (*Server).hNotImplemented},

	{"GET", "/bridges", (*Server).hBridgeList},
	{"POST", "/bridges", (*Server).hBridgeCreate},
	{"GET", "/bridges/{bridgeId}", (*Server).hBridgeGet},
	{"POST", "/bridges/{bridgeId}", (*Server).hBridgeCreate},
	{"DELETE", "/bridges/{bridgeId}", (*Server).hBridgeDelete},
	{"POST", "/bridges/{bridgeId}/addChannel", (*Server).hBridgeAdd},
	{"POST", "/bridges/{bridgeId}/removeChannel", (*Server).hBridgeRemove},
	{"POST", "/bridges/{bridgeId}/videoSource/{channelId}", (*Server).hNotImplemented},
	{"DELETE", "/bridges/{bridgeId}/videoSource", (*Server).hNotImplemented},
	{"POST", "/bridges/{bridgeId}/moh", (*Server).hBridgeMOH},
	{"DELETE", "/bridges/{bridgeId}/moh", (*Server).hBridgeMOH},
	{"POST", "/bridges/{bridgeId}/play", (*Server).hBridgePlay},
	{"POST", "/bridges/{bridgeId}/play/{playbackId}", (*Server).hBridgePlay},
	{"POST", "/bridges/{bridgeId}/record", (*Server).hBridgeRecord},

	{"GET", "/playbacks/{playbackId}", (*Server).hPlaybackGet},
	{"DELETE", "/playbacks/{playbackId}", (*Server).hPlaybackStop},
	{"POST", "/playbacks/{playbackId}/control", (*Server).hPlaybackControl},

	{"GET", "/recordings/stored", (*Server).hStoredList},
	{"GET", "/recordings/stored/{recordingName}", (*Server).hStoredGet},
	{"DELETE", "/recordings/stored/{recordingName}", (*Server).hStoredDelete},
	{"GET", "/recordings/stored/{recordingName}/file", (*Server).hStoredFile},
	{"POST", "/recordings/stored/{recordingName}/copy", (*Server).hStoredCopy},
	{"GET", "/recordings/live/{recordingName}", (*Server).hLiveGet},
	{"DELETE", "/recordings/live/{recordingName}", (*Server).hLiveCancel},
	{"POST", "/recordings/live/{recordingName}/stop", (*Server).hLiveStop},
	{"POST", "/recordings/live/{recordingName}/pause", (*Server).hLivePause},
	{"DELETE", "/recordings/live/{recordingName}/pause", (*Server).hLivePause},
	{"POST", "/recordings/live/{recordingName}/mute", (*Server).hLiveMute},
	{"DELETE", "/recordings/live/{recordingName}/mute", (*Server).hLiveMute},

	{"GET", "/sounds", (*Server).hSoundList},
	{"GET", "/sounds/{soundId}", (*Server).hSoundGet},

	{"GET", "/endpoints", (*Server).hEndpointList},
	{"PUT", "/endpoints/sendMessage", (*Server).hNotImplemented},
	{"GET", "/endpoints/{tech}", (*Server).hEndpointList},
	{"GET", "/endpoints/{tech}/{resource}", (*Server).hEndpointGet},
	{"PUT", "/endpoints/{tech}/{resource}/sendMessage", (*Server).hNotImplemented},

	{"GET", "/deviceStates", (*Server).hEmptyList},
	{"GET", "/deviceStates/{deviceName}", (*Server).hNotImplemented},
	{"PUT", "/deviceStates/{deviceName}", (*Server).hNotImplemented},
	{"DELETE", "/deviceStates/{deviceName}", (*Server).hNotImplemented},
	{"GET", "/mailboxes", (*Server).hEmptyList},
	{"GET", "/mailboxes/{mailboxName}", (*Server).hNotImplemented},
	{"PUT", "/mailboxes/{mailboxName}", (*Server).hNotImplemented},
	{"DELETE", "/mailboxes/{mailboxName}", (*Server).hNotImplemented},

	{"GET", "/events", nil}, // the WebSocket, handled in ServeHTTP
	{"POST", "/events/user/{eventName}", (*Server).hUserEvent},
})

func (s *Server) hNotImplemented(rq *request) {
	rq.fail(501, "Not implemented by the ARI simulator")
}

func (s *Server) hEmptyList(rq *request) { rq.ok([]byte("[]")) }

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ---- asterisk ----

func (s *Server) hAsteriskInfo(rq *request) {
	only := rq.p.multi("only")
	want := func(k string) bool { return len(only) == 0 || containsString(only, k) }
	b := []byte{'{'}
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	if want("build") {
		sep()
		b = append(b, `"build":{"os":"Linux","kernel":"6.18.44-fc-v669","machine":"x86_64","options":"OPTIONAL_API","date":"2026-11-22 04:08:42 UTC","user":"root"}`...)
	}
	if want("system") {
		sep()
		b = append(b, `"system":{"version":"20.20.1","entity_id":`...)
		b = appendStr(b, s.opts.AsteriskID)
		b = append(b, '}')
	}
	if want("config") {
		sep()
		b = append(b, `"config":{"name":"","default_language":`...)
		b = appendStr(b, s.opts.Language)
		b = append(b, `,"setid":{"user":"","group":""}}`...)
	}
	if want("status") {
		sep()
		b = append(b, `"status":{"startup_time":`...)
		b = appendTime(b, s.start)
		b = append(b, `,"last_reload_time":`...)
		b = appendTime(b, s.start)
		b = append(b, '}')
	}
	rq.ok(append(b, '}'))
}

func (s *Server) hPing(rq *request) {
	b := append([]byte(nil), `{"ping":"pong","timestamp":`...)
	b = appendTime(b, s.clk.Now())
	b = append(b, `,"asterisk_id":`...)
	b = appendStr(b, s.opts.AsteriskID)
	rq.ok(append(b, '}'))
}

func (s *Server) hGlobalVarGet(rq *request) {
	name := rq.p.str("variable")
	if name == "" {
		rq.fail(400, "Variable name is required")
		return
	}
	b := append([]byte(nil), `{"value":`...)
	b = appendStr(b, s.globals[name])
	rq.ok(append(b, '}'))
}

func (s *Server) hGlobalVarSet(rq *request) {
	name := rq.p.str("variable")
	if name == "" {
		rq.fail(400, "Variable name is required")
		return
	}
	s.globals[name] = rq.p.str("value")
	rq.noContent()
}

// ---- applications ----

func (s *Server) appJSON(b []byte, a *app) []byte {
	b = append(b, `{"name":`...)
	b = appendStr(b, a.name)
	b = append(b, `,"channel_ids":[`...)
	for i, id := range sortedKeys(a.chans) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, id)
	}
	b = append(b, `],"bridge_ids":[`...)
	n := 0
	for _, id := range sortedKeys(s.bridges) {
		if s.bridges[id].subs[a.name] > 0 {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendStr(b, id)
			n++
		}
	}
	b = append(b, `],"endpoint_ids":[],"device_names":[],"events_allowed":`...)
	b = appendList(b, a.allowed)
	b = append(b, `,"events_disallowed":`...)
	b = appendList(b, a.disallowed)
	return append(b, '}')
}

func (s *Server) hAppList(rq *request) {
	b := []byte{'['}
	for i, name := range sortedKeys(s.apps) {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appJSON(b, s.apps[name])
	}
	rq.ok(append(b, ']'))
}

func (s *Server) hAppGet(rq *request) {
	a := s.apps[rq.vars[0]]
	if a == nil {
		rq.fail(404, "Application not found")
		return
	}
	rq.ok(s.appJSON(nil, a))
}

func appendList(b []byte, list json.RawMessage) []byte {
	if list == nil {
		return append(b, "[]"...)
	}
	return append(b, list...)
}

// hAppFilter sets the application's event filter as Asterisk 20 does
// (res/stasis/app.c, app_event_filter_set): no body or an empty object
// clears both lists; otherwise each list given replaces the old one and a
// list not given is kept. "disallowed" is set first, so a bad "allowed"
// still leaves a good "disallowed" in place, and each entry must be an
// object with a non-empty string "type".
func (s *Server) hAppFilter(rq *request) {
	a := s.apps[rq.vars[0]]
	if a == nil {
		rq.fail(404, "Application not found")
		return
	}
	if len(rq.p.body) == 0 {
		a.allowed, a.allowedSet, a.disallowed, a.disallowedSet = nil, nil, nil, nil
		rq.ok(s.appJSON(nil, a))
		return
	}
	for _, key := range []string{"disallowed", "allowed"} {
		raw, given := rq.p.body[key]
		if !given {
			continue
		}
		list, set, ok := parseEventFilter(raw)
		if !ok {
			rq.fail(400, "Invalid format definition")
			return
		}
		if key == "allowed" {
			a.allowed, a.allowedSet = list, set
		} else {
			a.disallowed, a.disallowedSet = list, set
		}
	}
	rq.ok(s.appJSON(nil, a))
}

// parseEventFilter checks one filter list: a JSON array of objects each
// with a non-empty string "type" (null counts as no list).
func parseEventFilter(raw json.RawMessage) (json.RawMessage, map[string]bool, bool) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil, true
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, nil, false
	}
	set := map[string]bool{}
	for _, it := range items {
		var obj map[string]json.RawMessage
		if json.Unmarshal(it, &obj) != nil || obj == nil {
			return nil, nil, false
		}
		var typ string
		if json.Unmarshal(obj["type"], &typ) != nil || typ == "" {
			return nil, nil, false
		}
		set[typ] = true
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, nil, false
	}
	if len(set) == 0 {
		set = nil // an empty list filters nothing
	}
	return compact.Bytes(), set, true
}

// allows reports whether the app's filter lets an event of type typ
// through: disallowed wins; an empty or absent allowed list allows all.
func (a *app) allows(typ string) bool {
	if a.disallowedSet[typ] {
		return false
	}
	return a.allowedSet == nil || a.allowedSet[typ]
}

func (s *Server) hAppSubscription(rq *request) {
	a := s.apps[rq.vars[0]]
	if a == nil {
		rq.fail(404, "Application not found")
		return
	}
	if len(rq.p.multi("eventSource")) == 0 {
		rq.fail(400, "Missing parameter eventSource")
		return
	}
	rq.ok(s.appJSON(nil, a))
}

func (s *Server) hUserEvent(rq *request) {
	appName := rq.p.str("application")
	if appName == "" {
		rq.fail(400, "Missing parameter application")
		return
	}
	if s.apps[appName] == nil {
		rq.fail(404, "Application not found")
		return
	}
	now := s.clk.Now()
	b := evHead(newEvBuf(), "ChannelUserevent", now)
	b = append(b, `,"eventname":`...)
	b = appendStr(b, rq.vars[0])
	b = append(b, `,"userevent":`...)
	if raw, ok := rq.p.body["variables"]; ok && len(raw) > 0 && raw[0] == '{' {
		b = append(b, raw...)
	} else {
		b = append(b, '{', '}')
	}
	s.emit(appName, s.evTail(b, appName))
	rq.noContent()
}
