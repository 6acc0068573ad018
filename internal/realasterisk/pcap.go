package realasterisk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// GreetingPcap writes, in dir, a capture of RTP audio for sipp's
// play_pcap_audio that sounds (a 440 Hz tone, well over AMD()'s silence
// threshold) for voice, then stays silent for silence: with a short voice,
// a person answering "Pronto?" and waiting; with a long one, an answering
// machine's greeting. The packets are those of SpeechPcap (G.711 A-law,
// 30 ms each) with the audio, sequence numbers and times rewritten.
func GreetingPcap(dir string, voice, silence time.Duration) (string, error) {
	tmpl, err := os.ReadFile(SpeechPcap)
	if err != nil {
		return "", err
	}
	const global, record = 24, 16
	if len(tmpl) < global+record || binary.LittleEndian.Uint32(tmpl) != 0xa1b2c3d4 {
		return "", errors.New("realasterisk: " + SpeechPcap + " is not a little-endian pcap")
	}
	n := int(binary.LittleEndian.Uint32(tmpl[global+8:]))
	pkt := tmpl[global+record : global+record+n]
	const payload = 240 // 30 ms at 8 kHz
	rtp := len(pkt) - payload - 12
	if rtp < 0 || pkt[rtp]>>6 != 2 || pkt[rtp+1]&0x7f != 8 {
		return "", fmt.Errorf("realasterisk: the first packet of %s is not 30 ms of PCMA RTP", SpeechPcap)
	}
	frames := int((voice + silence) / (30 * time.Millisecond))
	voiced := int(voice / (30 * time.Millisecond))
	out := make([]byte, 0, global+frames*(record+n))
	out = append(out, tmpl[:global]...)
	sample := 0
	for i := range frames {
		at := time.Duration(i) * 30 * time.Millisecond
		var hdr [record]byte
		binary.LittleEndian.PutUint32(hdr[0:], uint32(1_700_000_000+at/time.Second))
		binary.LittleEndian.PutUint32(hdr[4:], uint32(at%time.Second/time.Microsecond))
		binary.LittleEndian.PutUint32(hdr[8:], uint32(n))
		binary.LittleEndian.PutUint32(hdr[12:], uint32(n))
		out = append(out, hdr[:]...)
		p := append([]byte(nil), pkt...)
		p[rtp+1] &^= 0x80 // no marker
		binary.BigEndian.PutUint16(p[rtp+2:], uint16(1000+i))
		binary.BigEndian.PutUint32(p[rtp+4:], uint32(i*payload))
		for j := range payload {
			v := 0.0
			if i < voiced {
				v = 6000 * math.Sin(2*math.Pi*440*float64(sample)/8000)
			}
			p[rtp+12+j] = alaw(int16(v))
			sample++
		}
		out = append(out, p...)
	}
	name := filepath.Join(dir, fmt.Sprintf("greeting-%dms-%dms.pcap", voice.Milliseconds(), silence.Milliseconds()))
	return name, os.WriteFile(name, out, 0o644)
}

// alaw encodes a linear sample in G.711 A-law (ITU-T G.711).
func alaw(x int16) byte {
	mask := byte(0xd5)
	v := int(x)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	v >>= 3 // 13-bit magnitude
	seg := 0
	for t := 0x1f; v > t && seg < 7; t = t<<1 | 1 {
		seg++
	}
	var b byte
	if seg == 0 {
		b = byte(v>>1) & 0x0f
	} else {
		b = byte(seg<<4) | byte(v>>uint(seg))&0x0f
	}
	return b ^ mask
}
