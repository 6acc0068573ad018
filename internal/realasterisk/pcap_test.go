package realasterisk

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// alawDecode is G.711's expansion, to check alaw against.
func alawDecode(b byte) int {
	a := int(b ^ 0x55)
	t := (a & 0x0f) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return t
	}
	return -t
}

func TestAlawRoundTrip(t *testing.T) {
	if alaw(0) != 0xd5 {
		t.Errorf("silence encodes as %#x, want 0xd5", alaw(0))
	}
	for _, x := range []int{1, 17, 100, -100, 1000, -1000, 6000, -6000, 32767, -32768} {
		// A-law keeps 4 bits of mantissa: within 1/16 of the value.
		got := alawDecode(alaw(int16(x)))
		if abs(got-x) > abs(x)/16+16 {
			t.Errorf("%d → %#x → %d", x, alaw(int16(x)), got)
		}
	}
}

func abs(x int) int { return max(x, -x) }

func TestGreetingPcap(t *testing.T) {
	if _, err := os.Stat(SpeechPcap); err != nil {
		t.Fatalf("sipp's bundled capture is missing (Debian package sip-tester): %v", err)
	}
	name, err := GreetingPcap(t.TempDir(), 600*time.Millisecond, 2400*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	off, frames, loud := 24, 0, 0
	for off < len(b) {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		pkt := b[off+16 : off+16+n]
		payload := pkt[len(pkt)-240:]
		if seq := binary.BigEndian.Uint16(pkt[len(pkt)-252+2:]); int(seq) != 1000+frames {
			t.Fatalf("frame %d has sequence number %d", frames, seq)
		}
		peak := 0
		for _, s := range payload {
			peak = max(peak, alawDecode(s))
		}
		if peak > 3000 {
			loud++
		} else if peak > 8 {
			t.Errorf("frame %d is neither silent nor loud (peak %d)", frames, peak)
		}
		frames++
		off += 16 + n
	}
	if frames != 100 || loud != 20 {
		t.Errorf("%d frames, %d loud; want 100 frames of 30 ms, the first 20 loud", frames, loud)
	}
}
