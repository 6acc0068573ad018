package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrompts(t *testing.T) {
	out := t.TempDir()
	// A recorded prompt is in place before generation: it must win.
	recorded := filepath.Join(out, "sounds", "it", "helpdesk", "menu-root.wav")
	if err := os.MkdirAll(filepath.Dir(recorded), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recorded, []byte("a studio recording"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "", "prompts", "-config", example, "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s (scripts/install-deps.sh installs espeak-ng and sox)", code, stderr)
	}
	if !strings.Contains(stdout, "1 recorded files kept") {
		t.Errorf("summary %q", stdout)
	}
	if b, _ := os.ReadFile(recorded); string(b) != "a studio recording" {
		t.Error("the recorded prompt was overwritten")
	}
	// Every prompt of every language exists, as Asterisk plays it.
	for _, name := range []string{"it/helpdesk/menu-1.wav", "en/helpdesk/menu-root.wav", "it/helpdesk/system-pin_ask.wav", "en/helpdesk/system-goodbye.wav"} {
		data, err := os.ReadFile(filepath.Join(out, "sounds", name))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) < 44 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
			t.Fatalf("%s is not a WAV file", name)
		}
		channels := binary.LittleEndian.Uint16(data[22:24])
		rate := binary.LittleEndian.Uint32(data[24:28])
		bits := binary.LittleEndian.Uint16(data[34:36])
		if channels != 1 || rate != 8000 || bits != 16 {
			t.Errorf("%s: %d channels, %d Hz, %d bits; want mono 8 kHz 16-bit", name, channels, rate, bits)
		}
		if len(data) < 8000 { // at least a quarter second of speech
			t.Errorf("%s is only %d bytes", name, len(data))
		}
	}
	// A second run regenerates nothing.
	code, stdout, _ = runCmd(t, "", "prompts", "-config", example, "-out", out)
	if code != 0 || !strings.HasPrefix(stdout, "0 prompts generated") {
		t.Errorf("second run: %d %q", code, stdout)
	}
}

func TestPromptsWithoutTools(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	code, _, stderr := runCmd(t, "", "prompts", "-config", example, "-out", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "apt-get install espeak-ng sox") {
		t.Errorf("missing tools: exit %d, %q", code, stderr)
	}
}
