// Package faults holds what the fault tests use to break the parts of a
// running stack on purpose: a TCP proxy that can refuse and cut
// connections (Temporal unreachable, Postgres connections cut).
package faults

import (
	"io"
	"net"
	"sync"
)

// Proxy forwards TCP connections to a target until told to cut them.
type Proxy struct {
	target string
	ln     net.Listener

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Down cuts every open connection and refuses new ones (they are
// accepted and closed at once, as a dead backend behind a load balancer
// looks), until Up.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

// Up forwards connections again.
func (p *Proxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// Cut closes the open connections once, leaving the proxy up.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Close stops the proxy and cuts everything.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Down()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.track(c)
		p.mu.Unlock()
		p.wg.Go(func() { p.forward(c) })
	}
}

// track records c; the lock is held.
func (p *Proxy) track(c net.Conn) { p.conns[c] = struct{}{} }

func (p *Proxy) forget(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *Proxy) forward(c net.Conn) {
	b, err := net.Dial("tcp", p.target)
	if err != nil {
		p.forget(c)
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		p.forget(c, b)
		return
	}
	p.track(b)
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src) //nolint:errcheck // a cut connection ends the copy: nothing to report
		done <- struct{}{}
	}
	go pipe(b, c)
	go pipe(c, b)
	<-done
	p.forget(c, b)
	<-done
}
