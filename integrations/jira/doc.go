// Package jira files tend's alerts as JIRA issues: one issue per problem,
// found again by a label derived from the alert's fingerprint, commented on
// while the problem repeats, transitioned to done when it resolves, and
// reopened when it comes back soon after. It speaks the JIRA REST API
// version 2 through github.com/andygrunwald/go-jira, to JIRA Cloud (email
// and API token) or JIRA Server/Data Center (personal access token).
//
// It sits at the end of the flow: the router hands it alert events (and the
// reports of optimization runs an alert started), and it makes one attempt
// per event, classifying failures for the router's retries. The issue key is
// kept in the tend_refs bucket so a restarted or second hub finds the same
// issue; a JQL search on the label is the fallback when no key is stored.
package jira
