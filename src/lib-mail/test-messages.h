/* Sample messages shared by the lib-mail unit tests. */
#ifndef AGORA_TEST_MESSAGES_H
#define AGORA_TEST_MESSAGES_H

/* multipart/mixed: multipart/alternative (text/plain, text/html) and a
 * base64 application/octet-stream attachment. */
static const char mixed_msg[] =
	"From: a@example.com\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"\r\n"
	"plain text\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>html</p>\r\n"
	"--inner--\r\n"
	"--outer \r\n"
	"Content-Type: application/octet-stream; name=a.bin\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-Disposition: attachment; filename=a.bin\r\n"
	"\r\n"
	"AAEC\r\n"
	"--outer--\r\n"
	"epilogue\r\n";

/* multipart/mixed: text/plain and a forwarded message/rfc822. */
static const char fwd_msg[] =
	"From: Outer <outer@example.com>\r\n"
	"Subject: fwd\r\n"
	"Content-Type: multipart/mixed; boundary=b\r\n"
	"\r\n"
	"--b\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"see attached\r\n"
	"--b\r\n"
	"Content-Type: message/rfc822\r\n"
	"Content-Description: forwarded\r\n"
	"\r\n"
	"From: inner@example.com\r\n"
	"Subject: inner\r\n"
	"\r\n"
	"hello\r\n"
	"--b--\r\n";

#endif
