/*
 * stderr logging.  The verbosity is the one piece of process-wide state
 * outside main.c: every module may log, and threading a handle through
 * each call would buy nothing.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int log_level;

void
log_init(int verbosity)
{
	log_level = verbosity;
}

int
log_verbosity(void)
{
	return (log_level);
}

/* One line, whole: the alert thread logs too. */
static void
log_vline(const char *fmt, va_list ap)
{
	flockfile(stderr);
	fputs("logaudit: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < 2)
		return;
	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}
