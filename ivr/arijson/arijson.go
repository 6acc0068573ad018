// Package arijson reads what is needed of an ARI event frame without
// decoding it: its type, so that events nobody handles cost no decoding.
package arijson

import (
	"bytes"
	"encoding/json/jsontext"
)

// Type returns the top-level "type" of an event frame, or "" when the
// frame is not a JSON object or has no string type. Asterisk puts type
// first in most events but not in all (ChannelVarset begins with
// variable and value), so the object's top-level members are walked,
// skipping values, until type is found.
func Type(frame []byte) string {
	if t, ok := leadingType(frame); ok {
		return t
	}
	return walkType(frame)
}

func walkType(frame []byte) string {
	d := jsontext.NewDecoder(bytes.NewReader(frame))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	for {
		name, err := d.ReadToken()
		if err != nil || name.Kind() != '"' {
			return ""
		}
		if name.String() != "type" {
			if d.SkipValue() != nil {
				return ""
			}
			continue
		}
		v, err := d.ReadToken()
		if err != nil || v.Kind() != '"' {
			return ""
		}
		return v.String()
	}
}

// leadingType reads the type of a frame that begins with it, as compact
// JSON (Asterisk's, most of the time): {"type":"Name", with a name of
// ASCII letters only, which the walk would return as is. No decoder, no
// allocation beyond the name.
func leadingType(frame []byte) (string, bool) {
	const head = `{"type":"`
	if !bytes.HasPrefix(frame, []byte(head)) {
		return "", false
	}
	rest := frame[len(head):]
	for i, c := range rest {
		switch {
		case c == '"' && i > 0:
			return string(rest[:i]), true
		case (c < 'A' || c > 'Z') && (c < 'a' || c > 'z'):
			return "", false
		}
	}
	return "", false
}
