package arisim

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeLayout is the layout of every ARI timestamp (creationtime, event
// timestamp, ping timestamp): milliseconds and an offset without a colon.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

const hexDigits = "0123456789abcdef"

// appendStr appends s as a JSON string, escaping like jansson does (no
// HTML escaping, no escaped slash).
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, TimeLayout)
	return append(b, '"')
}

func appendStrList(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, s)
	}
	return append(b, ']')
}

// channelJSON returns the channel snapshot, cached until the channel changes.
func (ch *channel) json() []byte {
	if ch.cache != nil {
		return ch.cache
	}
	b := make([]byte, 0, 400)
	b = append(b, `{"id":`...)
	b = appendStr(b, ch.id)
	b = append(b, `,"name":`...)
	b = appendStr(b, ch.name)
	b = append(b, `,"state":`...)
	b = appendStr(b, ch.state)
	b = append(b, `,"protocol_id":`...)
	b = appendStr(b, ch.protoID)
	b = append(b, `,"caller":{"name":`...)
	b = appendStr(b, ch.caller.Name)
	b = append(b, `,"number":`...)
	b = appendStr(b, ch.caller.Number)
	b = append(b, `},"connected":{"name":`...)
	b = appendStr(b, ch.connected.Name)
	b = append(b, `,"number":`...)
	b = appendStr(b, ch.connected.Number)
	b = append(b, `},"accountcode":`...)
	b = appendStr(b, ch.accountcode)
	b = append(b, `,"dialplan":{"context":`...)
	b = appendStr(b, ch.dp.context)
	b = append(b, `,"exten":`...)
	b = appendStr(b, ch.dp.exten)
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, int64(ch.dp.priority), 10)
	b = append(b, `,"app_name":`...)
	b = appendStr(b, ch.dp.appName)
	b = append(b, `,"app_data":`...)
	b = appendStr(b, ch.dp.appData)
	b = append(b, `},"creationtime":`...)
	b = appendTime(b, ch.created)
	b = append(b, `,"language":`...)
	b = appendStr(b, ch.lang)
	b = append(b, '}')
	ch.cache = b
	return b
}

// technology is the bridge technology as reported. Like Asterisk's smart
// bridge, it is re-evaluated (retech) after a change has been announced:
// the ChannelEnteredBridge/ChannelLeftBridge events still carry the
// technology from before the change (native_rtp in the caller's
// ChannelLeftBridge of trace c).
func (br *bridge) technology() string {
	if br.tech == "" {
		br.retech()
	}
	return br.tech
}

func (br *bridge) retech() { br.tech = br.computeTech() }

func (br *bridge) computeTech() string {
	if br.btype == "holding" {
		return "holding_bridge"
	}
	n := len(br.chans)
	switch {
	case n == 2 && !br.mohOn && br.pbq.current() == nil && nativeCapable(br.chans):
		return "native_rtp"
	case n >= 3:
		return "softmix"
	}
	return "simple_bridge"
}

func nativeCapable(l []*channel) bool {
	for _, ch := range l {
		if ch.tech == "Local" {
			return false
		}
	}
	return true
}

func (br *bridge) json() []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = appendStr(b, br.id)
	b = append(b, `,"technology":`...)
	b = appendStr(b, br.technology())
	b = append(b, `,"bridge_type":`...)
	b = appendStr(b, br.btype)
	b = append(b, `,"bridge_class":"stasis","creator":"Stasis","name":`...)
	b = appendStr(b, br.name)
	b = append(b, `,"channels":[`...)
	for i, ch := range br.chans {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, ch.id)
	}
	for i, r := range br.recs { // the recorder channels (bridge_recording.go)
		if i > 0 || len(br.chans) > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, r.recorder)
	}
	b = append(b, `],"creationtime":`...)
	b = appendTime(b, br.created)
	b = append(b, `,"video_mode":"talker"}`...)
	return b
}

// json renders the playback as the ARI Playback model; state overrides the
// stored state when not empty (events carry the state of the transition).
func (pb *playback) json(state string) []byte {
	if state == "" {
		state = pb.state
	}
	b := make([]byte, 0, 200)
	b = append(b, `{"id":`...)
	b = appendStr(b, pb.id)
	b = append(b, `,"media_uri":`...)
	b = appendStr(b, pb.media[pb.idx])
	if pb.idx+1 < len(pb.media) {
		b = append(b, `,"next_media_uri":`...)
		b = appendStr(b, pb.media[pb.idx+1])
	}
	b = append(b, `,"target_uri":`...)
	b = appendStr(b, pb.target)
	b = append(b, `,"language":`...)
	b = appendStr(b, pb.lang)
	b = append(b, `,"state":`...)
	b = appendStr(b, state)
	return append(b, '}')
}

func (r *liveRec) json() []byte {
	b := make([]byte, 0, 200)
	b = append(b, `{"name":`...)
	b = appendStr(b, r.name)
	b = append(b, `,"format":`...)
	b = appendStr(b, r.format)
	b = append(b, `,"state":`...)
	b = appendStr(b, r.state)
	b = append(b, `,"target_uri":`...)
	b = appendStr(b, r.target)
	if r.total >= 0 {
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, int64(r.total), 10)
	}
	if r.talking >= 0 {
		b = append(b, `,"talking_duration":`...)
		b = strconv.AppendInt(b, int64(r.talking), 10)
		b = append(b, `,"silence_duration":`...)
		b = strconv.AppendInt(b, int64(r.total-r.talking), 10)
	}
	if r.cause != "" {
		b = append(b, `,"cause":`...)
		b = appendStr(b, r.cause)
	}
	return append(b, '}')
}

func storedJSON(b []byte, name, format string) []byte {
	b = append(b, `{"name":`...)
	b = appendStr(b, name)
	b = append(b, `,"format":`...)
	b = appendStr(b, format)
	return append(b, '}')
}

func msgJSON(msg string) []byte {
	b := make([]byte, 0, len(msg)+16)
	b = append(b, `{"message":`...)
	b = appendStr(b, msg)
	return append(b, '}')
}
