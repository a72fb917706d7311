/* Reading a new password the way the admin tool takes it: the first line
 * of standard input, so scripts can pipe it in and it never shows up in
 * the process list as an argument would. */
#ifndef AGORA_PASSWORD_INPUT_H
#define AGORA_PASSWORD_INPUT_H

#include "lib/str.h"

/* Reads the first line of stdin into `out` without its "\n" or "\r\n".
 * When stdin is a terminal, prompts on stderr and turns echo off.
 * -1 with a message in err when there is no line, it is empty, too long or
 * holds a NUL byte. */
int password_input_read(str_t *out, str_t *err);

/* Wipes the password from memory and frees it. */
void password_input_free(str_t *pw);

#endif
