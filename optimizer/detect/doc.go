// Package detect evaluates tend's analysis rules, the `kind: trend`,
// `kind: anomaly` and `kind: forecast` entries under `rules:`, against a
// metric's history. It sits between history (which supplies step averages)
// and the optimizer's rule engine (which owns alert state, fingerprints and
// publishing): the engine asks a [Rule] which range to read, reads it, and
// passes the points to [Rule.Evaluate], which says whether the rule fires
// and with which evidence. It does no I/O and is safe for concurrent use.
package detect
