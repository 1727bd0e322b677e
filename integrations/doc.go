// Package integrations holds what every integration shares: the one-method
// [Integration] interface the router calls, the [Error] type that says whether
// a failure may be retried, the registry of integration types, the store of
// outside references, and a careful HTTP client.
//
// Each outside system lives in its own package below this one
// (integrations/slack, integrations/webhook, ...). An integration makes
// exactly one attempt per call; the router owns retries, rate limits and
// dead letters.
package integrations
