/*
 * chatc's TLS layer (tls.c): a client context that verifies the server,
 * and a connection over a connected, non-blocking socket whose calls
 * read and write like the socket's own.
 */

#ifndef CHATC_TLS_H
#define CHATC_TLS_H

#include <sys/types.h>
#include <stddef.h>

struct ctls_ctx;
struct ctls;

/* What a call that returned "not yet" waits for. */
#define CTLS_WANT_READ	1
#define CTLS_WANT_WRITE	2

struct ctls_ctx	*ctls_ctx_new(const char *, int, char *, size_t);
void		 ctls_ctx_free(struct ctls_ctx *);
struct ctls	*ctls_new(struct ctls_ctx *, int, const char *);
int		 ctls_handshake(struct ctls *, int *, char *, size_t);
const char	*ctls_describe(struct ctls *, char *, size_t);
ssize_t		 ctls_read(struct ctls *, void *, size_t, int *);
ssize_t		 ctls_write(struct ctls *, const void *, size_t, int *);
int		 ctls_shutdown(struct ctls *);
void		 ctls_free(struct ctls *);

#endif /* CHATC_TLS_H */
