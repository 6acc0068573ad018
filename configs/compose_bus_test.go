package configs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ariProxyImage is the ari-proxy server ivrd's client (ari-proxy/v5
// v5.3.1, ivr/ariproxyconn) speaks with.
const ariProxyImage = "cycoresystems/ari-proxy:v5.3.1"

// checkComposeBus: the optional profile "bus" runs NATS and an ari-proxy
// of the version ivrd speaks, for the application and ARI user ivrd and
// the dialplan use, on the NATS ivrd is given (ARI_NATS_URL), and ivrd
// stays direct unless asked.
func checkComposeBus(compose string) []string {
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Profiles    []string          `yaml:"profiles"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(compose), &doc); err != nil {
		return []string{"docker-compose.yml: " + err.Error()}
	}
	var p []string
	nats, okN := doc.Services["nats"]
	proxy, okP := doc.Services["ari-proxy"]
	ivrd := doc.Services["ivrd"]
	if !okN || !okP {
		return []string{"docker-compose.yml: no services nats and ari-proxy (profile bus)"}
	}
	if !slices.Equal(proxy.Profiles, []string{"bus"}) {
		p = append(p, fmt.Sprintf("docker-compose.yml: ari-proxy must be in profile bus only (optional), has %v", proxy.Profiles))
	}
	// The cluster profile runs the same NATS.
	if !slices.Contains(nats.Profiles, "bus") || slices.ContainsFunc(nats.Profiles, func(s string) bool { return s != "bus" && s != "cluster" }) {
		p = append(p, fmt.Sprintf("docker-compose.yml: nats must be in profile bus (and cluster) only (optional), has %v", nats.Profiles))
	}
	if proxy.Image != ariProxyImage {
		p = append(p, fmt.Sprintf("docker-compose.yml: ari-proxy's image %q, want %s (the version ivrd's client speaks)", proxy.Image, ariProxyImage))
	}
	env := proxy.Environment
	if env["ARI_APPLICATION"] != ariApp {
		p = append(p, fmt.Sprintf("docker-compose.yml: ari-proxy's ARI_APPLICATION %q, but the dialplan runs Stasis(%s)", env["ARI_APPLICATION"], ariApp))
	}
	if env["ARI_USERNAME"] != ariUser {
		p = append(p, fmt.Sprintf("docker-compose.yml: ari-proxy's ARI_USERNAME %q, want %q (ari.conf)", env["ARI_USERNAME"], ariUser))
	}
	for _, k := range []string{"ARI_PASSWORD", "ARI_HTTP_URL", "ARI_WEBSOCKET_URL"} {
		if env[k] == "" {
			p = append(p, "docker-compose.yml: ari-proxy lacks "+k)
		}
	}
	if env["MESSAGEBUS_URL"] == "" || env["MESSAGEBUS_URL"] != ivrd.Environment["ARI_NATS_URL"] {
		p = append(p, fmt.Sprintf("docker-compose.yml: ari-proxy's MESSAGEBUS_URL %q is not ivrd's ARI_NATS_URL %q",
			env["MESSAGEBUS_URL"], ivrd.Environment["ARI_NATS_URL"]))
	}
	if t := ivrd.Environment["ARI_TRANSPORT"]; t != "${ARI_TRANSPORT:-direct}" && t != "" && t != "direct" {
		p = append(p, fmt.Sprintf("docker-compose.yml: ivrd's ARI_TRANSPORT %q: the default deployment is direct", t))
	}
	return p
}

func TestComposeBus(t *testing.T) {
	report(t, checkComposeBus(read(t, composeFile)))
}

func TestComposeBusChecksCatch(t *testing.T) {
	compose := read(t, composeFile)
	for _, tc := range []struct{ what, old, new, want string }{
		// The bus's own ari-proxy (4 and 6 spaces: not the cluster's x- blocks).
		{"other version", "\n    image: " + ariProxyImage, "\n    image: cycoresystems/ari-proxy:latest", "the version ivrd's client speaks"},
		{"other application", "\n      ARI_APPLICATION: ivr", "\n      ARI_APPLICATION: test", "Stasis(ivr)"},
		{"other NATS", "MESSAGEBUS_URL: nats://127.0.0.1:4222", "MESSAGEBUS_URL: nats://nats:4222", "not ivrd's ARI_NATS_URL"},
		{"always on", "    profiles: [bus]\n    restart: unless-stopped\n    network_mode: host", "    restart: unless-stopped\n    network_mode: host", "profile bus only"},
		{"NATS always on", "    profiles: [bus, cluster]\n", "", "nats must be in profile bus"},
		{"NATS not on the bus", "    profiles: [bus, cluster]\n", "    profiles: [cluster]\n", "nats must be in profile bus"},
		{"bus by default", "ARI_TRANSPORT: ${ARI_TRANSPORT:-direct}", "ARI_TRANSPORT: nats", "default deployment is direct"},
	} {
		if !strings.Contains(compose, tc.old) {
			t.Fatalf("%s: the fixture no longer contains %q: update this test", tc.what, tc.old)
		}
		problems := checkComposeBus(strings.Replace(compose, tc.old, tc.new, 1))
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
			t.Errorf("%s: want a problem containing %q, got %q", tc.what, tc.want, problems)
		}
	}
}
