/*
 * Diagnostics on stderr, one line each, prefixed "logaudit: ".  Levels:
 * log_warnx always, log_info with -v, log_debug with -vv.  Nothing here
 * ever prints a secret: callers pass redacted text.
 */
#ifndef LOG_H
#define LOG_H

void	log_init(int verbosity);
int	log_verbosity(void);
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
