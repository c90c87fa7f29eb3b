// Package lifecycle takes a container of the store from its config to a
// running spec and back: the one path from a container's config to the
// spec that runs (Spec), the checks and locks around a start (Start),
// whether a container runs (Check, LockRun) and its removal, killed
// first when asked (Destroy).
//
// `ulxc spec NAME` prints what Spec returns, and `ulxc start NAME` runs
// exactly that: Start makes its spec with Spec and hands it to package
// runtime unchanged, to runtime.Start in the foreground or to the
// monitor through runtime.Daemon (whose wire carries every field runtime
// reads: runtime's TestWireCarriesEveryField). TestStartRunsSpec holds
// the two to the same JSON here, and cmd/ulxc's TestSpecIsWhatStartRuns
// end to end: what `ulxc spec` prints against what a build of ulxc with a
// test hook (tag ulxc_spechook) ran, in the foreground and in the monitor
// after its wire.
//
// The package sits above store and runtime, which know nothing of each
// other: store says where a run's state lives and holds its locks,
// runtime reads the state and checks it against the kernel. It never
// prints: what the user should know of a start goes through a Warn
// callback, and errors carry the sentinels of store and runtime
// (store.ErrRunning, store.ErrBusy, runtime.ErrNotRunning) for the caller
// to branch on.
//
// The lock order is the one every verb that changes a container keeps:
// the container's lock (store.Container.Lock) first, then its run lock
// (store.Container.LockRun), which the supervisor holds for the run's
// whole life.
package lifecycle
