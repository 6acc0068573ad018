package ivr

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	calls  *prometheus.CounterVec
	active prometheus.Gauge
	// activeByNode: by Asterisk node (bounded: the nodes).
	activeByNode *prometheus.GaugeVec
	selections   *prometheus.CounterVec
	pinFailures  prometheus.Counter
	pinLockouts  prometheus.Counter
	// pinOrgLockouts and pinAlarms count what this instance saw happen;
	// tickets.LockoutStore exports the shared state (ivr_pin_failure_alarm).
	pinOrgLockouts    prometheus.Counter
	pinAlarms         prometheus.Counter
	promptFailed      prometheus.Counter
	resumed           prometheus.Counter
	operatorsReleased prometheus.Counter
	callsClosed       prometheus.Counter
	storeErrors       prometheus.Counter
	shed              prometheus.Counter
	firstPrompt       prometheus.Histogram
	keyToPlay         prometheus.Histogram
	// The post-call survey, by group (bounded: the configuration's).
	surveyRatings  *prometheus.HistogramVec
	surveysGiven   *prometheus.CounterVec
	surveysSkipped *prometheus.CounterVec
	// Conversation recordings (recordcall.go).
	rec *recordingMetrics
	// Operators' actions on live calls (transfer.go), by group: bounded.
	transfers   *prometheus.CounterVec
	holds       *prometheus.CounterVec
	holdSeconds *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_calls_total", Help: "Calls ended, by outcome.",
		}, []string{"outcome"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ivr_active_calls", Help: "Calls in progress.",
		}),
		activeByNode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ivr_active_calls_by_node", Help: "Calls in progress driven by this instance, by Asterisk node (its entity id; \"\" with one node not named).",
		}, []string{"node"}),
		selections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_menu_selections_total", Help: "Menu choices, by the node chosen.",
		}, []string{"node"}),
		pinFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_pin_failures_total", Help: "PIN entries refused.",
		}),
		pinLockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_pin_lockouts_total", Help: "Callers locked out of PIN entry.",
		}),
		pinOrgLockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_pin_organization_lockouts_total", Help: "Administrations locked out of PIN entry from untrusted numbers (too many wrong PINs against them).",
		}),
		pinAlarms: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_pin_failure_alarms_total", Help: "Alarms raised: wrong PINs across all numbers reached ivr.pin.alarm_failures within ivr.pin.alarm_window.",
		}),
		promptFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_prompt_failures_total", Help: "Prompts Asterisk could not play (missing sound files).",
		}),
		resumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_calls_resumed_total", Help: "Calls found without a session after a reconnection and resumed.",
		}),
		operatorsReleased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_operators_released_total", Help: "Operators freed by reconciliation: held by a call that was over without its end seen (a crash, a lost event).",
		}),
		callsClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_calls_closed_unwatched_total", Help: "Call records closed at reconnection: the call ended while no controller watched it (ivrd down, events lost).",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_store_errors_total", Help: "Failed writes of call records and tickets.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ivr_calls_shed_total", Help: "Calls handed back to the dialplan's fallback on arrival: ivr.max_calls calls were in progress.",
		}),
		firstPrompt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ivr_first_prompt_seconds",
			Help:    "From a new call reaching the controller to the request playing its first prompt (the caller, answered by the dialplan, hears silence meanwhile).",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .5, 1, 2, 5},
		}),
		keyToPlay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ivr_key_to_prompt_seconds",
			Help:    "Controller time from a key press to the request playing the next prompt.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25},
		}),
		surveyRatings: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ivr_survey_rating", Help: "Ratings 1-5 given by callers in the post-call survey, by group.",
			Buckets: []float64{1, 2, 3, 4, 5},
		}, []string{"group"}),
		surveysGiven: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_surveys_given_total", Help: "Post-call surveys answered with a rating, by group.",
		}, []string{"group"}),
		surveysSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_surveys_skipped_total", Help: "Post-call surveys asked and not answered, by group and reason (hangup, timeout, invalid).",
		}, []string{"group", "reason"}),
		rec: newRecordingMetrics(),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_transfers_total", Help: "Calls transferred by operators (or moved by supervisors), by kind (group, operator, number, attended, move) and the group handing over.",
		}, []string{"kind", "group"}),
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_holds_total", Help: "Conversations put on hold by the operator (attended transfers included), by group.",
		}, []string{"group"}),
		holdSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ivr_hold_seconds_total", Help: "Time callers spent on hold during conversations, by group.",
		}, []string{"group"}),
	}
	for _, c := range []prometheus.Collector{m.transfers, m.holds, m.holdSeconds, m.surveyRatings, m.surveysGiven, m.surveysSkipped, m.calls, m.active, m.activeByNode, m.selections, m.pinFailures, m.pinLockouts, m.pinOrgLockouts, m.pinAlarms, m.promptFailed, m.resumed, m.operatorsReleased, m.callsClosed, m.storeErrors, m.shed, m.firstPrompt, m.keyToPlay} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, c := range m.rec.collectors() {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
