package menu

import (
	"strings"
	"testing"
	"time"
)

func withRecording(yaml string) string {
	return strings.Replace(base+okMenu, "    name: Gruppo uno\n", "    name: Gruppo uno\n"+yaml, 1)
}

func TestRecordingOf(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("x.yaml", []byte(withRecording("    recording: {mode: refusable}\n")))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.RecordingOf("g1")
	if r == nil || r.Mode != RecordingRefusable || r.RefuseKey != DefaultRefuseKey || r.RefuseWait != DefaultRefuseWait {
		t.Fatalf("g1 recording %+v", r)
	}
	if r := cfg.RecordingOf("g2"); r != nil {
		t.Fatalf("g2 (no recording:) is recorded: %+v", r)
	}
	cfg, err = Parse("x.yaml", []byte(withRecording("    recording: {mode: \"off\"}\n")))
	if err != nil || cfg.RecordingOf("g1") != nil {
		t.Fatalf("mode off: %v, %+v", err, cfg.RecordingOf("g1"))
	}
	cfg, err = Parse("x.yaml", []byte(withRecording("    recording: {mode: announce}\n")))
	if err != nil || cfg.RecordingOf("g1").Mode != RecordingAnnounce {
		t.Fatalf("mode announce: %v", err)
	}
	cfg, err = Parse("x.yaml", []byte(withRecording("    recording: {mode: refusable, refuse_key: \"0\", refuse_wait: 5s}\n")))
	if err != nil || cfg.RecordingOf("g1").RefuseKey != "0" || cfg.RecordingOf("g1").RefuseWait != 5*time.Second {
		t.Fatalf("refusable with key: %v", err)
	}
}

// Every problem is reported at the recording: line.
func TestRecordingProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ yaml, want string }{
		{"{mode: always}", `x.yaml:16:16: group "g1": recording.mode "always" must be off, announce or refusable`},
		{"{mode: refusable, refuse_key: \"12\"}", `x.yaml:16:16: group "g1": recording.refuse_key "12" must be one key`},
		{"{mode: refusable, refuse_key: A}", `recording.refuse_key "A" must be one key`},
		{"{mode: refusable, refuse_wait: 500ms}", `x.yaml:16:16: group "g1": recording.refuse_wait 500ms is out of range 1s..15s`},
		{"{mode: refusable, refuse_wait: 20s}", `recording.refuse_wait 20s is out of range`},
		{"{mode: announce, refuse_key: \"9\"}", `x.yaml:16:16: group "g1": recording.refuse_key and refuse_wait need mode: refusable`},
		{"{refuse_key: \"9\"}", `recording.refuse_key and refuse_wait need mode: refusable`},
		{"{mode: refusable, refuse_key: \"#\"}\n    queue: {break_out_key: \"#\"}", `recording.refuse_key "#" is also the queue's break_out_key`},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("x.yaml", []byte(withRecording("    recording: "+tc.yaml+"\n")))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %q, got %v", tc.want, err)
			}
		})
	}
}

// The announcements are generated with the other system prompts.
func TestRecordingPromptsGenerated(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("x.yaml", []byte(withRecording("    recording: {mode: refusable}\n")))
	if err != nil {
		t.Fatal(err)
	}
	need := map[string]bool{SystemSoundName("recording_notice"): false, SystemSoundName("recording_refuse"): false,
		SystemSoundName("recording_refused"): false}
	for _, p := range cfg.PromptTexts() {
		if _, ok := need[p.Sound]; ok && p.Lang == "it" && p.Text != "" {
			need[p.Sound] = true
		}
	}
	for s, ok := range need {
		if !ok {
			t.Errorf("%s not among the prompts to generate", s)
		}
	}
}

// The desk may word the notice its own way (ivr.prompts), as any
// system prompt; a misspelt name is an error.
func TestRecordingNoticeOverride(t *testing.T) {
	t.Parallel()
	own := "La chiamata è registrata per il controllo di qualità."
	src := strings.Replace(withRecording("    recording: {mode: announce}\n"), "ivr:\n",
		"ivr:\n  prompts:\n    recording_notice: {it: \""+own+"\"}\n", 1)
	cfg, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.SystemText("recording_notice", "it"); got != own {
		t.Fatalf("notice %q", got)
	}
	src = strings.Replace(src, "recording_notice:", "recording_notise:", 1)
	if _, err := Parse("x.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), `unknown prompt "recording_notise"`) {
		t.Fatalf("misspelt prompt: %v", err)
	}
}
