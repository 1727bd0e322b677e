// Package optimizer turns samples into judgements and judgements into
// action. It consumes metric events from the bus, keeps the latest value of
// every series, evaluates rules (threshold with duration and hysteresis;
// trend, anomaly and forecast analysis) and publishes alert events, firing
// then resolved, each with a stable fingerprint. Rule state lives in the KV
// bucket tend_state, so a restart neither loses a firing alert nor fires it
// twice. Optimization tasks and runs live in the sub-packages tasks and
// runner; this package feeds them alerts.
package optimizer
