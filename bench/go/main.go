// Go side of the lock benchmark and of the interop test: etcd's own concurrency.Mutex against the
// same etcd as our TypeScript lock. Built in GOPATH mode against Debian's golang-etcd-server-dev:
//
//	GO111MODULE=off GOPATH=$(mktemp -d):/usr/share/gocode go build -o lockgo bench/go/main.go
//
// Modes (all print one JSON line on stdout):
//
//	-mode uncontended -prefix P -seconds S            Lock+Unlock cycles/s, one session
//	-mode contended   -prefix P -seconds S -n N       N sessions (own clients) on one mutex, hold 0
//	-mode hold        -prefix P                        Lock, print {"locked":...}, Unlock when stdin closes
//	-mode acquire     -prefix P                        Lock (waiting as long as needed), print, Unlock
//
// concurrency.Election modes (prefix = <namespace>/elections/<name>):
//
//	-mode lead        -prefix P -value V               Campaign(V), print {"leader":...}, Resign when stdin closes
//	-mode leader      -prefix P                        print Leader()'s value once ({"none":true} if no leader)
//	-mode observe     -prefix P -count C               print C values from Observe(), one line each
//	-mode handover    -prefix P -n R                   R resign→next Campaign returns hand-overs, 2 sessions; p50/p90 ms
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated etcd endpoints")
	mode := flag.String("mode", "uncontended", "uncontended | contended | hold | acquire")
	prefix := flag.String("prefix", "bench/locks/go", "mutex prefix, e.g. <namespace>/locks/<key>")
	seconds := flag.Float64("seconds", 3, "measurement time")
	n := flag.Int("n", 2, "contenders (contended mode)")
	ttl := flag.Int("ttl", 10, "session TTL in seconds")
	value := flag.String("value", "go", "campaign value (election modes)")
	count := flag.Int("count", 1, "values to observe (observe mode)")
	flag.Parse()

	eps := strings.Split(*endpoints, ",")
	duration := time.Duration(*seconds * float64(time.Second))
	switch *mode {
	case "uncontended":
		cli, s := session(eps, *ttl)
		defer cli.Close()
		defer s.Close()
		m := concurrency.NewMutex(s, *prefix)
		count := 0
		start := time.Now()
		for time.Since(start) < duration {
			must(m.Lock(context.Background()))
			must(m.Unlock(context.Background()))
			count++
		}
		emit(map[string]interface{}{"mode": *mode, "cyclesPerSec": float64(count) / time.Since(start).Seconds()})
	case "contended":
		var handoffs int64
		var wg sync.WaitGroup
		ready := make(chan struct{})
		var stop atomic.Value
		stop.Store(false)
		for i := 0; i < *n; i++ {
			cli, s := session(eps, *ttl)
			defer cli.Close()
			defer s.Close()
			m := concurrency.NewMutex(s, *prefix)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-ready
				for !stop.Load().(bool) {
					must(m.Lock(context.Background()))
					atomic.AddInt64(&handoffs, 1)
					must(m.Unlock(context.Background()))
				}
			}()
		}
		start := time.Now()
		close(ready)
		time.Sleep(duration)
		stop.Store(true)
		elapsed := time.Since(start).Seconds()
		count := atomic.LoadInt64(&handoffs)
		wg.Wait()
		emit(map[string]interface{}{"mode": *mode, "contenders": *n, "handoffsPerSec": float64(count) / elapsed})
	case "hold", "acquire":
		cli, s := session(eps, *ttl)
		defer cli.Close()
		defer s.Close()
		m := concurrency.NewMutex(s, *prefix)
		must(m.Lock(context.Background()))
		emit(map[string]interface{}{"locked": m.Key(), "revision": m.Header().Revision})
		if *mode == "hold" {
			r := bufio.NewReader(os.Stdin)
			_, _ = r.ReadString('\n') // unlock when the parent writes a line or closes stdin
		}
		must(m.Unlock(context.Background()))
		emit(map[string]interface{}{"unlocked": m.Key()})
	case "lead", "leader", "observe", "handover":
		runElection(eps, *mode, *prefix, *value, *ttl, *count, *n)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		os.Exit(2)
	}
}

func session(endpoints []string, ttl int) (*clientv3.Client, *concurrency.Session) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	must(err)
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl))
	must(err)
	return cli, s
}

func emit(v interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func runElection(eps []string, mode, prefix, value string, ttl, count, n int) {
	ctx := context.Background()
	cli, s := session(eps, ttl)
	defer cli.Close()
	defer s.Close()
	e := concurrency.NewElection(s, prefix)
	switch mode {
	case "lead":
		must(e.Campaign(ctx, value))
		emit(map[string]interface{}{"leader": e.Key(), "revision": e.Rev()})
		r := bufio.NewReader(os.Stdin)
		_, _ = r.ReadString('\n') // resign when the parent writes a line or closes stdin
		must(e.Resign(ctx))
		emit(map[string]interface{}{"resigned": e.Key()})
	case "leader":
		resp, err := e.Leader(ctx)
		if err == concurrency.ErrElectionNoLeader {
			emit(map[string]interface{}{"none": true})
			return
		}
		must(err)
		kv := resp.Kvs[0]
		emit(map[string]interface{}{"value": string(kv.Value), "key": string(kv.Key), "revision": kv.CreateRevision})
	case "observe":
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := e.Observe(cctx)
		emit(map[string]interface{}{"observing": prefix})
		for i := 0; i < count; i++ {
			resp, ok := <-ch
			if !ok {
				fmt.Fprintln(os.Stderr, "error: observe channel closed")
				os.Exit(1)
			}
			kv := resp.Kvs[0]
			emit(map[string]interface{}{"value": string(kv.Value), "key": string(kv.Key), "revision": kv.CreateRevision})
		}
	case "handover":
		// Two candidates take turns: the leader resigns; we time until the other's Campaign returns.
		cli2, s2 := session(eps, ttl)
		defer cli2.Close()
		defer s2.Close()
		elections := []*concurrency.Election{e, concurrency.NewElection(s2, prefix)}
		must(elections[0].Campaign(ctx, value))
		var ms []float64
		for i := 0; i < n; i++ {
			leader, next := elections[i%2], elections[(i+1)%2]
			won := make(chan time.Time, 1)
			go func() {
				must(next.Campaign(ctx, value))
				won <- time.Now()
			}()
			waitForCandidates(cli, prefix, 2)
			time.Sleep(10 * time.Millisecond) // let the waiter settle, as the TypeScript side does
			start := time.Now()
			must(leader.Resign(ctx))
			ms = append(ms, float64((<-won).Sub(start).Microseconds())/1000)
		}
		must(elections[n%2].Resign(ctx))
		sort.Float64s(ms)
		emit(map[string]interface{}{"mode": mode, "handovers": n, "p50Ms": ms[len(ms)/2], "p90Ms": ms[len(ms)*9/10]})
	}
}

// waitForCandidates polls until `want` candidates are queued under prefix (the next one is waiting).
func waitForCandidates(cli *clientv3.Client, prefix string, want int64) {
	for {
		resp, err := cli.Get(context.Background(), prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		must(err)
		if resp.Count >= want {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
