package notify_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/helpdesk-ivr/ivr/internal/pgtest"
	"github.com/helpdesk-ivr/ivr/notify"
	"github.com/helpdesk-ivr/ivr/tickets"
)

// BenchmarkOpenCallWithHook is tickets' BenchmarkOpenCall as ivrd runs
// it: with the notifier's hook, so each call is a transaction that may
// also queue an e-mail: none of the callers known (most calls), or every
// one from an Administration with addresses (each opening mailed).
func BenchmarkOpenCallWithHook(b *testing.B) {
	for _, known := range []bool{false, true} {
		b.Run(fmt.Sprintf("known=%v", known), func(b *testing.B) {
			const conns = 8
			pool := pgtest.PoolConfig(b, func(c *pgxpool.Config) { c.MaxConns, c.MinConns = conns, conns })
			n, err := notify.NewNotifier(notify.Config{From: "helpdesk@helpdesk.test"}, dir, rome, nil)
			if err != nil {
				b.Fatal(err)
			}
			s := tickets.New(pool, tickets.Options{Location: rome, Hook: n.Hook, HookOnCreate: n.WantsCreated})
			var seq atomic.Int64
			b.SetParallelism(int(conns))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					org := ""
					if known {
						org = "giustizia"
					}
					_, _, err := s.OpenCall(ctx, tickets.NewCall{
						ChannelID: "1795320990." + strconv.FormatInt(i, 10), AsteriskNode: "ast1",
						Caller: fmt.Sprintf("+39333%07d", i%100000), Called: "+39800749049", Subject: "Chiamata",
						Organization: org,
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		})
	}
}
