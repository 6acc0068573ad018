package arisim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// loadClient is a minimal ARI client for load: one event socket whose
// events are routed to the call that waits for them, and a pooled HTTP
// client.
type loadClient struct {
	base    string
	http    *http.Client
	mu      sync.Mutex
	waiters map[string]chan string // channel id → event types
	early   map[string][]string    // events that came before the waiter
	events  atomic.Int64
}

// register returns the event channel of a call, with the events that
// arrived before the call's id was known (StasisStart may beat PlaceCall's
// return).
func (lc *loadClient) register(id string) chan string {
	w := make(chan string, 64)
	lc.mu.Lock()
	for _, typ := range lc.early[id] {
		w <- typ
	}
	delete(lc.early, id)
	lc.waiters[id] = w
	lc.mu.Unlock()
	return w
}

func (lc *loadClient) unregister(id string) {
	lc.mu.Lock()
	delete(lc.waiters, id)
	delete(lc.early, id)
	lc.mu.Unlock()
}

func newLoadClient(tb testing.TB, s *Server, app string, conns int) *loadClient {
	lc := &loadClient{
		base: s.URL(),
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		}},
		waiters: map[string]chan string{},
		early:   map[string][]string{},
	}
	cfg, _ := websocket.NewConfig(s.EventsURL()+"?app="+app+"&api_key=ivr:ivr", "http://localhost/")
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		var ev struct {
			Type    string `json:"type"`
			Channel struct {
				ID string `json:"id"`
			} `json:"channel"`
			Playback struct {
				Target string `json:"target_uri"`
			} `json:"playback"`
		}
		for {
			var b []byte
			if err := websocket.Message.Receive(ws, &b); err != nil {
				return
			}
			lc.events.Add(1)
			ev.Type, ev.Channel.ID, ev.Playback.Target = "", "", ""
			if json.Unmarshal(b, &ev) != nil {
				continue
			}
			id := ev.Channel.ID
			if id == "" && len(ev.Playback.Target) > 8 {
				id = ev.Playback.Target[8:] // "channel:<id>"
			}
			lc.mu.Lock()
			if w := lc.waiters[id]; w != nil {
				select {
				case w <- ev.Type:
				default:
				}
			} else if id != "" {
				lc.early[id] = append(lc.early[id], ev.Type)
			}
			lc.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { conn.Close() })
	return lc
}

func (lc *loadClient) post(method, path string) error {
	req, _ := http.NewRequest(method, lc.base+path, nil)
	req.SetBasicAuth("ivr", "ivr")
	res, err := lc.http.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d", method, path, res.StatusCode)
	}
	return nil
}

func (lc *loadClient) wait(w chan string, typ string) error {
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	for {
		select {
		case got := <-w:
			if got == typ {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("no %s", typ)
		}
	}
}

// oneCall: the call arrives, is answered, hears a prompt, and the app
// hangs up.
func (lc *loadClient) oneCall(s *Server, n int) error {
	call, err := s.PlaceCall(context.Background(), fmt.Sprint(3330000000+n), "800749049", CallOptions{EventBuffer: -1})
	if err != nil {
		return err
	}
	w := lc.register(call.ID())
	defer lc.unregister(call.ID())
	if err := lc.wait(w, "StasisStart"); err != nil {
		return err
	}
	if err := lc.post("POST", "/channels/"+call.ID()+"/answer"); err != nil {
		return err
	}
	if err := lc.post("POST", "/channels/"+call.ID()+"/play?media=sound:hello-world&lang=it"); err != nil {
		return err
	}
	if err := lc.wait(w, "PlaybackFinished"); err != nil {
		return err
	}
	if err := lc.post("DELETE", "/channels/"+call.ID()); err != nil {
		return err
	}
	if err := lc.wait(w, "StasisEnd"); err != nil {
		return err
	}
	<-call.Done()
	return nil
}

// BenchmarkConcurrentCalls runs b.N calls, `conc` at a time, each answered,
// played (hello-world, 646 ms of clock time at 1000x) and hung up over real
// HTTP and WebSocket. allocs/op and B/op are per call, client included.
func BenchmarkConcurrentCalls(b *testing.B) {
	for _, conc := range []int{50, 500} {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			s, _ := newSim(b, 1000, Options{})
			lc := newLoadClient(b, s, "ivr", conc)
			waitFor(b, func() bool { return s.Stats().ActiveApps == 1 })
			b.ReportAllocs()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, conc)
			for g := 0; g < conc; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						if err := lc.oneCall(s, int(n)); err != nil {
							select {
							case errs <- err:
							default:
							}
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
			st := s.Stats()
			b.ReportMetric(float64(st.TCPConnections)/float64(b.N), "tcpconns/call")
			b.ReportMetric(float64(st.EventsSent)/float64(b.N), "events/call")
		})
	}
}

// TestManyConcurrentCalls holds 5,000 calls at once (answered, each
// playing an endless tone), then hangs them all up, checking that nothing is
// lost and that the simulator stays responsive.
func TestManyConcurrentCalls(t *testing.T) {
	n := 5000
	if testing.Short() || raceEnabled {
		n = 1000
	}
	s, _ := newSim(t, 50, Options{})
	lc := newLoadClient(t, s, "ivr", 64)
	waitFor(t, func() bool { return s.Stats().ActiveApps == 1 })
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()

	calls := make([]*Call, n)
	ws := make([]chan string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var failed atomic.Int64
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := s.PlaceCall(context.Background(), fmt.Sprint(i), "800749049", CallOptions{EventBuffer: -1})
			if err != nil {
				failed.Add(1)
				return
			}
			w := lc.register(c.ID())
			calls[i], ws[i] = c, w
			if lc.wait(w, "StasisStart") != nil ||
				lc.post("POST", "/channels/"+c.ID()+"/answer") != nil ||
				lc.post("POST", "/channels/"+c.ID()+"/play?media=tone:ring") != nil ||
				lc.wait(w, "PlaybackStarted") != nil {
				failed.Add(1)
			}
		}(i)
	}
	wg.Wait()
	setup := time.Since(start)
	if failed.Load() > 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	st := s.Stats()
	if st.ActiveChannels != n || st.ActivePlaybacks != n {
		t.Fatalf("active channels %d playbacks %d, want %d", st.ActiveChannels, st.ActivePlaybacks, n)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d calls set up in %v (%.0f calls/s), heap +%d KB (%.1f KB/call), goroutines %d → %d, %d TCP connections",
		n, setup, float64(n)/setup.Seconds(), (after.HeapAlloc-before.HeapAlloc)/1024,
		float64(after.HeapAlloc-before.HeapAlloc)/1024/float64(n), goroutines, runtime.NumGoroutine(), st.TCPConnections)
	// The HTTP keep-alive connections (64, three goroutines each, client
	// and server side) account for ~200; nothing may grow with the calls.
	if g := runtime.NumGoroutine() - goroutines; g > 400 {
		t.Errorf("%d more goroutines with %d calls up", g, n)
	}
	for i, c := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func(c *Call, w chan string) {
			defer wg.Done()
			defer func() { <-sem }()
			c.Hangup()
			if lc.wait(w, "StasisEnd") != nil {
				failed.Add(1)
			}
		}(c, ws[i])
	}
	wg.Wait()
	if failed.Load() > 0 || s.ActiveChannels() != 0 || s.Stats().ActivePlaybacks != 0 {
		t.Fatalf("after hangup: %d failed, %d channels, %d playbacks", failed.Load(), s.ActiveChannels(), s.Stats().ActivePlaybacks)
	}
}
