// Package configfile reads a help-desk configuration and its PIN secret
// from disk: the only I/O around the pure menu package.
package configfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/helpdesk-ivr/ivr/menu"
)

// DemoPINSecret keys the PIN hashes of the example configuration. It is
// public: only demo mode may use it.
const DemoPINSecret = "demo-pin-secret-not-for-production"

// Load reads and validates a configuration file.
func Load(path string) (*menu.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return menu.Parse(path, data)
}

// ErrNoPINSecret means PINs are configured but no secret to check them.
var ErrNoPINSecret = errors.New("no PIN secret: set IVR_PIN_SECRET or IVR_PIN_SECRET_FILE, or service.pin_secret_file in the configuration")

// PINSecret finds the key of the PIN hashes: IVR_PIN_SECRET, then the file
// named by IVR_PIN_SECRET_FILE, then service.pin_secret_file. cfg may be nil.
func PINSecret(cfg *menu.Config) ([]byte, error) {
	if s := os.Getenv("IVR_PIN_SECRET"); s != "" {
		return []byte(s), nil
	}
	path := os.Getenv("IVR_PIN_SECRET_FILE")
	if path == "" && cfg != nil {
		path = cfg.Service.PINSecretFile
	}
	if path == "" {
		return nil, ErrNoPINSecret
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s does not exist)", ErrNoPINSecret, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read PIN secret: %w", err)
	}
	secret := strings.TrimRight(string(data), "\r\n")
	if secret == "" {
		return nil, fmt.Errorf("the PIN secret file %s is empty", path)
	}
	return []byte(secret), nil
}
