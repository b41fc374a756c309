// Package ralph runs a Ralph loop: the same prompt, given again and again
// to a fresh agent session, each iteration doing one item of a plan, with
// checks (tests, vet, build) pushing back, until the checks pass and the
// agent states the promise, or a cap (iterations, runtime, cost) or the
// user stops it.
//
// The driver is a state machine in the shape of the agent's: a pure
// transition function, step(state, event) → (state, actions), decides
// everything (state.go, step.go), and Loop.Run (loop.go) only performs the
// actions it returns (run an iteration through session.Service, apply its
// edits with Outcome.Apply, run the checks, commit with git) and feeds back
// what happened. Nothing in step reads a clock or the disk, so the loop
// can later be driven elsewhere (a remote job) without changing it.
//
// Each iteration is a session run, recorded as a thread; the loop keeps
// its own small record (record.go) in the repository's .loom/ralph/, one
// JSON file per loop, listing its iterations with their threads, check
// results, cost and times, which `loom ralph status|log` read.
package ralph
