package router

import (
	"slices"
	"sync"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// notifying holds the buses on which an alerting stage turns alert events
// into group notifications per route.
var notifying sync.Map

// DeliverNotifications tells every router on b that alerts reach
// integrations as the alerting stage's notifications (tend.notify.<route>.>)
// rather than as raw alert events: a route that may match alerts then
// delivers its own notifications and no raw alert. Call it before
// [Router.Run]; it is safe for concurrent use.
func DeliverNotifications(b *bus.Bus) { notifying.Store(b, true) }

func notifies(b *bus.Bus) bool {
	_, ok := notifying.Load(b)
	return ok
}

// alertTypes are the event types a route must admit to receive alerts.
var alertTypes = []events.Event{{Type: events.TypeAlertFiring}, {Type: events.TypeAlertResolved}}

// TakesAlerts reports whether a route matching m may receive alerts: it
// names no type, or a type alerts have ("alert", "alert.firing").
func TakesAlerts(m config.Match) bool {
	if len(m.Type) == 0 {
		return true
	}
	for _, t := range m.Type {
		if slices.ContainsFunc(alertTypes, func(ev events.Event) bool { return ev.MatchesType(t) }) {
			return true
		}
	}
	return false
}
