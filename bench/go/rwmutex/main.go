// etcd's Go recipe.RWMutex (contrib/recipes in etcd 3.4), for the read-write lock's interop tests and
// benchmarks. Built in GOPATH mode against Debian's golang-etcd-server-dev (bench/go/build.ts).
// Prefix = <namespace>/rwlocks/<name>, as our coord.rwlock uses for `name`.
//
//	-mode rhold|whold -prefix P          RLock / Lock, print {"locked":...}, unlock when stdin closes
//	-mode racquire|wacquire -prefix P    RLock / Lock (waiting as long as needed), print, unlock
//	-mode rbench -prefix P -n N -seconds S   N sessions (own clients) looping RLock+RUnlock; cycles/s
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
	recipe "go.etcd.io/etcd/contrib/recipes"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated etcd endpoints")
	mode := flag.String("mode", "rhold", "rhold | whold | racquire | wacquire | rbench")
	prefix := flag.String("prefix", "bench/rwlocks/go", "RWMutex prefix, e.g. <namespace>/rwlocks/<name>")
	seconds := flag.Float64("seconds", 3, "measurement time (rbench)")
	n := flag.Int("n", 8, "readers (rbench)")
	ttl := flag.Int("ttl", 10, "session TTL in seconds")
	flag.Parse()
	eps := strings.Split(*endpoints, ",")

	switch *mode {
	case "rhold", "whold", "racquire", "wacquire":
		cli, s := session(eps, *ttl)
		defer cli.Close()
		defer s.Close()
		m := recipe.NewRWMutex(s, *prefix)
		read := *mode == "rhold" || *mode == "racquire"
		if read {
			must(m.RLock())
		} else {
			must(m.Lock())
		}
		emit(map[string]interface{}{"locked": map[bool]string{true: "read", false: "write"}[read]})
		if *mode == "rhold" || *mode == "whold" {
			_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // unlock when the parent writes a line or closes stdin
		}
		if read {
			must(m.RUnlock())
		} else {
			must(m.Unlock())
		}
		emit(map[string]interface{}{"unlocked": true})
	case "rbench":
		var total int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		duration := time.Duration(*seconds * float64(time.Second))
		for i := 0; i < *n; i++ {
			cli, s := session(eps, *ttl)
			defer cli.Close()
			defer s.Close()
			m := recipe.NewRWMutex(s, *prefix)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				begin := time.Now()
				for time.Since(begin) < duration {
					must(m.RLock())
					must(m.RUnlock())
					atomic.AddInt64(&total, 1)
				}
			}()
		}
		began := time.Now()
		close(start)
		wg.Wait()
		emit(map[string]interface{}{"mode": "rbench", "readers": *n, "cyclesPerSec": float64(total) / time.Since(began).Seconds()})
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
