#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_role[32] = "agora";

void log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

static void log_v(const char *level, const char *fmt, va_list ap)
{
	char msg[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	/* One write per line so lines from several processes do not mix. */
	char line[2200];
	int n = snprintf(line, sizeof(line), "%s.%03ld %s[%d] %s: %s\n", stamp,
			 ts.tv_nsec / 1000000, log_role, (int)getpid(), level, msg);
	if (n > (int)sizeof(line))
		n = sizeof(line);
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v("info", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v("warning", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v("error", fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v("fatal", fmt, ap);
	va_end(ap);
	exit(2);
}
