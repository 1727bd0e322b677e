package report

import (
	"sort"
	"time"

	"github.com/tend-dev/tend/events"
)

// RunReport is one optimization run and what it measured.
type RunReport struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Level     string    `json:"level"`
	DryRun    bool      `json:"dry_run,omitempty"`
	Trigger   string    `json:"trigger"`
	Requested time.Time `json:"requested"`
	// Took is from start to finish; nil for a run not finished.
	Took    *Duration    `json:"took"`
	Error   string       `json:"error,omitempty"`
	Tasks   []TaskEffect `json:"tasks"`
	Summary []string     `json:"summary,omitempty"`
}

// TaskEffect is one task's verdict and measured changes.
type TaskEffect struct {
	Task    string   `json:"task"`
	Verdict string   `json:"verdict"`
	Effects []Effect `json:"effects,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Effect compares the median of a quantity before and after a task.
type Effect struct {
	Name   string  `json:"name"`
	Unit   string  `json:"unit,omitempty"`
	Before float64 `json:"before"`
	// After is nil when nothing was measured after: a dry run, or a task
	// that took no step. A figure is never made up.
	After *float64 `json:"after"`
	// Change is (After − Before)/|Before|; nil when Before is 0 or After is
	// missing.
	Change        *float64 `json:"change"`
	LowerIsBetter bool     `json:"lower_is_better"`
	Verdict       string   `json:"verdict"`
	N             [2]int   `json:"n"` // samples before and after
}

// statusRank orders a run's states, so the latest known one wins.
var statusRank = map[string]int{"requested": 0, "started": 1, "completed": 2, "failed": 2}

func summariseRuns(runs []events.Run) []RunReport {
	latest := map[string]events.Run{}
	for _, r := range runs {
		old, seen := latest[r.ID]
		if !seen || statusRank[r.Status] >= statusRank[old.Status] {
			latest[r.ID] = r
		}
	}
	out := make([]RunReport, 0, len(latest))
	for _, r := range latest {
		rr := RunReport{
			ID: r.ID, Status: r.Status, Level: r.Level, DryRun: r.DryRun,
			Trigger: r.Trigger.Kind, Requested: r.Requested, Error: r.Error, Summary: r.Summary,
		}
		if r.Trigger.By != "" {
			rr.Trigger += " by " + r.Trigger.By
		}
		if r.Started != nil && r.Finished != nil {
			d := Duration(r.Finished.Sub(*r.Started))
			rr.Took = &d
		}
		for _, t := range r.Tasks {
			te := TaskEffect{Task: t.Task, Verdict: t.Verdict, Error: t.Error}
			for _, m := range t.Measures {
				e := Effect{
					Name: m.Name, Unit: m.Unit, Before: m.Before.Median,
					LowerIsBetter: m.LowerIsBetter, Verdict: m.Verdict,
					N: [2]int{m.Before.N, m.After.N},
				}
				if m.After.N > 0 {
					after := m.After.Median
					e.After = &after
				}
				if m.Before.Median != 0 && e.After != nil {
					c := (m.After.Median - m.Before.Median) / abs(m.Before.Median)
					e.Change = &c
				}
				te.Effects = append(te.Effects, e)
			}
			rr.Tasks = append(rr.Tasks, te)
		}
		out = append(out, rr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Requested.Before(out[j].Requested) })
	return out
}

// StatusText is the run's status as people read it: a dry run says so.
func (rr RunReport) StatusText() string {
	if rr.DryRun {
		return rr.Status + " (dry run)"
	}
	return rr.Status
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
