/*
 * cxx_new.h - C++ operator new and delete (cxx_new.c), which libmtrace.so
 * exports; this is what the rest of the tracer needs of them.
 */
#ifndef MTRACE_CXX_NEW_H
#define MTRACE_CXX_NEW_H

/* After a dlclose: the definitions found per calling library (when the
 * global scope has none) are looked up again, as another library may
 * now sit where an unloaded one was. */
void cxx_new_forget_callers(void);

#endif
