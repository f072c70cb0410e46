/* thread_create.c - see thread_create.h. */
#include "thread_create.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "counter.h"
#include "nursery.h"
#include "record.h"
#include "tracer.h"


static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *,
                                  void *(*)(void *), void *);

void thread_create_resolve(void)
{
    real_pthread_create = (int (*)(pthread_t *, const pthread_attr_t *,
                                   void *(*)(void *), void *))
        dlsym(RTLD_NEXT, "pthread_create");
}

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg)
{
    atomic_store(&tracer_threaded, true);
    if (nursery_mine) {
        tracer_in_hook++;
        record_nursery_hand_over();
        tracer_in_hook--;
    }
    if (!real_pthread_create)
        thread_create_resolve();
    if (!real_pthread_create)
        return EAGAIN;
    return real_pthread_create(thread, attr, start, arg);
}
