// Command ivrd is the help-desk IVR server: it reads the configuration,
// opens the ticket store, connects to Asterisk's ARI as a Stasis
// application, and serves /metrics, /healthz and /readyz.
//
// With -demo it needs nothing installed by hand: a private PostgreSQL
// cluster under the data directory, the ARI simulator in-process and
// simulated operators that answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // the service time zone must load even on a bare image

	"github.com/CyCoreSystems/ari/v5"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/helpdesk-ivr/ivr/api"
	"github.com/helpdesk-ivr/ivr/connector"
	"github.com/helpdesk-ivr/ivr/internal/clock"
	"github.com/helpdesk-ivr/ivr/internal/configfile"
	"github.com/helpdesk-ivr/ivr/internal/configstore"
	"github.com/helpdesk-ivr/ivr/internal/hoursmetrics"
	"github.com/helpdesk-ivr/ivr/ivr"
	"github.com/helpdesk-ivr/ivr/ivr/ariconn"
	"github.com/helpdesk-ivr/ivr/ivr/arisim"
	"github.com/helpdesk-ivr/ivr/ivr/simdesk"
	"github.com/helpdesk-ivr/ivr/journal"
	"github.com/helpdesk-ivr/ivr/leases"
	"github.com/helpdesk-ivr/ivr/menu"
	"github.com/helpdesk-ivr/ivr/panel"
	"github.com/helpdesk-ivr/ivr/queues"
	"github.com/helpdesk-ivr/ivr/tickets"
	"github.com/helpdesk-ivr/ivr/webhooks"
)

type flags struct {
	config       string
	ops          string
	listen       string
	demo         bool
	dataDir      string
	drainTimeout time.Duration
	prompts      string
	secure       bool
	portalURL    string
	proxies      string
	webhookNets  string
	demoClock    string
	debugListen  string
	// mailListen is where inbound mail is taken ("lmtp:HOST:PORT" or
	// "smtp:HOST:PORT"); "" for none.
	mailListen string
	// publishConfig is the former name of -config-source database.
	publishConfig bool
	// configSource is sourceFile or sourceDatabase (versions.go).
	configSource string
	// noJournal turns off the call journal kept for `ivrctl replay` (on
	// by default), kept journalKeep (0: journal.DefaultRetention).
	noJournal   bool
	journalKeep time.Duration
	// instance names this ivrd among those sharing the database; with
	// leases, calls are shared with them by lease (package leases).
	instance string
	leases   bool
	// metricNames, when set (tests), is told the name of every metric
	// ivrd registers.
	metricNames func(name string)
}

func main() {
	var f flags
	flag.StringVar(&f.config, "config", "configs/helpdesk.yaml", "help-desk configuration file")
	flag.StringVar(&f.ops, "ops", os.Getenv("IVR_OPS"), "operations file: e-mail notifications and scheduled jobs (optional)")
	flag.StringVar(&f.listen, "listen", envOr("IVR_LISTEN", "127.0.0.1:8080"), "HTTP address of the panel and of /metrics, /healthz, /readyz")
	flag.BoolVar(&f.demo, "demo", false, "demo mode: local PostgreSQL, simulated Asterisk and operators, demo PIN secret")
	flag.StringVar(&f.dataDir, "data", envOr("IVR_DATA", "data"), "data directory (demo mode keeps its PostgreSQL cluster here)")
	flag.DurationVar(&f.drainTimeout, "drain-timeout", 5*time.Minute, "on SIGTERM, how long calls in progress may go on")
	flag.StringVar(&f.demoClock, "demo-clock", "", "demo mode: the help desk's time at start, as 2006-01-02T15:04 in the service time zone (default now), to try the hours")
	// The same clock outside the demo, for trials and the interop tests on
	// a real Asterisk (which must find the help desk open or closed at
	// will); never in production, where the hours follow the wall clock.
	flag.StringVar(&f.demoClock, "clock", os.Getenv("IVR_CLOCK"), "trials and tests only: start the help desk's clock at this time, as 2006-01-02T15:04 in the service time zone (default now)")
	flag.StringVar(&f.prompts, "prompts", os.Getenv("IVR_PROMPTS"), "directory `ivrctl prompts -out` wrote, for the test phone's audio (demo default: DATA/prompts)")
	flag.BoolVar(&f.secure, "secure", os.Getenv("IVR_SECURE") == "1", "the panel is served over HTTPS (by a TLS proxy): Secure cookies and HSTS")
	flag.StringVar(&f.portalURL, "portal-url", os.Getenv("IVR_PORTAL_URL"), "the panel's address for the Administrations' portal invitation links (default: the inviting request's host)")
	flag.StringVar(&f.proxies, "trusted-proxies", os.Getenv("IVR_TRUSTED_PROXIES"), "comma-separated CIDRs of the reverse proxies in front of the panel: the client address (login throttle) is then read from their X-Forwarded-For")
	flag.StringVar(&f.webhookNets, "webhook-networks", os.Getenv("IVR_WEBHOOK_NETWORKS"), "comma-separated CIDRs or addresses, besides public ones, that webhook deliveries may connect to (e.g. the LAN of your ticketing system); loopback, private and link-local addresses are refused otherwise")
	flag.BoolVar(&f.publishConfig, "publish-config", os.Getenv("IVR_PUBLISH_CONFIG") == "1", "the same as -config-source database")
	flag.StringVar(&f.configSource, "config-source", envOr("IVR_CONFIG_SOURCE", sourceFile), "where the configuration in force comes from: file (the -config file, reloaded on SIGHUP; publish it from git) or database (versions published in the panel or through the API, picked up by every ivrd; the file brings the first one in and is rewritten with the one in force)")
	flag.StringVar(&f.mailListen, "mail-listen", os.Getenv("IVR_MAIL_LISTEN"), "take the help desk's inbound e-mail into tickets on this address, as lmtp:HOST:PORT (Postfix's lmtp transport) or smtp:HOST:PORT; an empty HOST is 127.0.0.1; off by default")
	flag.StringVar(&f.debugListen, "debug-listen", os.Getenv("IVR_DEBUG_LISTEN"), "loopback address to serve Go's profiles on (/debug/pprof/), for measuring; off by default")
	journalOn := flag.Bool("journal", os.Getenv("IVR_JOURNAL") != "0", "keep every call's journal (keys and their times, PIN verdicts, end; never PIN digits) in the database, for `ivrctl replay`; IVR_JOURNAL=0 turns it off")
	flag.DurationVar(&f.journalKeep, "journal-retention", envDuration("IVR_JOURNAL_RETENTION", journal.DefaultRetention), "how long the call journal keeps a call before a nightly job summarises it per day and deletes it")
	host, _ := os.Hostname()
	flag.StringVar(&f.instance, "instance", envOr("IVR_INSTANCE", host), "this ivrd's name among the instances sharing the database and the Asterisk nodes: unique, and the same across its restarts (it takes its calls back at once); default the host name")
	flag.BoolVar(&f.leases, "leases", os.Getenv("IVR_LEASES") == "1", "share the calls with other ivrd instances by lease: each call is driven by one instance, and the calls of an instance that dies are taken over where they were once their leases expire (10 s); needs a bus that delivers every node's events to every instance (ari.transport: nats)")
	flag.Parse()
	f.noJournal = !*journalOn
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, f, log)
	stop()
	if err != nil {
		log.Error("ivrd_failed", "error", err.Error())
		fmt.Fprintln(os.Stderr, "ivrd:", err)
		os.Exit(1)
	}
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// configHolder keeps the configuration in force; calls take it at start.
type configHolder struct {
	path      string
	cur       atomic.Pointer[menu.Config]
	log       *slog.Logger
	hasSecret bool
	// apply, if set, puts a validated configuration into effect beyond
	// the calls (the queues' groups and operators); an error keeps the old
	// configuration.
	apply func(*menu.Config) error
	mu    sync.Mutex // one reload or publication at a time
	// store, in database mode, holds the versions (versions.go); version
	// is the one in force here (0: the file's).
	store   *configstore.Store
	version atomic.Int64
}

func (h *configHolder) get() *menu.Config { return h.cur.Load() }

// reload validates the file first; a bad file leaves the old one in force.
// In database mode it reads the version in force there instead.
func (h *configHolder) reload() error {
	if h.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		v, err := h.store.InForce(ctx)
		if err == nil {
			err = h.applyVersion(v)
		}
		if err != nil {
			h.log.Error("config_reload_rejected", "error", err.Error())
		}
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg, err := configfile.Load(h.path)
	if err == nil && cfg.HasPINs() && !h.hasSecret {
		err = errors.New("the new configuration has PINs but ivrd started without a PIN secret; restart with one")
	}
	if err == nil && h.apply != nil {
		err = h.apply(cfg)
	}
	if err != nil {
		h.log.Error("config_reload_rejected", "file", h.path, "error", err.Error())
		return err
	}
	h.cur.Store(cfg)
	h.log.Info("config_reloaded", "file", h.path)
	return nil
}

// writeFileAtomic replaces path with data, keeping its mode.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// run serves until ctx ends (SIGTERM), then drains the calls.
func run(ctx context.Context, f flags, log *slog.Logger) error {

	if f.publishConfig {
		f.configSource = sourceDatabase
	}
	if f.configSource == "" {
		f.configSource = sourceFile
	}
	if f.configSource != sourceFile && f.configSource != sourceDatabase {
		return fmt.Errorf("-config-source: %q is neither %s nor %s", f.configSource, sourceFile, sourceDatabase)
	}
	cfg, err := configfile.Load(f.config)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	holder := &configHolder{path: f.config, log: log}
	holder.cur.Store(cfg)

	secret, err := pinSecret(cfg, f.demo)
	if err != nil {
		return err
	}
	holder.hasSecret = len(secret) > 0
	opsCfg, err := loadOps(f.ops)
	if err != nil {
		return err
	}
	notifier, err := newNotifier(opsCfg, holder.get, cfg, log)
	if err != nil {
		return err
	}

	// The demo's clock may start at a chosen time; everything that reads
	// the time (calls, tickets, queues, panel) then agrees on it.
	now := time.Now
	var demoClk *clock.Scaled
	if f.demo || f.demoClock != "" {
		start := time.Now()
		if f.demoClock != "" {
			if start, err = time.ParseInLocation("2006-01-02T15:04", f.demoClock, cfg.Location()); err != nil {
				return fmt.Errorf("-clock: want 2006-01-02T15:04: %w", err)
			}
			log.Warn("clock_set", "start", start.Format(time.RFC3339))
		}
		demoClk = clock.NewScaled(start, 1)
		now = demoClk.Now
	}
	// The controller's clock: the wall clock unless -clock set one.
	var callClock clock.Clock = clock.Real()
	if demoClk != nil {
		callClock = demoClk
	}

	reg := newRegistry(f.metricNames)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var demo *demoEnv
	dbURL := os.Getenv("DATABASE_URL")
	if f.demo {
		if demo, err = startDemo(ctx, f, log, dbURL == ""); err != nil {
			return err
		}
		defer demo.stop()
		if dbURL == "" {
			dbURL = demo.dbURL
		}
	}
	if dbURL == "" {
		return errors.New("DATABASE_URL is required (or run with -demo)")
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = tickets.Migrate(mctx, pool)
	if err == nil {
		err = queues.Migrate(mctx, pool)
	}
	if err == nil {
		err = migrateOps(mctx, pool)
	}
	if err == nil {
		err = panel.Migrate(mctx, pool)
	}
	if err == nil {
		err = configstore.Migrate(mctx, pool) // before the API's, which move their versions here
	}
	if err == nil {
		err = api.Migrate(mctx, pool)
	}
	if err == nil {
		err = webhooks.Migrate(mctx, pool)
	}
	if err == nil {
		err = connector.Migrate(mctx, pool)
	}
	if err == nil && !f.noJournal {
		err = journal.Migrate(mctx, pool)
	}
	if err == nil {
		err = leases.Migrate(mctx, pool)
	}
	cancel()
	if err != nil {
		return fmt.Errorf("database migrations: %w", err)
	}
	versions := configstore.New(pool, configstore.Options{Now: now, Logger: log})
	if f.configSource == sourceDatabase {
		holder.store = versions
		if cfg, err = holder.bootstrap(ctx); err != nil {
			return err
		}
	}
	queue := queues.New(pool, queues.Options{Location: cfg.Location(), Logger: log, Registerer: reg, Now: now})
	// Whether each group is open by its hours, beside its operators'
	// states: the alert "no operator while open" needs both.
	reg.MustRegister(hoursmetrics.New(holder.get, now))
	if err := ivr.SyncQueues(ctx, queue, cfg); err != nil {
		return fmt.Errorf("operator queues: %w", err)
	}
	holder.apply = func(c *menu.Config) error {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := ivr.SyncQueues(sctx, queue, c); err != nil {
			return fmt.Errorf("operator queues: %w", err)
		}
		return nil
	}
	// Webhooks: ticket events in the ticket's transaction (the store's
	// Hook, beside the notifications'), call events from the controller's
	// steps; the worker delivers what is due.
	webhookNets, err := webhooks.ParseNetworks(f.webhookNets)
	if err != nil {
		return fmt.Errorf("-webhook-networks: %w", err)
	}
	hooks := webhooks.New(pool, webhooks.Options{Now: now, Logger: log, AllowNetworks: webhookNets, Registerer: reg})
	hooks.Refresh(ctx)
	// The ticketing connector (Zammad), when configured: ticket changes
	// into its outbox by the same Hook, sent and states pulled by its
	// worker.
	ticketing, err := newConnector(pool, cfg, now, log, reg)
	if err != nil {
		return err
	}
	storeOpts := ticketHooks(notifier, hooks, ticketing)
	storeOpts.Location, storeOpts.Logger, storeOpts.Now = cfg.Location(), log, now
	store := tickets.New(pool, storeOpts)
	if f.mailListen != "" {
		stopMail, err := startMail(f.mailListen, opsCfg.Mail, pool, store, notifier, holder.get, now, log, reg)
		if err != nil {
			return err
		}
		defer stopMail()
	}
	// Wrong PINs count in the database: shared by every ivrd, kept across
	// restarts (the controller would otherwise count in its own memory).
	lockouts, err := tickets.NewLockoutStore(pool, tickets.LockoutOptions{Now: now, Logger: log, Registerer: reg,
		Policy: func() tickets.LockoutPolicy { return ivr.LockoutPolicy(holder.get()) }})
	if err != nil {
		return err
	}
	recordings := &ariRecordings{}
	// The panel's live pages follow the calls; the panel is made below, the
	// first event comes after.
	var pnl *panel.Server
	live := ivr.NewLive(func() { pnl.Notify() })
	callEvents := hooks.StartAsync(1024)
	defer callEvents.Close()
	toWebhooks := callWebhooks(callEvents)
	observe := func(e ivr.Event) { live.Observe(e); toWebhooks(e) }
	if !f.noJournal {
		toJournal, stopJournal, err := startJournal(ctx, pool, f.config, f.journalKeep, cfg.Location(), now, log, reg)
		if err != nil {
			return err
		}
		defer stopJournal() // after the calls' drain (deferred later, run earlier)
		observe = func(e ivr.Event) { live.Observe(e); toWebhooks(e); toJournal(e) }
	}

	// Calls outlive the signal that stops the server: they are drained.
	callCtx, stopCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCalls()
	queueDone := make(chan struct{})
	go func() {
		defer close(queueDone)
		if err := queue.Run(callCtx); err != nil && callCtx.Err() == nil {
			log.Error("queues_stopped", "error", err.Error())
		}
	}()
	defer func() { stopCalls(); <-queueDone }()
	hooksDone := make(chan struct{})
	go func() {
		defer close(hooksDone)
		_ = hooks.Run(callCtx)
	}()
	defer func() { stopCalls(); <-hooksDone }()
	if ticketing != nil {
		connDone := make(chan struct{})
		go func() {
			defer close(connDone)
			_ = ticketing.Run(callCtx, store)
		}()
		defer func() { stopCalls(); <-connDone }()
	}
	// What calls cannot write while PostgreSQL is down waits on disk.
	spool, err := ivr.NewSpool(store, ivr.SpoolOptions{Dir: filepath.Join(f.dataDir, "spool"), Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	defer spool.Close()
	var callLeases *leases.Store
	if f.leases {
		if callLeases, err = leases.New(pool, f.instance, 0); err != nil {
			return err
		}
		log.Info("call_leases", "instance", f.instance, "ttl", callLeases.TTL().String())
	}
	var (
		ctrl *ivr.Controller
		conn ariLink
		desk *simdesk.Desk
		// The demo's recordings, the test phone's included: the panel
		// plays them through the demo desk's simulated Asterisk.
		recs = arisim.NewRecordings()
	)
	if f.demo {
		desk, err = simdesk.Start(callCtx, simdesk.Options{Config: cfg, ConfigFunc: holder.get, PINSecret: secret,
			Store: store, Logger: log, Registerer: reg, Queues: queue, Operators: &demoOperators, Observe: observe, Clock: demoClk,
			Spool: spool, Lockouts: lockouts, Recordings: recs, TestCallbacks: true, Leases: leasesOf(callLeases)})
		if err != nil {
			return err
		}
		defer desk.Close()
		ctrl, conn = desk.Controller, desk.Conn
		client := desk.Conn.Client()
		recordings.client.Store(&client)
	} else {
		ariOpts := ariconn.Options{
			URL: envOr("ARI_URL", "http://127.0.0.1:8088/ari"), Username: os.Getenv("ARI_USERNAME"),
			Password: os.Getenv("ARI_PASSWORD"), App: envOr("ARI_APP", "ivr"), Logger: log, Registerer: reg,
			OnConnect: func() { ctrl.Reconcile(callCtx) }, OnReplaced: func() { ctrl.Release() },
			Events: ivr.HandledEvents,
		}
		// Over NATS other ivrd share the calls (Shared).
		bus := opsCfg.ARI.Transport == transportNATS
		ctrl, err = ivr.New(ivr.Options{
			App: ariOpts.App, Config: holder.get, PINSecret: secret, Store: store, Queues: queue,
			Clock: callClock, Logger: log, Registerer: reg, Observe: observe, Spool: spool,
			Lockouts: lockouts, Shared: bus, Leases: leasesOf(callLeases),
		})
		if err != nil {
			return err
		}
		attach := func(c ari.Client) func(ari.Event) {
			recordings.client.Store(&c)
			return ctrl.Attach(callCtx, c)
		}
		if bus {
			conn, err = startBus(callCtx, opsCfg.ARI, ariOpts.App, ctrl, log, reg, attach)
		} else {
			conn, err = ariconn.Start(callCtx, ariOpts, attach)
		}
		if err != nil {
			return err
		}
		defer conn.Close()
		// Operators held by calls whose end was missed are freed at each
		// connection (Reconcile) and every minute.
		go func() {
			tick := time.NewTicker(time.Minute)
			defer tick.Stop()
			for {
				select {
				case <-callCtx.Done():
					return
				case <-tick.C:
					if conn.Ready() {
						ctrl.ReconcileOperators(callCtx)
					}
				}
			}
		}()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := conn.Wait(wctx); err != nil {
			// Not fatal: calls are answered as soon as Asterisk is back.
			log.Error("ari_not_ready_at_start", "error", err.Error())
		}
		cancel()
	}

	var opsClock clock.Clock // the wall clock
	if demoClk != nil {
		opsClock = demoClk
	}
	if err := startOps(callCtx, opsCfg, notifier, pool, store, holder.get, recordings, log, reg, opsClock); err != nil {
		return err
	}

	// The test phone: in the demo, calls go through the demo's own desk
	// (real tickets and queues); elsewhere through a desk of its own,
	// tickets in memory, for supervisors and administrators to try the menu.
	phoneOpts := testPhoneOptions{config: holder.get, secret: secret, prompts: f.prompts, log: log,
		roles: []panel.Role{panel.RoleSupervisor, panel.RoleAdmin}, draft: holder.draft(versions)}
	var (
		files  *recordingFiles
		phones *demoPhones
	)
	if desk != nil {
		phones = newDemoPhones(desk.Sim, cfg)
		phoneOpts.desk, phoneOpts.roles = desk, panel.Roles
		// Calls at a chosen date and time run the demo's call path: its
		// queues and operators, its tickets (numbered and dated at the
		// chosen instant), the live view, the recordings the panel plays.
		phoneOpts.storeAt = func(now func() time.Time) tickets.CallRecorder {
			o := storeOpts
			o.Now = now
			return tickets.New(pool, o)
		}
		phoneOpts.queues, phoneOpts.now, phoneOpts.observe = queue, now, observe
		phoneOpts.lockouts, phoneOpts.operators, phoneOpts.recordings = lockouts, &demoOperators, recs
		phoneOpts.phones = phones
		if phoneOpts.prompts == "" {
			phoneOpts.prompts = filepath.Join(f.dataDir, "prompts")
		}
		files = newRecordingFiles(desk.Sim.URL(), simdesk.User, simdesk.Password)
	} else if opsCfg.ARI.Transport == transportNATS && os.Getenv("ARI_URL") == "" {
		// ari-proxy relays no file downloads: without an ARI_URL to fetch
		// them from, the panel says why it cannot play recordings.
		files = &recordingFiles{unavailable: "recordings cannot be fetched through ari-proxy (it relays no file downloads): set ARI_URL to the Asterisk HTTP server that holds them"}
	} else {
		files = newRecordingFiles(envOr("ARI_URL", "http://127.0.0.1:8088/ari"), os.Getenv("ARI_USERNAME"), os.Getenv("ARI_PASSWORD"))
	}
	phonePage, stopPhone, err := newTestPhone(callCtx, phoneOpts)
	if err != nil {
		return err
	}
	defer stopPhone()
	var deskPhone panel.DeskPhone
	extra := []panel.ExtraPage{phonePage}
	if desk != nil {
		deskPhone = phones
		extra = append(extra, demoCallPage(deskCall(desk), cfg.Location())) // demo mode only
	}
	var publish func(context.Context, configstore.Publication) (configstore.Version, error)
	if holder.store != nil {
		publish = func(ctx context.Context, p configstore.Publication) (configstore.Version, error) {
			v, err := holder.publishVersion(ctx, p)
			if err == nil {
				pnl.Notify()
			}
			return v, err
		}
	}
	var replayer func(ctx context.Context, src []byte, since time.Time) (*panel.ReplayResult, error)
	if !f.noJournal {
		replayer = panelReplay(pool, cfg.Location())
	}
	var liveBoard panel.LiveCalls = liveCalls{live}
	var cluster *clusterLive
	if callLeases != nil {
		cluster = &clusterLive{local: live, leases: callLeases, log: log}
		liveBoard = cluster
	}
	pnl, err = panel.New(panel.Options{Pool: pool, Tickets: store, Queues: queue, Live: liveBoard, Control: callControl{ctrl},
		Recordings: files, Config: holder.get, Logger: log, Secure: f.secure, Reload: holder.reload, Now: now,
		Extra: extra, DeskPhone: deskPhone, PINAlarm: lockouts.RecentPINFailureAlarm, Webhooks: hooks,
		ExternalTicket: externalTicket(ticketing), Files: mailFiles{pool},
		Invitations: notifier, PortalURL: f.portalURL, Attachments: opsCfg.Mail.FileRules(),
		Versions: versions, ConfigVersion: holder.version.Load, Publish: publish, DraftPhone: "/testphone",
		ConfigSource: holder.source, Replay: replayer})
	if err != nil {
		return err
	}
	if cluster != nil {
		go cluster.run(callCtx, time.Second, pnl.Notify)
	}
	defer pnl.Close()
	if holder.store != nil {
		// Versions published by another instance (or while this one
		// started) are put in force here; calls in progress keep theirs.
		go holder.store.Watch(callCtx, holder.version.Load(), func(v configstore.Version) error {
			err := holder.applyVersion(v)
			if err == nil {
				pnl.Notify()
			}
			return err
		})
	}

	router := chi.NewRouter()
	if f.proxies != "" {
		var prefixes []string
		for p := range strings.SplitSeq(f.proxies, ",") {
			p = strings.TrimSpace(p)
			if _, err := netip.ParsePrefix(p); err != nil {
				return fmt.Errorf("-trusted-proxies: %q is not a CIDR: %w", p, err)
			}
			prefixes = append(prefixes, p)
		}
		// Only X-Forwarded-For entries added by these proxies are believed
		// (the panel's per-address login throttle).
		router.Use(middleware.ClientIPFromXFF(prefixes...))
	}
	routes(router, reg.Registry, pool, conn)
	if desk != nil {
		if err := demoUsers(ctx, pnl.Users(), cfg); err != nil {
			return err
		}
	}
	// The REST API beside the panel, outside its session and CSRF checks:
	// its clients send tokens, not cookies.
	restAPI, err := api.New(api.Options{Pool: pool, Tickets: store, Queues: queue, Users: pnl.Users(), Tokens: pnl.Tokens(),
		Audit: pnl.Audit(), Recordings: files, Config: holder.get, Now: now, Logger: log, Changed: pnl.Notify,
		Publish: publish, Webhooks: hooks})
	if err != nil {
		return err
	}
	router.Mount(api.Prefix, restAPI.Handler())
	router.Mount("/", pnl.Handler())
	// The address is taken first (a clear error if it is in use), the demo
	// is set up, and only then are requests served: whoever sees /readyz
	// answer finds the demo operators logged in and the users printed.
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	if demo != nil {
		if err := demoLogIn(ctx, queue, cfg); err != nil {
			ln.Close()
			return err
		}
		demo.announce(f.listen)
	}
	if f.debugListen != "" {
		stopDebug, err := serveProfiles(f.debugListen, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer stopDebug()
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	log.Info("ivrd_started", "listen", f.listen, "demo", f.demo)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
wait:
	for {
		select {
		case <-hup:
			_ = holder.reload() // logged; the old configuration stays on error
		case err := <-srvErr:
			return fmt.Errorf("http: %w", err)
		case <-ctx.Done():
			break wait
		}
	}
	// Graceful shutdown: new calls go back to the dialplan's fallback,
	// calls in progress may finish.
	log.Info("ivrd_draining", "active_calls", ctrl.ActiveCalls(), "timeout", f.drainTimeout.String())
	if bus, ok := conn.(interface{ Drain() }); ok {
		bus.Drain() // other ivrd on the bus take the new calls
	}
	ctrl.Drain()
	dctx, cancel := context.WithTimeout(context.Background(), f.drainTimeout)
	defer cancel()
	if err := ctrl.Wait(dctx); err != nil {
		log.Warn("ivrd_drain_timeout", "active_calls", ctrl.ActiveCalls())
		// Hand the remaining calls to the dialplan and finish their records.
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := ctrl.Shutdown(sctx); err != nil {
			log.Error("ivrd_calls_not_finished", "active_calls", ctrl.ActiveCalls())
		}
		cancel()
	}
	stopCalls()
	sctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	_ = srv.Shutdown(sctx)
	log.Info("ivrd_stopped")
	return nil
}

func pinSecret(cfg *menu.Config, demo bool) ([]byte, error) {
	secret, err := configfile.PINSecret(cfg)
	if err == nil {
		return secret, nil
	}
	if !cfg.HasPINs() {
		return nil, nil
	}
	if demo {
		return []byte(configfile.DemoPINSecret), nil
	}
	return nil, fmt.Errorf("%w; the server refuses to start without it (only -demo uses the public demo secret)", err)
}

func routes(r chi.Router, reg *prometheus.Registry, pool *pgxpool.Pool, conn ariLink) {
	// A collector that fails (the PIN alarm's gauges while PostgreSQL is
	// down) must not blank the whole page: the spool's figures and the ARI
	// state are what the alerts need then. Its errors count in
	// promhttp_metric_handler_errors_total.
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorHandling: promhttp.ContinueOnError}))
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var problems []string
		if err := pool.Ping(ctx); err != nil {
			problems = append(problems, "database down: "+err.Error())
		}
		if !conn.Ready() {
			problems = append(problems, conn.Status())
		}
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, p := range problems {
				fmt.Fprintln(w, p)
			}
			return
		}
		fmt.Fprintln(w, "ready")
	})
}
