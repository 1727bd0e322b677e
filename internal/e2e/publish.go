package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

// Publisher puts events on a hub's bus from outside, through the port
// bus.listen opens.
type Publisher struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// Connect dials the NATS at addr.
func Connect(t testing.TB, addr string) *Publisher {
	t.Helper()
	nc, err := nats.Connect("nats://"+addr, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return &Publisher{nc: nc, js: js}
}

// Alert stores an alert event for fingerprint fp and returns it.
func (p *Publisher) Alert(t testing.TB, fp, status string) events.Event {
	t.Helper()
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		typ = events.TypeAlertResolved
	}
	ev, err := events.New(typ, "e2e", fp, events.Alert{
		Fingerprint: fp, Rule: "e2e", Status: status, Severity: "warning", Summary: "e2e " + status,
	})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := ev.Marshal()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.js.Publish(ctx, events.AlertSubject(status, fp), data, jetstream.WithMsgID(ev.ID)); err != nil {
		t.Fatal(err)
	}
	return ev
}
