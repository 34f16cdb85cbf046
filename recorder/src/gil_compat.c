// Where the interpreter names the thread that runs, for the hook's
// per-event check of which thread runs (hook.cc, GilHolderIfLast): the
// GIL's last holder on 3.12+, the runtime's current thread state before. C, not C++: the
// internal headers that define the GIL (pycore_interp.h) use C11 atomics on
// 3.12, which C++ cannot compile. Compiled with Py_BUILD_CORE, as
// frame_compat.cc is, against the headers of the interpreter it is built for.
#define Py_BUILD_CORE 1
#include <Python.h>

#include "gil_compat.h"

#if PY_VERSION_HEX >= 0x030C0000
#include <internal/pycore_interp.h>

_Static_assert(sizeof(((struct _gil_runtime_state*)0)->last_holder) == sizeof(PyThreadState*),
               "the GIL's last holder is one pointer");

PyThreadState* const volatile* tracetape_gil_holder_slot(PyInterpreterState* interp) {
  if (interp == NULL || interp->ceval.gil == NULL) return NULL;
  return (PyThreadState* const volatile*)&interp->ceval.gil->last_holder;
}
#elif PY_VERSION_HEX >= 0x030A0000
#include <internal/pycore_runtime.h>

_Static_assert(sizeof(_PyRuntime.gilstate.tstate_current) == sizeof(PyThreadState*),
               "the runtime's current thread state is one pointer");

// 3.10 and 3.11: the runtime's current thread state, which is what
// PyThreadState_Get() reads (_PyThreadState_GET), one for the process.
PyThreadState* const volatile* tracetape_gil_holder_slot(PyInterpreterState* interp) {
  (void)interp;
  return (PyThreadState* const volatile*)&_PyRuntime.gilstate.tstate_current;
}
#else
PyThreadState* const volatile* tracetape_gil_holder_slot(PyInterpreterState* interp) {
  (void)interp;
  return NULL;
}
#endif
