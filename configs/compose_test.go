package configs_test

import (
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

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

// ---------------------------------------------------------------------------
// The cluster profile: what `docker compose --profile cluster config` would
// refuse, and what would start but not work as a cluster.
// ---------------------------------------------------------------------------

// clusterServices are the services the cluster profile runs (issue 16);
// postgres is the single host's, which has no profile.
var clusterServices = []string{"nats", "kamailio", "asterisk-1", "asterisk-2", "ari-proxy-1", "ari-proxy-2", "ivrd-1", "ivrd-2", "cluster-secrets", "postgres"}

// generatedPaths are host paths a service mounts that are not in the
// repository but made before the first start (the header of
// docker-compose.yml): Docker would create a missing directory empty, and
// refuse a missing secret file.
var generatedPaths = map[string]string{
	"sounds/":            "ivrctl prompts -out .",
	"secrets/pin-secret": "scripts/compose-secrets.sh",
}

// clusterUp is the command docker-compose.yml and the README give to start
// the cluster.
var clusterUp = regexp.MustCompile(`docker compose --profile cluster up -d((?: [a-z0-9-]+)+)`)

type composeService struct {
	Image       string   `yaml:"image"`
	Profiles    []string `yaml:"profiles"`
	NetworkMode string   `yaml:"network_mode"`
	// Networks: a list of names or a map name -> {ipv4_address}.
	Networks    yaml.Node         `yaml:"networks"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Secrets     []string          `yaml:"secrets"`
	Configs     []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"configs"`
	Ports      []string `yaml:"ports"`
	Command    []string `yaml:"command"`
	ExtraHosts []string `yaml:"extra_hosts"`
}

type composeDoc struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Configs map[string]struct {
		File string `yaml:"file"`
	} `yaml:"configs"`
	Networks map[string]any `yaml:"networks"`
}

// names returns the keys of a list-or-map node (depends_on, networks).
func names(n yaml.Node) []string {
	var out []string
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
		}
	}
	return out
}

// ipv4 returns the fixed address of a service on a network, if any.
func ipv4(s composeService, network string) string {
	if s.Networks.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i < len(s.Networks.Content); i += 2 {
		if s.Networks.Content[i].Value == network {
			var v struct {
				IPv4 string `yaml:"ipv4_address"`
			}
			_ = s.Networks.Content[i+1].Decode(&v)
			return v.IPv4
		}
	}
	return ""
}

// enabled: the service runs under the profile (no profile: under all).
func enabled(s composeService, profile string) bool {
	return len(s.Profiles) == 0 || slices.Contains(s.Profiles, profile)
}

// deps are the services s needs started first: depends_on and the
// service whose network namespace it joins.
func deps(s composeService) []string {
	d := names(s.DependsOn)
	if n, ok := strings.CutPrefix(s.NetworkMode, "service:"); ok {
		d = append(d, n)
	}
	return d
}

// hostPath maps a path in the service's container to the repository file
// mounted there (a bind mount of ./..., or a config), "" if none.
func hostPath(doc composeDoc, s composeService, target string) string {
	for _, c := range s.Configs {
		if c.Target == target {
			return strings.TrimPrefix(doc.Configs[c.Source].File, "./")
		}
	}
	best, host := "", ""
	for _, v := range s.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		dst, _, _ = strings.Cut(dst, ":")
		if !strings.HasPrefix(src, "./") {
			continue
		}
		if (target == dst || strings.HasPrefix(target, dst+"/")) && len(dst) > len(best) {
			best, host = dst, path.Join(strings.TrimPrefix(src, "./"), strings.TrimPrefix(target, dst))
		}
	}
	return host
}

// nodeNames reads a node's asterisk.conf as Asterisk does: the file given
// with -C (or the shipped one), its #include lines replaced by the files
// they name, as mounted.
func nodeNames(doc composeDoc, s composeService, repo fs.FS) (entityid, systemname string, err error) {
	conf := "/etc/asterisk/asterisk.conf"
	if i := slices.Index(s.Command, "-C"); i >= 0 && i+1 < len(s.Command) {
		conf = s.Command[i+1]
	}
	var text strings.Builder
	var inline func(target string, depth int) error
	inline = func(target string, depth int) error {
		host := hostPath(doc, s, target)
		if host == "" || depth > 3 {
			return fmt.Errorf("%s is not a file of the repository mounted in the container", target)
		}
		b, err := fs.ReadFile(repo, host)
		if err != nil {
			return err
		}
		for line := range strings.Lines(string(b)) {
			if inc, ok := strings.CutPrefix(strings.TrimSpace(line), "#include"); ok {
				if err := inline(strings.Trim(strings.TrimSpace(inc), `"<>`), depth+1); err != nil {
					return err
				}
				continue
			}
			text.WriteString(line)
		}
		text.WriteString("\n")
		return nil
	}
	if err := inline(conf, 0); err != nil {
		return "", "", err
	}
	c, err := parseConf(conf, text.String())
	if err != nil {
		return "", "", err
	}
	entityid, _ = c.sectionValue("options", "entityid")
	systemname, _ = c.sectionValue("options", "systemname")
	return entityid, systemname, nil
}

var macAddress = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)

type hostPort struct{ ip, port, proto string }

// published parses a short port mapping: [IP:]HOST:CONTAINER[/PROTO].
func published(p string) (hostPort, bool) {
	spec, proto, _ := strings.Cut(p, "/")
	if proto == "" {
		proto = "tcp"
	}
	parts := strings.Split(spec, ":")
	switch len(parts) {
	case 2:
		return hostPort{"0.0.0.0", parts[0], proto}, true
	case 3:
		return hostPort{parts[0], parts[1], proto}, true
	}
	return hostPort{}, false
}

// checkComposeCluster checks docker-compose.yml's profile cluster, with the
// files it mounts read from repo (the repository's root).
func checkComposeCluster(compose, readme string, repo fs.FS) []string {
	var doc composeDoc
	if err := yaml.Unmarshal([]byte(compose), &doc); err != nil {
		return []string{"docker-compose.yml: " + err.Error()}
	}
	var p []string
	problem := func(format string, args ...any) { p = append(p, "docker-compose.yml: "+fmt.Sprintf(format, args...)) }
	exists := func(rel string) bool {
		for g := range generatedPaths {
			if rel == g || strings.HasPrefix(rel, g) || rel+"/" == g {
				return true
			}
		}
		_, err := fs.Stat(repo, rel)
		return err == nil
	}

	// What compose itself refuses, for every service.
	for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
		s := doc.Services[name]
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			switch {
			case strings.HasPrefix(src, "./"):
				if !exists(strings.TrimPrefix(src, "./")) {
					problem("%s mounts %s, which is not in the repository", name, src)
				}
			case strings.HasPrefix(src, "/") && !strings.Contains(v, ":"):
				// An anonymous volume.
			default:
				if _, ok := doc.Volumes[src]; !ok {
					problem("%s mounts the volume %s, which is not declared", name, src)
				}
			}
		}
		for _, sec := range s.Secrets {
			if d, ok := doc.Secrets[sec]; !ok {
				problem("%s uses the secret %s, which is not declared", name, sec)
			} else if !exists(strings.TrimPrefix(d.File, "./")) {
				problem("the secret %s is %s, which nothing makes", sec, d.File)
			}
		}
		for _, c := range s.Configs {
			if d, ok := doc.Configs[c.Source]; !ok {
				problem("%s uses the config %s, which is not declared", name, c.Source)
			} else if !exists(strings.TrimPrefix(d.File, "./")) {
				problem("the config %s is %s, which is not in the repository", c.Source, d.File)
			}
		}
		for _, n := range names(s.Networks) {
			if _, ok := doc.Networks[n]; !ok && n != "default" {
				problem("%s joins the network %s, which is not declared", name, n)
			}
		}
		if s.NetworkMode != "" && s.Networks.Kind != 0 {
			problem("%s has both network_mode and networks", name)
		}
		for _, d := range deps(s) {
			t, ok := doc.Services[d]
			switch {
			case !ok:
				problem("%s depends on %s, which is not a service", name, d)
			case len(t.Profiles) > 0 && (len(s.Profiles) == 0 || slices.ContainsFunc(s.Profiles, func(pr string) bool { return !enabled(t, pr) })):
				problem("%s (profiles %v) depends on %s, which is not in all of them (%v)", name, s.Profiles, d, t.Profiles)
			}
		}
	}
	// No two services of one profile publish the same host port.
	for _, profile := range []string{"", "bus", "cluster"} {
		seen := map[hostPort]string{}
		for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
			if profile == "" && len(doc.Services[name].Profiles) > 0 || !enabled(doc.Services[name], profile) {
				continue
			}
			for _, port := range doc.Services[name].Ports {
				hp, ok := published(port)
				if !ok {
					problem("%s: port %q is not [IP:]HOST:CONTAINER", name, port)
					continue
				}
				for other, by := range seen {
					if other.port == hp.port && other.proto == hp.proto && (other.ip == hp.ip || other.ip == "0.0.0.0" || hp.ip == "0.0.0.0") {
						problem("%s and %s both publish the host's %s/%s", by, name, hp.port, hp.proto)
					}
				}
				seen[hp] = name
			}
		}
	}

	// The profile's services.
	for _, name := range clusterServices {
		if s, ok := doc.Services[name]; !ok || !enabled(s, "cluster") {
			problem("no service %s in the profile cluster", name)
		}
	}
	inCluster := func(s composeService) bool { return slices.Contains(s.Profiles, "cluster") }

	// The start command starts every service of the profile and nothing of
	// the single host's that the cluster would clash with.
	m := clusterUp.FindStringSubmatch(compose)
	if m == nil {
		problem("no `docker compose --profile cluster up -d SERVICES` to start the cluster")
	} else {
		if !strings.Contains(readme, m[0]) {
			p = append(p, fmt.Sprintf("README.md: does not say %q as docker-compose.yml does", m[0]))
		}
		started := map[string]bool{}
		var start func(string)
		start = func(n string) {
			if started[n] {
				return
			}
			started[n] = true
			for _, d := range deps(doc.Services[n]) {
				start(d)
			}
		}
		for _, n := range strings.Fields(m[1]) {
			start(n)
		}
		for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
			s := doc.Services[name]
			if inCluster(s) && !started[name] {
				problem("%q does not start %s", m[0], name)
			}
			if started[name] && s.NetworkMode == "host" {
				problem("%q starts %s, in the host's network: its ports are the cluster's (SIP 5060 is Kamailio's)", m[0], name)
			}
		}
	}

	// Each Asterisk node: its own entity id and system name, the Kamailio
	// overlay over the shipped configuration, one ari-proxy of its own.
	var nodes []string
	entities, systems := map[string]string{}, map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
		s := doc.Services[name]
		if !inCluster(s) || !strings.HasPrefix(s.Image, "helpdesk-ivr/asterisk:") {
			continue
		}
		nodes = append(nodes, name)
		id, sys, err := nodeNames(doc, s, repo)
		if err != nil {
			problem("%s: its asterisk.conf: %v", name, err)
			continue
		}
		if !macAddress.MatchString(id) {
			problem("%s: entityid %q in asterisk.conf is not xx:xx:xx:xx:xx:xx (ari-proxy would see the network card's)", name, id)
		} else if other, dup := entities[strings.ToLower(id)]; dup {
			problem("%s and %s have the same entityid %s: ari-proxy mixes them up (ari-proxy#47)", other, name, id)
		}
		entities[strings.ToLower(id)] = name
		if other, dup := systems[sys]; dup {
			problem("%s and %s have the same systemname %q: their channel ids may clash in the shared database", other, name, sys)
		}
		systems[sys] = name
		if hostPath(doc, s, "/etc/asterisk/modules.conf") != "configs/asterisk/modules.conf" {
			problem("%s does not run configs/asterisk at /etc/asterisk", name)
		}
		overlay, _ := fs.Glob(repo, "configs/asterisk-kamailio/*")
		for _, f := range overlay {
			if got := hostPath(doc, s, "/etc/asterisk/"+path.Base(f)); got != f {
				problem("%s: /etc/asterisk/%s is %s, not the Kamailio overlay's %s", name, path.Base(f), got, f)
			}
		}
	}
	if len(nodes) < 2 {
		problem("the cluster has %d Asterisk nodes (%v), not two", len(nodes), nodes)
	}
	// The nodes start only once their configuration's secrets passed
	// ivrctl validate, on the same files.
	etcAsterisk := func(s composeService) []string {
		var out []string
		for _, v := range s.Volumes {
			if _, dst, _ := strings.Cut(v, ":"); strings.HasPrefix(dst, "/etc/asterisk") {
				out = append(out, v)
			}
		}
		return out
	}
	check := doc.Services["cluster-secrets"]
	if !slices.Equal(check.Command, []string{"ivrctl", "validate", "-asterisk", "/etc/asterisk", "-kamailio", "/etc/kamailio"}) ||
		hostPath(doc, check, "/etc/kamailio/kamailio.cfg") != hostPath(doc, doc.Services["kamailio"], "/etc/kamailio/kamailio.cfg") {
		problem("cluster-secrets must run ivrctl validate -asterisk /etc/asterisk -kamailio /etc/kamailio on Kamailio's configuration")
	}
	for _, n := range nodes {
		var dep struct {
			Check struct {
				Condition string `yaml:"condition"`
			} `yaml:"cluster-secrets"`
		}
		dependsOn := doc.Services[n].DependsOn
		_ = dependsOn.Decode(&dep)
		if dep.Check.Condition != "service_completed_successfully" || !slices.Equal(etcAsterisk(doc.Services[n]), etcAsterisk(check)) {
			problem("%s must depend on cluster-secrets (service_completed_successfully), which must check the same /etc/asterisk", n)
		}
	}
	proxied := map[string]string{}
	natsURL := doc.Services["ivrd-1"].Environment["ARI_NATS_URL"]
	for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
		s := doc.Services[name]
		if !inCluster(s) || s.Image != ariProxyImage {
			continue
		}
		node, ok := strings.CutPrefix(s.NetworkMode, "service:")
		if !ok {
			// Not in the node's namespace: then its ARI URL names it.
			u, err := url.Parse(s.Environment["ARI_HTTP_URL"])
			if err != nil {
				problem("%s: ARI_HTTP_URL %q: %v", name, s.Environment["ARI_HTTP_URL"], err)
				continue
			}
			node = u.Hostname()
		}
		if !slices.Contains(nodes, node) {
			problem("%s relays %s, which is not an Asterisk node of the cluster", name, node)
		} else if other, dup := proxied[node]; dup {
			problem("%s and %s both relay %s", other, name, node)
		}
		proxied[node] = name
		if s.Environment["ARI_APPLICATION"] != ariApp || s.Environment["ARI_USERNAME"] != ariUser || s.Environment["ARI_PASSWORD"] == "" {
			problem("%s: ARI_APPLICATION, ARI_USERNAME, ARI_PASSWORD must be %s, %s and set", name, ariApp, ariUser)
		}
		if s.Environment["MESSAGEBUS_URL"] != natsURL {
			problem("%s's MESSAGEBUS_URL %q is not the ivrd's ARI_NATS_URL %q", name, s.Environment["MESSAGEBUS_URL"], natsURL)
		}
	}
	for _, n := range nodes {
		if _, ok := proxied[n]; !ok {
			problem("no ari-proxy relays %s", n)
		}
	}

	// The ivrd instances: over NATS, with leases, distinct names, the same
	// database and secrets.
	instances := map[string]string{}
	var first *composeService
	for _, name := range slices.Sorted(maps.Keys(doc.Services)) {
		s := doc.Services[name]
		if !inCluster(s) || len(s.Command) == 0 || s.Command[0] != "ivrd" {
			continue
		}
		env := s.Environment
		if env["ARI_TRANSPORT"] != "nats" || env["IVR_LEASES"] != "1" {
			problem("%s: ARI_TRANSPORT %q and IVR_LEASES %q, want nats and 1", name, env["ARI_TRANSPORT"], env["IVR_LEASES"])
		}
		if u, err := url.Parse(env["ARI_NATS_URL"]); err != nil || !enabled(doc.Services[u.Hostname()], "cluster") || doc.Services[u.Hostname()].Image == "" {
			problem("%s: ARI_NATS_URL %q names no service of the cluster", name, env["ARI_NATS_URL"])
		}
		inst := env["IVR_INSTANCE"]
		if inst == "" {
			problem("%s has no IVR_INSTANCE (the container's host name changes with each container)", name)
		} else if other, dup := instances[inst]; dup {
			problem("%s and %s are both the instance %q", other, name, inst)
		}
		instances[inst] = name
		if first == nil {
			first = &s
		} else if env["DATABASE_URL"] != first.Environment["DATABASE_URL"] || !slices.Equal(s.Secrets, first.Secrets) || env["ARI_PASSWORD"] != first.Environment["ARI_PASSWORD"] {
			problem("%s does not share the other instance's DATABASE_URL, ARI_PASSWORD and secrets", name)
		}
	}
	if len(instances) < 2 {
		problem("the cluster has %d ivrd instances, not two", len(instances))
	}

	// Kamailio dispatches to exactly the cluster's nodes, and they know it
	// at the address their configuration permits.
	kam := doc.Services["kamailio"]
	cfgPath := "/etc/kamailio/kamailio.cfg"
	if i := slices.Index(kam.Command, "-f"); i >= 0 && i+1 < len(kam.Command) {
		cfgPath = kam.Command[i+1]
	}
	cfg, err := fs.ReadFile(repo, hostPath(doc, kam, cfgPath))
	if err != nil {
		problem("kamailio: %s is not a file of the repository mounted in the container", cfgPath)
	}
	listPath := "/etc/kamailio/dispatcher.list"
	if m := regexp.MustCompile(`(?m)^#!define DISPATCHER_LIST "([^"]+)"`).FindSubmatch(cfg); m != nil {
		listPath = string(m[1])
	}
	list, err := fs.ReadFile(repo, hostPath(doc, kam, listPath))
	if err != nil {
		problem("kamailio: its dispatcher list %s is not a file of the repository mounted in the container", listPath)
	}
	var listed []string
	for line := range strings.Lines(string(list)) {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		host := strings.TrimPrefix(f[1], "sip:")
		host, _, _ = strings.Cut(host, ":")
		for _, n := range nodes {
			if ip := ipv4(doc.Services[n], "cluster"); ip != "" && ip == host {
				host = n
			}
		}
		listed = append(listed, host)
	}
	slices.Sort(listed)
	if !slices.Equal(listed, nodes) {
		problem("kamailio's dispatcher list names %v, the cluster's Asterisk nodes are %v", listed, nodes)
	}
	kamIP := ipv4(kam, "cluster")
	var permits []string
	if b, err := fs.ReadFile(repo, "configs/asterisk-kamailio/acl.conf"); err == nil {
		if acl, err := parseConf("acl.conf", string(b)); err == nil {
			for _, s := range acl.named("operator-phones") {
				permits = append(permits, acl.values(s, "permit")...)
			}
		}
	}
	if kamIP == "" || !slices.Contains(permits, kamIP+"/255.255.255.255") && !slices.Contains(permits, kamIP+"/32") {
		problem("kamailio's address %q is not permitted by configs/asterisk-kamailio/acl.conf (%v)", kamIP, permits)
	}
	for _, n := range nodes {
		if !slices.Contains(doc.Services[n].ExtraHosts, "kamailio:"+kamIP) {
			problem("%s does not know kamailio as %s (extra_hosts): its configuration resolves it at start", n, kamIP)
		}
	}
	return p
}

// overlayFS is the repository with some files replaced.
type overlayFS struct {
	fs.FS
	files map[string]string
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if text, ok := o.files[name]; ok {
		return fstest.MapFS{name: {Data: []byte(text)}}.Open(name)
	}
	return o.FS.Open(name)
}

func TestComposeCluster(t *testing.T) {
	report(t, checkComposeCluster(read(t, composeFile), read(t, "../README.md"), os.DirFS("..")))
}

func TestComposeClusterChecksCatch(t *testing.T) {
	compose, readme := read(t, composeFile), read(t, "../README.md")
	repo := os.DirFS("..")
	file := func(name string) string {
		b, err := fs.ReadFile(repo, name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		what     string
		file     string // "" is docker-compose.yml
		old, new string
		want     string
	}{
		{"a service missing", "", "\n  ivrd-2:\n", "\n  ivrd-3:\n", "no service ivrd-2"},
		{"an undeclared volume", "", "ivr-data-2:/var/lib/ivr", "ivr-data-3:/var/lib/ivr", "the volume ivr-data-3, which is not declared"},
		{"an undeclared secret", "", "  secrets:\n    - pin_secret\n  stop_grace_period: 6m", "  secrets:\n    - pin\n  stop_grace_period: 6m", "the secret pin, which is not declared"},
		{"an undeclared network", "", "      cluster:\n        ipv4_address: 10.0.0.12", "      sip:\n        ipv4_address: 10.0.0.12", "the network sip, which is not declared"},
		{"an undeclared config", "", "source: asterisk-2.conf", "source: asterisk-3.conf", "the config asterisk-3.conf, which is not declared"},
		{"a dependency missing", "", "      asterisk-2:\n        condition: service_started\n    volumes:", "      asterisk-3:\n        condition: service_started\n    volumes:", "depends on asterisk-3, which is not a service"},
		{"a dependency in another profile", "", "    profiles: [bus, cluster]\n", "    profiles: [bus]\n", "depends on nats, which is not in all of them"},
		{"a namespace of no service", "", "network_mode: service:asterisk-2", "network_mode: service:asterisk-9", "depends on asterisk-9, which is not a service"},
		{"a mounted file missing", "", "./configs/asterisk-kamailio/acl.conf:", "./configs/asterisk-kamailio/acls.conf:", "mounts ./configs/asterisk-kamailio/acls.conf, which is not in the repository"},
		{"one entityid", "configs/asterisk-cluster/asterisk-2.conf", "entityid = 02:00:00:00:00:02", "entityid = 02:00:00:00:00:01", "the same entityid"},
		{"no entityid", "configs/asterisk-cluster/asterisk-2.conf", "entityid = 02:00:00:00:00:02", "", `entityid ""`},
		{"one systemname", "configs/asterisk-cluster/asterisk-2.conf", "systemname = helpdesk2", "systemname = helpdesk1", "the same systemname"},
		{"the node's file not used", "", `"-C", "/etc/asterisk-node/asterisk.conf"`, `"-C", "/etc/asterisk/asterisk.conf"`, `entityid ""`},
		{"no Kamailio overlay", "", "./configs/asterisk-kamailio/pjsip.conf:/etc/asterisk/pjsip.conf:ro\n    - ./configs/asterisk-kamailio/acl.conf", "./configs/asterisk-kamailio/acl.conf", "not the Kamailio overlay's configs/asterisk-kamailio/pjsip.conf"},
		{"secrets checked on other files", "", "    - ./configs/asterisk-kamailio/acl.conf:/etc/asterisk/acl.conf:ro\n      - ./configs/kamailio", "      - ./configs/kamailio", "which must check the same /etc/asterisk"},
		{"one node relayed twice", "", "network_mode: service:asterisk-2", "network_mode: service:asterisk-1", "both relay asterisk-1"},
		{"another bus", "", "  MESSAGEBUS_URL: nats://nats:4222", "  MESSAGEBUS_URL: nats://127.0.0.1:4222", "is not the ivrd's ARI_NATS_URL"},
		{"one instance name", "", "IVR_INSTANCE: ivrd-2", "IVR_INSTANCE: ivrd-1", `both the instance "ivrd-1"`},
		{"no leases", "", `IVR_LEASES: "1"`, `IVR_LEASES: "0"`, "want nats and 1"},
		{"direct ARI", "", "  ARI_TRANSPORT: nats\n", "  ARI_TRANSPORT: direct\n", "want nats and 1"},
		{"another database", "", "      IVR_INSTANCE: ivrd-2\n", "      IVR_INSTANCE: ivrd-2\n      DATABASE_URL: postgres://ivr@db2/ivr\n", "does not share the other instance's DATABASE_URL"},
		{"a node missing from Kamailio", "configs/kamailio/dispatcher.list", "1 sip:asterisk-2:5060 0 0\n", "", "names [asterisk-1], the cluster's Asterisk nodes are [asterisk-1 asterisk-2]"},
		{"a stranger in Kamailio", "configs/kamailio/dispatcher.list", "1 sip:asterisk-2:5060 0 0\n", "1 sip:asterisk-2:5060 0 0\n1 sip:asterisk-3:5060 0 0\n", "names [asterisk-1 asterisk-2 asterisk-3]"},
		{"Kamailio's list elsewhere", "configs/kamailio/kamailio.cfg", `#!define DISPATCHER_LIST "/etc/kamailio/dispatcher.list"`, `#!define DISPATCHER_LIST "/etc/dispatcher.list"`, "dispatcher list /etc/dispatcher.list is not a file of the repository"},
		{"Kamailio at another address", "", "    networks:\n      cluster:\n        ipv4_address: 10.0.0.10", "    networks:\n      cluster:\n        ipv4_address: 10.0.0.9", `kamailio's address "10.0.0.9" is not permitted`},
		{"nodes resolving Kamailio elsewhere", "", `"kamailio:10.0.0.10"`, `"kamailio:10.0.0.9"`, "does not know kamailio as 10.0.0.10"},
		{"one host port twice", "", "127.0.0.1:8082:8080", "127.0.0.1:8081:8080", "ivrd-1 and ivrd-2 both publish the host's 8081/tcp"},
		{"a port on every address too", "", `"127.0.0.1:8082:8080"`, `"8081:8080"`, "both publish the host's 8081/tcp"},
		{"a service not started", "", "ari-proxy-2 ivrd-1 ivrd-2 prometheus-cluster\n", "ivrd-1 ivrd-2 prometheus-cluster\n", "does not start ari-proxy-2"},
		{"the single host started", "", "ivrd-2 prometheus-cluster\n", "ivrd-2 prometheus-cluster ivrd\n", "starts asterisk, in the host's network"},
		{"README behind", "README.md", "up -d kamailio ari-proxy-1", "up -d kamailio", "README.md: does not say"},
	} {
		c, r, files := compose, readme, map[string]string{}
		switch tc.file {
		case "":
			if !strings.Contains(c, tc.old) {
				t.Fatalf("%s: docker-compose.yml no longer contains %q: update this test", tc.what, tc.old)
			}
			c = strings.Replace(c, tc.old, tc.new, 1)
		case "README.md":
			// The start command appears in both: break the README's only.
			if !strings.Contains(r, tc.old) {
				t.Fatalf("%s: README.md no longer contains %q: update this test", tc.what, tc.old)
			}
			r = strings.ReplaceAll(r, tc.old, tc.new)
		default:
			text := file(tc.file)
			if !strings.Contains(text, tc.old) {
				t.Fatalf("%s: %s no longer contains %q: update this test", tc.what, tc.file, tc.old)
			}
			files[tc.file] = strings.Replace(text, tc.old, tc.new, 1)
		}
		problems := checkComposeCluster(c, r, overlayFS{repo, files})
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
			t.Errorf("%s: want a problem containing %q, got %q", tc.what, tc.want, problems)
		}
	}
}
