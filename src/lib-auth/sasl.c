#include "lib-auth/sasl.h"
#include "lib/xalloc.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

unsigned char *sasl_decode(const char *b64, size_t *len_r)
{
	size_t len = strlen(b64);
	if (strcmp(b64, "=") == 0)
		len = 0;
	unsigned char *buf = xmalloc(len + 4);
	int n = 0;
	if (len > 0) {
		/* '=' only as the padding at the end ("x===", "xx=x" and
		 * "xx==xx==" are not base64, and EVP_DecodeBlock would make
		 * bytes of the padding) */
		size_t chars = strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
		size_t pad = strspn(b64 + chars, "=");
		if (len % 4 != 0 || chars + pad != len || pad > 2) {
			free(buf);
			return NULL;
		}
		n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (len >= 1 && b64[len - 1] == '=')
			n--;
		if (len >= 2 && b64[len - 2] == '=')
			n--;
	}
	buf[n] = '\0';
	*len_r = (size_t)n;
	return buf;
}

void sasl_free(unsigned char *buf, size_t len)
{
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
}

int sasl_plain_split(const unsigned char *buf, size_t len, const char **authzid_r,
		     const char **authcid_r, const char **passwd_r)
{
	const char *s = (const char *)buf;
	const char *nul1 = memchr(s, '\0', len);
	const char *nul2 = nul1 != NULL ? memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - s)) : NULL;
	if (nul1 == NULL || nul2 == NULL)
		return -1;
	*authzid_r = s;
	*authcid_r = nul1 + 1;
	*passwd_r = nul2 + 1;
	return 0;
}
