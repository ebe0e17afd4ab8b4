package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// loadClients are the HTTP clients of the ingest phases: one kept-alive
// connection each, a request written as bytes and its answer read with
// http.ReadResponse. Their CPU is charged to this process like the
// server's, so they cost what a load generator costs, not what
// net/http's Transport does (two goroutines per connection, a copy of
// every body through its buffers): the figure is the server's work.
type loadClients struct {
	addr, path string
	free       chan *loadConn
}

type loadConn struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func newLoadClients(addr, path string, n int) *loadClients {
	l := &loadClients{addr: addr, path: path, free: make(chan *loadConn, n)}
	for range n {
		l.free <- &loadConn{}
	}
	return l
}

// post sends evs as one request and checks for 202; ctx's deadline bounds
// it, and a connection that failed is dialled afresh next time.
func (l *loadClients) post(ctx context.Context, evs []recovery.Event) error {
	c := <-l.free
	defer func() { l.free <- c }()
	err := c.post(ctx, l, benchBody(evs))
	if err == nil {
		return nil
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	var ne net.Error
	if dl, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(dl) {
		<-ctx.Done() // the connection's deadline is ctx's: end as ctx does
		return ctx.Err()
	}
	return err
}

func (c *loadConn) post(ctx context.Context, l *loadClients, body []byte) error {
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", l.addr)
		if err != nil {
			return err
		}
		c.conn, c.br = conn, bufio.NewReader(conn)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(dl) //nolint:errcheck // a failed deadline fails the write or read
	} else {
		c.conn.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	}
	c.req = append(c.req[:0], "POST "+l.path+" HTTP/1.1\r\nHost: "+l.addr+
		"\r\nAuthorization: Bearer bench\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.conn.Write(c.req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s: %s", l.path, resp.Status)
	}
	if resp.Close {
		c.conn.Close()
		c.conn = nil
	}
	return nil
}

// close closes the connections (after the phase that used them).
func (l *loadClients) close() {
	for range cap(l.free) {
		if c := <-l.free; c.conn != nil {
			c.conn.Close()
		}
	}
}
