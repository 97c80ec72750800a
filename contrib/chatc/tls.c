/*
 * chatc's TLS layer: OpenSSL 3 on a non-blocking socket.
 *
 * The server is verified against the system's trust store, or the CA file
 * given with --ca, and its certificate must name the host chatc was given
 * (a DNS name or an IP address); --insecure skips both, for a test server
 * with a self-signed certificate.  Each call says, when it cannot go on
 * yet, whether it waits for the socket to be readable or writable.
 */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

struct ctls_ctx {
	SSL_CTX	*ctx;
	int	 insecure;
};

struct ctls {
	SSL	*ssl;
	int	 insecure;
};

/* OpenSSL's last error as text, or what if there is none. */
static void
ctls_reason(char *why, size_t len, const char *what)
{
	unsigned long	 e, last = 0;
	const char	*r;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0 && (r = ERR_reason_error_string(last)) != NULL)
		snprintf(why, len, "%s", r);
	else
		snprintf(why, len, "%s", what);
}

/*
 * A client context: verifying against ca (NULL: the system's store)
 * unless insecure.  NULL with the reason in err.
 */
struct ctls_ctx *
ctls_ctx_new(const char *ca, int insecure, char *err, size_t errlen)
{
	struct ctls_ctx	*t;
	SSL_CTX		*ctx;
	char		 why[256];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ctls_reason(why, sizeof why, "out of memory");
		snprintf(err, errlen, "TLS: %s", why);
		return (NULL);
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!insecure) {
		if (ca != NULL ? !SSL_CTX_load_verify_locations(ctx, ca, NULL) :
		    !SSL_CTX_set_default_verify_paths(ctx)) {
			ctls_reason(why, sizeof why, "cannot be read");
			snprintf(err, errlen, "%s: %s", ca != NULL ? ca :
			    "the system's certificates", why);
			SSL_CTX_free(ctx);
			return (NULL);
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if ((t = calloc(1, sizeof *t)) == NULL) {
		SSL_CTX_free(ctx);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	t->ctx = ctx;
	t->insecure = insecure;
	return (t);
}

/* Free a context. */
void
ctls_ctx_free(struct ctls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* A connection on connected socket fd to host; NULL if out of memory. */
struct ctls *
ctls_new(struct ctls_ctx *t, int fd, const char *host)
{
	struct ctls	*c;
	unsigned char	 addr[16];
	int		 is_ip;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return (NULL);
	if ((c->ssl = SSL_new(t->ctx)) == NULL || !SSL_set_fd(c->ssl, fd)) {
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return (NULL);
	}
	c->insecure = t->insecure;
	is_ip = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	if (!is_ip)	/* SNI carries names only */
		SSL_set_tlsext_host_name(c->ssl, host);
	if (!t->insecure) {
		if (is_ip)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
			    host);
		else
			SSL_set1_host(c->ssl, host);
	}
	SSL_set_connect_state(c->ssl);
	return (c);
}

/* Map a failed call: 0 and *want for "not yet", -1 for an error. */
static int
ctls_result(struct ctls *c, int r, int *want)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = CTLS_WANT_READ;
		errno = EAGAIN;
		return (0);
	case SSL_ERROR_WANT_WRITE:
		*want = CTLS_WANT_WRITE;
		errno = EAGAIN;
		return (0);
	case SSL_ERROR_ZERO_RETURN:
		return (1);
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0)
			return (errno == 0 ? 1 : -1);
		/* FALLTHROUGH */
	default:
		errno = EPROTO;
		return (-1);
	}
}

/*
 * One step of the handshake: 1 done, 0 not yet (*want says for what),
 * -1 failed with the reason in why (a verification failure by name).
 */
int
ctls_handshake(struct ctls *c, int *want, char *why, size_t len)
{
	long	v;
	int	r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(c->ssl)) == 1)
		return (1);
	switch (ctls_result(c, r, want)) {
	case 0:
		return (0);
	case 1:
		snprintf(why, len, "the server closed the connection");
		return (-1);
	}
	if (!c->insecure && (v = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
		ERR_clear_error();
		snprintf(why, len, "certificate verify failed: %s (use --ca "
		    "FILE for a private CA, --insecure to skip the check)",
		    X509_verify_cert_error_string(v));
		return (-1);
	}
	if (errno != EPROTO && errno != 0) {
		snprintf(why, len, "%s", strerror(errno));
		ERR_clear_error();
		return (-1);
	}
	ctls_reason(why, len, "handshake failed");
	return (-1);
}

/* "TLSv1.3, TLS_AES_256_GCM_SHA384": what the handshake agreed on. */
const char *
ctls_describe(struct ctls *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s, %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
	return (buf);
}

/* Like read(2): > 0, 0 at the end, -1 with errno (EAGAIN and *want). */
ssize_t
ctls_read(struct ctls *c, void *buf, size_t len, int *want)
{
	int	r;

	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read(c->ssl, buf, (int)len)) > 0)
		return (r);
	r = ctls_result(c, r, want);
	ERR_clear_error();
	return (r == 1 ? 0 : -1);
}

/* Like write(2): > 0, or -1 with errno (EAGAIN and *want). */
ssize_t
ctls_write(struct ctls *c, const void *buf, size_t len, int *want)
{
	int	r;

	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(c->ssl, buf, (int)len)) > 0)
		return (r);
	if (ctls_result(c, r, want) == 1)
		errno = EPIPE;
	ERR_clear_error();
	return (-1);
}

/* Send close_notify (without waiting for the server's); 0 or -1. */
int
ctls_shutdown(struct ctls *c)
{
	int	r;

	ERR_clear_error();
	r = SSL_shutdown(c->ssl);
	ERR_clear_error();
	return (r < 0 ? -1 : 0);
}

/* Free a connection; the socket stays open. */
void
ctls_free(struct ctls *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	free(c);
}
