// Package hoursmetrics tells Prometheus whether each operator group is
// open now by its hours (ivr_service_open{group}): an alert on "no
// operator logged in" must know whether anyone should be, and the hours
// (schedules, holidays, closures) live in the configuration, not in
// Prometheus.
package hoursmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdesk-ivr/ivr/menu"
)

var descOpen = prometheus.NewDesc("ivr_service_open",
	"1 while the group's hours (its schedule, else the service's; holidays and closures included) say it is open, else 0.",
	[]string{"group"}, nil)

// Collector reads the configuration in force and the clock at each
// scrape, so a reload or a holiday needs nothing else to show.
type Collector struct {
	config func() *menu.Config
	now    func() time.Time
}

// New returns the collector; config gives the configuration in force (nil:
// nothing is reported), now the help desk's clock.
func New(config func() *menu.Config, now func() time.Time) *Collector {
	return &Collector{config: config, now: now}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { ch <- descOpen }

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.config()
	if cfg == nil {
		return
	}
	now := c.now()
	for _, g := range cfg.Groups {
		if g == nil {
			continue
		}
		open := 0.0
		if s := cfg.GroupSchedule(g.ID); s != nil && s.IsOpen(now) {
			open = 1
		}
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, open, g.ID)
	}
}
