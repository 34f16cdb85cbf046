// The in-process recorder: installs the C trace hook, turns events into raw
// records for the writer thread. All functions need the GIL.
#ifndef TRACETAPE_RECORDER_HOOK_H_
#define TRACETAPE_RECORDER_HOOK_H_

#include <Python.h>

#include <string>

#include "tracetape/format/status.h"
#include "tracetape/recorder/options.h"

namespace tracetape::recorder {

// Starts recording on this thread (and, on 3.12+, every running thread).
// `thread_registry` is threading._active, used to name threads.
Status StartRecording(RecordOptions options, PyObject* thread_registry);

// Stops the hook, drains and closes the tape. Returns the writer's error, if
// any; *path receives the tape's path. No-op (Ok) when not recording. With
// `discard`, the tape is not wanted: it is removed instead of finished
// (TapeWriter::Finish), and Ok is returned. With `keep_hook`, when another
// recording with the same options follows (`pytest --tape`'s next test):
// the sys.monitoring hook stays installed, idle, for it (monitoring::Park);
// ReleaseHook removes it, as does a recording with other options.
Status StopRecording(int exit_status, std::string* path, bool discard = false, bool keep_hook = false);

// Removes a hook kept by StopRecording (no-op while recording or if none).
void ReleaseHook();

// The callable that gives the source of a recorded file that cannot be read
// from disk (a module imported from a zip archive): called once per such
// file with its path, with the GIL, it returns the text or None. Kept (a
// strong reference) for every later recording; NULL: none.
void SetSourceFinder(PyObject* finder);

// The events the tape of the last StopRecording holds (0 before any).
uint64_t LastRecordingEvents();

bool IsRecording();
std::string RecordingPath();

// Installs the hook on the calling thread if a recording is running (the
// threading.settrace bootstrap of new threads calls this, from the `call`
// event of the thread's first Python call: `frame`). That call is then the
// hook's own first event, as if it had been installed before it.
void InstallOnCurrentThread(PyObject* frame);

// The calling thread has run the program's main module and now waits for
// its threads, as the interpreter does at exit: its calls into the standard
// library (threading's join) are not the program's and are not recorded,
// even where the standard library is in scope; a call of the program's own
// code there (a signal handler) still is, and so are the other threads.
void QuietCurrentThread();

// `pytest --tape` (settrace backend): between a test's phases the calling
// thread runs pytest's own code, out of scope, whose every call CPython
// would still give the trace function (and run slower for it, on 3.10 and
// 3.11). PauseCurrentThread takes the hook off the thread until
// ResumeCurrentThread puts it back, so that those calls run untraced: only
// where the hook is tracetape's own, installed on the thread. Call it where
// the thread runs out-of-scope code above every recorded frame on it (a
// script that called pytest.main): those cannot run before the hook comes
// back, and calls that begin and end meanwhile are left out. (The next
// event checks the shadow stack against the real one all the same.)
// Returns whether it did. ResumeCurrentThread: the hook
// back on the thread PauseCurrentThread took it from, unless another trace
// function was installed meanwhile; returns whether it did. Other threads
// are not touched. A no-op, returning false, with the sys.monitoring
// backend, whose hook costs nothing in code it has switched off.
bool PauseCurrentThread();
bool ResumeCurrentThread();
bool CurrentThreadPaused();  // the calling thread's hook is off, by PauseCurrentThread

// What sys.gettrace() returns while the settrace backend records: a Python
// trace function that, given back to sys.settrace (a save and restore of
// the trace function), installs the hook again. NULL before the first
// recording. Borrowed.
PyObject* TraceHandleObject();

// os.register_at_fork(before=..., after_in_parent=..., after_in_child=...):
// the writer thread is stopped across fork(); the parent then carries on and
// the child keeps recording into a tape of its own, from its current stack.
void BeforeFork();
void AfterForkInParent();
void AfterForkInChild();

// For tests of the change detection that spares a recording from rendering
// every local at every event: renders `v` as a local's value is rendered
// (default limits, no redaction), calls `between` (if not null: it may
// change v; an error it raises is left set and reported as `failed`), then
// asks, as the next event would, whether v still renders to that text
// (`unchanged`), and renders it anew (`after`). Whenever `unchanged` is
// true, `after` must equal `before`.
struct RenderProbe {
  std::string before;
  bool unchanged = false;
  std::string after;
  bool failed = false;
};
RenderProbe ProbeRendering(PyObject* v, PyObject* between);

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_HOOK_H_
