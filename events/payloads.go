package events

import "time"

// Metric is the data of a [TypeMetric] event: one sample of one series.
type Metric struct {
	Host   string `json:"host"`
	Source string `json:"source"`
	// Name is the full metric name, "<source>.<sample>", e.g. "probe.value".
	Name   string            `json:"name"`
	Value  float64           `json:"value"`
	Unit   string            `json:"unit,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Time   time.Time         `json:"time"`
}

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Alert is the data of an alert event. The same problem on the same host
// always carries the same Fingerprint, so integrations find what they made
// for it before.
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Rule        string            `json:"rule"`
	Kind        string            `json:"kind,omitempty"` // threshold, trend, anomaly, forecast, external
	Status      string            `json:"status"`
	Severity    string            `json:"severity"`
	Summary     string            `json:"summary"`
	Description string            `json:"description,omitempty"`
	Metric      string            `json:"metric,omitempty"`
	Host        string            `json:"host,omitempty"`
	Value       float64           `json:"value"`
	Threshold   *float64          `json:"threshold,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Evidence holds the figures behind an analysis alert (slope, z-score,
	// time until full), each traceable to samples.
	Evidence map[string]float64 `json:"evidence,omitempty"`
	StartsAt time.Time          `json:"starts_at"`
	EndsAt   *time.Time         `json:"ends_at,omitempty"`
	// Optimize lists optimization tasks the rule asks for when it fires.
	Optimize []string `json:"optimize,omitempty"`
	// Alerts holds the members when the event is a group notification.
	Alerts []Alert `json:"alerts,omitempty"`
	// Repeat is true when the notification repeats an alert still firing.
	Repeat bool `json:"repeat,omitempty"`
	// Links are URLs a reader may follow (dashboards, runbooks).
	Links map[string]string `json:"links,omitempty"`
}

// Run is the data of an optimization event: one run of one or more tasks.
type Run struct {
	ID        string       `json:"id"`
	Status    string       `json:"status"` // requested, started, completed, failed
	Level     string       `json:"level"`
	DryRun    bool         `json:"dry_run,omitempty"`
	Trigger   Trigger      `json:"trigger"`
	Tasks     []TaskResult `json:"tasks,omitempty"`
	Error     string       `json:"error,omitempty"`
	Requested time.Time    `json:"requested"`
	Started   *time.Time   `json:"started,omitempty"`
	Finished  *time.Time   `json:"finished,omitempty"`
	// Summary is one human line per task, e.g.
	// "database: VACUUM on 3 tables, dead tuples 120,412 → 0".
	Summary []string `json:"summary,omitempty"`
}

// Trigger says who or what asked for a run.
type Trigger struct {
	Kind        string `json:"kind"` // cli, alert, github, slack, schedule, api
	By          string `json:"by,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Repo, Issue and SHA locate a GitHub origin, so results go back there.
	Repo  string `json:"repo,omitempty"`
	Issue int    `json:"issue,omitempty"`
	SHA   string `json:"sha,omitempty"`
	// ResponseURL is where a chat command's answer goes.
	ResponseURL string `json:"response_url,omitempty"`
	EventID     string `json:"event_id,omitempty"`
}

// TaskResult is what one task did and what it measured.
type TaskResult struct {
	Task            string        `json:"task"`
	Steps           []Step        `json:"steps,omitempty"`
	Measures        []Measurement `json:"measures,omitempty"`
	Verdict         string        `json:"verdict"` // improved, no measurable change, worse, skipped, failed
	Error           string        `json:"error,omitempty"`
	Recommendations []string      `json:"recommendations,omitempty"`
}

// Step is one action a task took or skipped.
type Step struct {
	Name    string `json:"name"`
	Target  string `json:"target,omitempty"`
	Done    bool   `json:"done"`
	Skipped string `json:"skipped,omitempty"` // why it was skipped
	Error   string `json:"error,omitempty"`
}

// Measurement compares a quantity before and after a task.
type Measurement struct {
	Name   string `json:"name"`
	Unit   string `json:"unit,omitempty"`
	Before Stats  `json:"before"`
	After  Stats  `json:"after"`
	// LowerIsBetter tells how to read the change.
	LowerIsBetter bool   `json:"lower_is_better"`
	Verdict       string `json:"verdict"`
}

// Stats summarises n samples of one quantity.
type Stats struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Spread is the median absolute deviation.
	Spread float64 `json:"spread"`
}

// Report is the data of a [TypeReport] event.
type Report struct {
	Name     string    `json:"name"`
	Title    string    `json:"title"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	Markdown string    `json:"markdown"`
	HTML     string    `json:"html,omitempty"`
	Text     string    `json:"text,omitempty"`
}

// Test is the data of a [TypeTest] event sent by `tend test integration`.
type Test struct {
	Integration string `json:"integration"`
	Message     string `json:"message"`
}
