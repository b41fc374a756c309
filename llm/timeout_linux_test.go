package llm_test

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
)

// unansweredAddr returns a loopback address whose connections never
// complete: a socket listening with a backlog of 0 whose queue is filled
// and never accepted, so the kernel drops further SYNs (Linux).
func unansweredAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue until a connection attempt goes unanswered.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, shortBound)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return addr
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("the kernel kept accepting connections to %s", addr)
	return ""
}

// A server that never completes the TCP handshake ends each attempt after
// connect_timeout, and the attempt is retried.
func TestConnectTimeout(t *testing.T) {
	base := "http://" + unansweredAddr(t) + "/v1"
	for _, provider := range llm.ProviderNames() {
		t.Run(provider, func(t *testing.T) { testConnectTimeout(t, provider, base) })
	}
}

func testConnectTimeout(t *testing.T, provider, base string) {
	cfg := shortBounds(base)
	cfg.Provider = provider
	cfg.FirstByteTimeout = time.Minute // so only the connect timeout can fire
	p, err := llm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var log retryLog
	_, err = run(guarded(t), llm.WithRetry(p, log.policy()), userRequest("hi"))
	e := asError(t, err)
	if e.Kind != llm.KindTimeout || !e.Temporary {
		t.Errorf("kind %v temporary %v: %v", e.Kind, e.Temporary, err)
	}
	checkMessage(t, err, "no connection within 1s", "connect_timeout", "LOOM_CONNECT_TIMEOUT", base)
	if len(log.errs) != 2 {
		t.Errorf("OnRetry called %d times, want 2 (3 attempts)", len(log.errs))
	}
}
