package main

import (
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
)

// registry is ivrd's metrics registry. names, when set, is told the name
// of every metric registered: the test of the alert rules checks against
// them that each metric a rule names exists, which a scrape cannot tell
// (a labelled metric shows only once it has a value).
type registry struct {
	*prometheus.Registry
	names func(name string)
}

func newRegistry(names func(string)) *registry {
	return &registry{Registry: prometheus.NewRegistry(), names: names}
}

// descName reads the name out of a Desc, which has no getter for it.
var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Register implements prometheus.Registerer.
func (r *registry) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	if r.names != nil {
		ch := make(chan *prometheus.Desc)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if m := descName.FindStringSubmatch(d.String()); m != nil {
				r.names(m[1])
			}
		}
	}
	return nil
}

// MustRegister implements prometheus.Registerer (the embedded one would
// bypass Register above).
func (r *registry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}
