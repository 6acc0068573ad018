package configs_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestAsteriskBehindKamailioDiff: configs/asterisk-kamailio holds only files
// of configs/asterisk, and they differ from the shipped ones exactly by
// testdata/asterisk-kamailio.diff: a change of a shipped file that the
// variant does not follow, or a change of the variant, shows here (go test
// ./configs -run Kamailio -update rewrites the diff, to be read in review).
func TestAsteriskBehindKamailioDiff(t *testing.T) {
	t.Parallel()
	variant, err := filepath.Glob(filepath.Join("asterisk-kamailio", "*"))
	if err != nil || len(variant) == 0 {
		t.Fatalf("no files in configs/asterisk-kamailio: %v", err)
	}
	var got bytes.Buffer
	for _, f := range variant {
		name := filepath.Base(f)
		shipped := filepath.Join("asterisk", name)
		if _, err := os.Stat(shipped); err != nil {
			t.Errorf("configs/asterisk-kamailio/%s replaces no file of configs/asterisk", name)
			continue
		}
		cmd := exec.Command("diff", "-U2", "--label", "asterisk/"+name, "--label", "asterisk-kamailio/"+name, shipped, f)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
			t.Fatalf("diff %s: %v", name, err)
		}
		got.Write(out)
	}
	golden := filepath.Join("testdata", "asterisk-kamailio.diff")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("configs/asterisk-kamailio differs from configs/asterisk otherwise than %s (-update rewrites it):\n%s", golden, got.Bytes())
	}
}
