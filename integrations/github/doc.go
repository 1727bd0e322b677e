// Package github brings tend's alerts and optimization runs to GitHub or
// GitHub Enterprise, through github.com/google/go-github.
//
// Alerts become issues, one per problem: an issue carries the label
// tend-<fingerprint> and a hidden <!-- tend:fingerprint=... --> marker, a
// repeat comments on it, a resolution comments and closes it, and a firing
// soon after a close reopens it. Optimization runs started from GitHub (a
// trigger naming a repository and an issue, pull request or commit) report
// back there: a comment with the run's report, and a commit status
// (tend/optimize) that is pending while the run works and success or
// failure at the end.
//
// It sits at the end of the flow: the router hands it events and it makes
// one attempt per event. Rate limits, primary and secondary, are retryable
// with the wait GitHub asks for; they never dead-letter an event. Issue
// numbers are kept in the tend_refs bucket so a restarted or second hub
// finds the same issue; listing issues by label is the fallback.
package github
