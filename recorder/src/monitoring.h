// The sys.monitoring (PEP 669) side of the hook, for CPython 3.12+.
//
// CPython has no C API to subscribe to monitoring events: tools register
// callables through the Python module sys.monitoring. This file owns that
// conversation: it claims a free tool id, registers one C callable per event
// (objects of a static type with tp_vectorcall, the cheapest thing the
// interpreter can call), switches events on globally or per code object, and
// gives everything back when the recording stops. What an event means is the
// hook's business (hook.cc); nothing here knows about tapes.
#ifndef TRACETAPE_RECORDER_MONITORING_H_
#define TRACETAPE_RECORDER_MONITORING_H_

#include <Python.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tracetape/format/status.h"

namespace tracetape::recorder::monitoring {

// The events the recorder uses, in the order of sys.monitoring.events.
enum Event : int {
  kPyStart = 0,
  kPyResume,
  kPyReturn,
  kPyYield,
  kLine,
  kJump,
  kRaise,
  kPyUnwind,
  kPyThrow,
  kStopIteration,
  kEventCount,
};

// Receives one event, as the vectorcall of its callback object (so that
// the interpreter calls it directly): `args` are the callback's arguments
// as sys.monitoring documents them (code first), PyVectorcall_NARGS(nargsf)
// of them. Returns a new reference: Py_None, or the DISABLE sentinel
// (Disable()) to turn this event off at this location. Must not leave a
// Python exception set. It may run until Uninstall() returns: it must
// check that its recording is still on.
using Handler = vectorcallfunc;

bool Available();  // sys.monitoring exists (3.12+)

// Claims a free tool id and registers handlers[e] for each Event e (one
// function per event, so that each can be specialised for its event);
// switches on the events in `global_events` (a mask of 1 << Event) for all
// code.
//
// Locations switched off with DISABLE stay off for later recordings of the
// process (sys.monitoring keeps them until restart_events()). `scope` names
// what decided them (the recording's include/exclude rules): a recording
// with another scope restarts them first.
//
// If the hook is parked (Park) with these handlers, events and scope, it is
// taken back as it is: no sys.monitoring call at all. Parked otherwise, it
// is uninstalled first.
Status Install(const std::array<Handler, kEventCount>& handlers, uint32_t global_events, const std::string& scope);
// Switches every event off (global and local), unregisters the callbacks and
// frees the tool id. Safe to call when not installed.
void Uninstall();
bool Installed();
// Leaves the hook installed, its events on, for the next Install of the same
// recording options (`pytest --tape` records one test after another): each
// set_events() makes CPython re-instrument every function it runs next,
// which cost a test's recording as much as all the rest of its start and
// stop. The handlers must do nothing while no recording runs (they already
// check that theirs is on).
void Park();
bool Parked();

// Switches on `local_events` for one code object (kept alive until Uninstall).
Status EnableCode(PyCodeObject* code, uint32_t local_events);
// Switches every event off for the tool without freeing it (the recorder
// disabled itself in the middle of a callback).
void SilenceAll();

// The DISABLE sentinel, as a new reference.
PyObject* Disable();

int ToolId();

}  // namespace tracetape::recorder::monitoring

#endif  // TRACETAPE_RECORDER_MONITORING_H_
