// Package alerting decides which alerts reach people, when, and in what
// company. It sits between the rule engine and the router: a notifier stage
// consumes alert events (tend.alert.>), applies silences, maintenance
// windows, inhibition rules and flapping detection, groups what is left per
// route, and publishes group notifications on tend.notify.<route>.<group>,
// which the router delivers to that route's integrations.
//
// Everything it must remember lives in the tend_state bucket: silences
// (silence.<id>), groups with their timers (group.<route>.<key>), flapping
// history (flap.<fp>), the firing alerts inhibition looks at (firing.<fp>)
// and the reason each muted alert was held back (mute.<fp>.<route>). Hubs
// share the stage's durable consumer, and a hub claims a timed flush by
// updating the group's key at the revision it read, so one hub sends it.
package alerting
