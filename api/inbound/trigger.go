package inbound

import "github.com/tend-dev/tend/events"

// Trigger is the data of a [events.TypeTriggerGitHub] or
// [events.TypeTriggerSlack] event: who asked for an optimization run, from
// where, and for what. The hub's trigger consumer starts the run with
// Trigger.Trigger as its origin, so results go back to the issue, commit or
// Slack response_url.
type Trigger struct {
	Trigger events.Trigger `json:"trigger"`
	// Tasks asked for; empty means the hub's default tasks.
	Tasks []string `json:"tasks,omitempty"`
	// Level asked for; empty means the hub's current level.
	Level string `json:"level,omitempty"`
	// Event is the GitHub event (issue_comment, push, workflow_run,
	// repository_dispatch) or the Slack command ("/tend").
	Event string `json:"event"`
	// Ref is the branch of a push or workflow run.
	Ref string `json:"ref,omitempty"`
	// PullRequest is true when an issue_comment was made on a pull request.
	PullRequest bool `json:"pull_request,omitempty"`
	// Workflow and Conclusion describe a completed workflow run.
	Workflow   string `json:"workflow,omitempty"`
	Conclusion string `json:"conclusion,omitempty"`
	// Channel is the Slack channel id a command came from.
	Channel string `json:"channel,omitempty"`
}
