#include "agora/password-input.h"
#include "lib-auth/password.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int password_input_read(str_t *out, str_t *err)
{
	struct termios saved, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		fputs("Password: ", stderr);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);

	int ret = -1;
	if (n < 0) {
		str_append(err, "no password on standard input");
		goto out;
	}
	size_t len = (size_t)n;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		str_append(err, "empty password");
	else if (memchr(line, '\0', len) != NULL)
		str_append(err, "password contains a NUL byte");
	else if (len > PASSWORD_MAX)
		str_printf(err, "password is longer than %d bytes", PASSWORD_MAX);
	else {
		str_append_n(out, line, len);
		ret = 0;
	}
out:
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	return ret;
}

void password_input_free(str_t *pw)
{
	if (pw->data != NULL)
		explicit_bzero(pw->data, pw->cap);
	str_free(pw);
}
