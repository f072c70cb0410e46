/* log.h - one-line messages on stderr that never allocate or touch errno. */
#ifndef MTRACE_LOG_H
#define MTRACE_LOG_H

__attribute__((format(printf, 1, 2), visibility("hidden")))
void mt_log(const char *fmt, ...);

#endif
