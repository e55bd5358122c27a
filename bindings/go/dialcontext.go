package psftp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DialContext is Dial honouring ctx, as net.Dialer.DialContext does. A
// deadline of ctx bounds the whole connect (TCP, handshake,
// authentication): it becomes the ConnectTimeout when that is longer (or
// 0, or negative). When ctx is done before the connection is made,
// DialContext returns at once with an error matching ctx.Err()
// (context.Canceled or context.DeadlineExceeded; with the deadline, the
// psftp error too, such as ErrTimeout). The abandoned attempt goes on in
// the background until it ends (within its ConnectTimeout) and a
// connection it makes is closed; from then on, HostKeyCallback rejects
// and KeyboardInteractive gives up, without calling cfg's functions,
// which run on that background goroutine.
func DialContext(ctx context.Context, host string, cfg Config) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("psftp: dial %s: %w", host, err)
	}
	fromDeadline := false // ConnectTimeout is the deadline's
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("psftp: dial %s: %w", host, context.DeadlineExceeded)
		}
		if cfg.ConnectTimeout <= 0 || cfg.ConnectTimeout > left {
			cfg.ConnectTimeout, fromDeadline = left, true
		}
	}
	if hk := cfg.HostKeyCallback; hk != nil {
		cfg.HostKeyCallback = func(h string, port int, key HostKey, status HostKeyStatus) HostKeyDecision {
			if ctx.Err() != nil {
				return HostKeyReject
			}
			return hk(h, port, key, status)
		}
	}
	if ki := cfg.KeyboardInteractive; ki != nil {
		cfg.KeyboardInteractive = func(req KeyboardInteractiveRequest) ([]string, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return ki(req)
		}
	}
	type result struct {
		conn *Conn
		err  error
	}
	done := make(chan result) // unbuffered: an abandoned attempt's conn is never sent
	abandoned := make(chan struct{})
	go func() {
		conn, err := Dial(host, cfg)
		select {
		case done <- result{conn, err}:
		case <-abandoned:
			conn.Close() // nil-safe
		}
	}()
	select {
	case r := <-done:
		if r.err != nil && fromDeadline && errors.Is(r.err, ErrTimeout) {
			// psftp's timer may ring a moment before the context's.
			return nil, fmt.Errorf("psftp: dial %s: %w: %w", host, context.DeadlineExceeded, r.err)
		}
		if r.err != nil && ctx.Err() != nil {
			// The deadline (as ConnectTimeout) or a cancel during a
			// callback ended it: say so in the context's terms too.
			return nil, fmt.Errorf("psftp: dial %s: %w: %w", host, ctx.Err(), r.err)
		}
		return r.conn, r.err
	case <-ctx.Done():
		close(abandoned)
		return nil, fmt.Errorf("psftp: dial %s: %w", host, ctx.Err())
	}
}
