// See gil_compat.c.
#ifndef TRACETAPE_RECORDER_GIL_COMPAT_H_
#define TRACETAPE_RECORDER_GIL_COMPAT_H_

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

// The word that names the running thread state, read-only for us. 3.12+:
// where `interp`'s GIL keeps its last holder. CPython writes it in
// take_gil(), with the thread state that takes the GIL, and in drop_gil():
// while a thread holds the GIL it names the thread state that thread took
// it with (a PyThreadState_Swap() afterwards deactivates that one: see
// compat::ThreadStateActive). 3.10 and 3.11: the runtime's current thread
// state (_PyRuntime.gilstate.tstate_current), what PyThreadState_Get()
// reads. NULL where neither is known.
PyThreadState* const volatile* tracetape_gil_holder_slot(PyInterpreterState* interp);

#ifdef __cplusplus
}
#endif

#endif  // TRACETAPE_RECORDER_GIL_COMPAT_H_
