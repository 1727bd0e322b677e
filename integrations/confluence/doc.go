// Package confluence writes tend's reports to Confluence pages through the
// REST API, over plain net/http: the version 1 content endpoints, or the
// version 2 pages endpoints on Confluence Cloud sites that retired version 1.
//
// A scheduled report gets a page of its own, titled after the report and
// rewritten when the report is sent again. Optimization runs, and alerts
// when enabled, are appended as sections to a page per incident (one per
// fingerprint) or per day. Pages are created in one space under an optional
// parent, and found again by their id in the tend_refs bucket or by title.
// Bodies are in storage format with every piece of event text escaped.
// Each update sends the page's version plus one; a 409 conflict, someone
// else's edit, is refetched and retried once within the attempt and is
// retryable after that.
//
// It sits at the end of the flow: the router hands it events and it makes
// one attempt per event.
package confluence
