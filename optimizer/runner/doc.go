// Package runner runs the optimizer's runs. A run takes one or more tasks
// (optimizer/tasks) at a level, for a trigger: the CLI or REST API through
// [Runner.Request], a firing alert whose rule lists tasks under optimize
// through [Runner.OnAlert], or the configured schedule through
// [Runner.RunSchedule]. It sits after the rules (which make alerts) and
// before the bus: each run is told as events on EVENTS,
// dev.tend.optimization.requested, .started, then .completed or .failed,
// whose data is an [events.Run] with every task's steps, before/after
// measurements, verdicts and a one-line summary per task, which the router
// hands to integrations.
//
// Rules the runner keeps:
//   - One run at a time: a request while another runs gets [ErrBusy].
//   - A task starts at most once per cooldown (settings cooldown, default
//     30m), counted from its last start whatever its outcome, so a failing
//     task is not hammered. Force skips the check; dry runs neither check
//     nor set it. When every asked task is cooling down no run starts and
//     the caller gets [ErrCoolingDown]; otherwise the cooling ones appear in
//     the run as skipped, with the time they may run again.
//   - Automatic runs (alerts, schedule) happen only while enabled.
//
// State lives behind the small [State] interface (KV tend_state in tend
// serve, through [BusState]): enabled, level, per-task last start, and the
// last [HistorySize] runs under [KeyRuns], for `tend runs`. Events go out
// through [Publisher] (*bus.Bus in tend serve).
//
// In tend serve three parts feed the runner:
//   - [Alerts] takes the rule engine's alerts and starts each run in its own
//     goroutine, so the engine's consumer never waits for a run; with a
//     shared Seen only one hub acts on an alert.
//   - [Triggers] is a durable JetStream consumer, shared by hubs, on
//     tend.trigger.> of EVENTS: GitHub and Slack triggers (the data
//     api/inbound writes, read as [TriggerData]) become runs whose events
//     carry the trigger back, acknowledged when the run ends, marked so a
//     redelivery or a copy starts no second run, refused aloud as a failed
//     run when they cannot run.
//   - [Runner.RunSchedule] runs the schedule.
//
// NOTE: the one-run-at-a-time rule holds within one process. Two hub
// replicas sharing a bus could each start a run (one from the CLI, one from
// a trigger); the cooldown, kept in the shared state, still stops them
// repeating the same task, and an alert is acted on by one hub only.
package runner
