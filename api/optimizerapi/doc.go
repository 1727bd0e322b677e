// Package optimizerapi serves the optimizer's REST API under
// /api/v1/optimizer: the state of automatic optimization, runs asked for by
// hand, their history, and plans. It sits at the api end of the flow and
// drives the runner (optimizer/runner), which publishes each run's events
// on the bus for the router to deliver.
//
//	GET  /api/v1/optimizer            {enabled, level, tasks, running}
//	PUT  /api/v1/optimizer            {enabled?, level?} → the new state
//	POST /api/v1/optimizer/runs       {tasks, level, force, dry_run, wait, by, via}
//	GET  /api/v1/optimizer/runs       kept runs, newest first (?limit=N)
//	GET  /api/v1/optimizer/runs/{id}  one run, finished or in progress
//	POST /api/v1/optimizer/test       {tasks, level} → {level, plans}
//
// POST /runs answers 200 with the finished run when it ends within wait (a
// duration, at most [Handler.Wait], 50s by default so the answer beats the
// server's write timeout), else 202 with the run so far; follow it with
// GET /runs/{id}. The run goes on when the caller leaves, and ends with the
// hub. A run in progress answers 409, and so does one whose every task is
// cooling down (force runs it anyway); an unknown task or level answers 400.
// Errors are JSON {error, hint}.
package optimizerapi
