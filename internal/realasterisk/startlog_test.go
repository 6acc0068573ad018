package realasterisk

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The modules the shipped configs/asterisk configure load without a
// warning or an error (maxsilence ≥ minsecs in voicemail.conf left empty
// messages in the fallback mailbox, and Asterisk only said so in its log).
// Modules the service does not configure (autoloaded, declining for want
// of a file) are not its concern.
func TestShippedConfigsLoadCleanly(t *testing.T) {
	t.Parallel()
	a := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Everything is loaded once the CLI answers for the last module.
	if _, err := a.CLI(ctx, "module show like app_voicemail"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(a.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	ours := regexp.MustCompile(`(WARNING|ERROR)\[\d+\] (app_voicemail|res_musiconhold|app_queue|chan_pjsip|res_pjsip[a-z_]*|res_ari[a-z_]*|res_http_websocket|http|res_rtp_asterisk|pbx_config|app_stasis|res_stasis[a-z_]*|app_dial|app_playback)\.c: `)
	for _, line := range strings.Split(string(b), "\n") {
		if ours.MatchString(line) {
			t.Errorf("shipped config: %s", line)
		}
	}
}
