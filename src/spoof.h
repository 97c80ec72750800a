/*
 * spoof.h - the Unicode machinery of names and text (spoof.c), on ICU's
 * UTF-16 strings.  Only name.c and text.c include it, so the rest of chatd
 * never sees an ICU type.
 */

#ifndef SPOOF_H
#define SPOOF_H

#include <stddef.h>

#include <unicode/utypes.h>

/* A UTF-16 string from xmalloc; s == NULL means none. */
struct ustr {
	UChar		*s;
	int32_t		 len;
};

int		 spoof_from_utf8(struct ustr *, const char *, size_t);
char		*spoof_to_utf8(const struct ustr *, size_t *);
int		 spoof_nfkc(struct ustr *, const struct ustr *);
int		 spoof_nfkc_casefold(struct ustr *, const struct ustr *);
int		 spoof_nfd(struct ustr *, const struct ustr *);
int		 spoof_skeleton(struct ustr *, const struct ustr *);
int		 spoof_allowed(UChar32);
/* What spoof_restricted() found; 0 is nothing. */
#define SPOOF_SCRIPTS	0x1	/* more scripts than the restriction level */
#define SPOOF_NUMBERS	0x2	/* digits of more than one numbering system */
#define SPOOF_MARKS	0x4	/* one nonspacing mark twice on a letter */
int		 spoof_restricted(const struct ustr *);
void		 spoof_free(struct ustr *);

#endif
