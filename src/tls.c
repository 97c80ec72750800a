/*
 * The TLS transport (OpenSSL 3): the [tls] listener's connections, those
 * of the [websocket] listener with tls = true (https and wss://, below
 * the HTTP door and then the WebSocket transport), and the context they
 * are made from.
 *
 * Every call is non-blocking.  A WANT_READ or WANT_WRITE from OpenSSL is
 * the socket event the call waits for (conn->blocked), per direction, so a
 * read that must first send a record is woken by the write watcher.
 * OpenSSL reads ahead: one read() takes what the socket holds, every
 * record in it, where it would otherwise read each record's header and
 * body apart (two calls per chat line, and a third to learn that nothing
 * more has come).  What it holds and has not handed over (SSL_has_pending:
 * decoded bytes, or records not yet decoded) is announced by no socket
 * event: pending() tells transport.c, which keeps such connections on
 * srv->buffered.
 *
 * There is no writev over TLS: the run of queued lines is copied into
 * records of up to TLS_RECORD bytes, so a broadcast of many short lines
 * costs one record and one write() instead of one per line, and the
 * shared broadcast buffers stay shared until that copy.
 *
 * The context is built from the [tls] keys at startup, by chatd -t, and
 * again on each SIGHUP; a context that cannot be built leaves the running
 * one in place.  Connections hold a reference to the context they were
 * made from, so replacing it never touches them.
 */

#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "chatd.h"

#define TLS_RECORD	16384	/* bytes of plaintext in a full record */

/* Describe OpenSSL's last error (and empty its queue) after what. */
static void
tls_reason(char *why, size_t len, const char *what)
{
	unsigned long	 e, last = 0;
	const char	*reason;

	while ((e = ERR_get_error()) != 0)
		last = e;	/* the last is the one nearest the cause */
	if (last == 0) {
		snprintf(why, len, "%s", what);
		return;
	}
	reason = ERR_reason_error_string(last);
	if (reason != NULL)
		snprintf(why, len, "%s (%s)", what, reason);
	else
		snprintf(why, len, "%s (error %#lx)", what, last);
}

/*
 * Why a file cannot be used, as "path: reason": a system error if it
 * cannot be opened, else OpenSSL's.
 */
static void
tls_file_error(char *err, size_t len, const char *path, const char *what)
{
	char	 why[256];
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL) {
		ERR_clear_error();
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return;
	}
	fclose(f);
	tls_reason(why, sizeof why, what);
	snprintf(err, len, "%s: %s", path, why);
}

/* The protocol version a min_version value names. */
static int
tls_version(const char *s)
{
	if (strcmp(s, "1.2") == 0)
		return (TLS1_2_VERSION);
	if (strcmp(s, "1.3") == 0)
		return (TLS1_3_VERSION);
	return (0);
}

/*
 * Build a server context from the [tls] keys of cfg.  Returns it, or
 * NULL with "file: reason" or "[tls] key: reason" in err.
 */
static SSL_CTX *
tls_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX			*ctx;
	STACK_OF(X509_NAME)	*names;
	char			 why[256];

	ERR_clear_error();
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
		snprintf(err, errlen, "[tls] %s is not set",
		    cfg->tls_cert == NULL ? "cert" : "key");
		return (NULL);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_reason(why, sizeof why, "cannot make a context");
		snprintf(err, errlen, "TLS: %s", why);
		return (NULL);
	}
	/*
	 * Renegotiation is a way to make the server work and gains a chat
	 * nothing; compression leaks secrets (CRIME).  Released buffers let
	 * an idle connection hold no 16 KiB record buffers; partial writes
	 * and a moving buffer let a write resume from the queue as it is.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Resumption by tickets only: a server-side cache would keep a
	 * session per connection in memory. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 1);
	if (!SSL_CTX_set_min_proto_version(ctx,
	    tls_version(cfg->tls_min_version))) {
		snprintf(err, errlen, "[tls] min_version: '%s' is not 1.2 or "
		    "1.3", cfg->tls_min_version);
		goto fail;
	}
	if (!SSL_CTX_set_cipher_list(ctx, cfg->tls_ciphers)) {
		tls_reason(why, sizeof why, "no cipher of the list is known");
		snprintf(err, errlen, "[tls] ciphers '%s': %s",
		    cfg->tls_ciphers, why);
		goto fail;
	}
	if (!SSL_CTX_set_ciphersuites(ctx, cfg->tls_ciphersuites)) {
		tls_reason(why, sizeof why, "not a list of TLS 1.3 suites");
		snprintf(err, errlen, "[tls] ciphersuites '%s': %s",
		    cfg->tls_ciphersuites, why);
		goto fail;
	}
	if (!SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert)) {
		tls_file_error(err, errlen, cfg->tls_cert,
		    "not a PEM certificate (chain)");
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM)) {
		/* OpenSSL checks the pair as it loads the key. */
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH)
			goto mismatch;
		tls_file_error(err, errlen, cfg->tls_key,
		    "not a PEM private key");
		goto fail;
	}
	if (!SSL_CTX_check_private_key(ctx)) {
mismatch:
		tls_reason(why, sizeof why, "does not match the certificate");
		snprintf(err, errlen, "%s: %s %s", cfg->tls_key, why,
		    cfg->tls_cert);
		goto fail;
	}
	if (cfg->tls_client_ca != NULL) {
		if (!SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca,
		    NULL) || (names = SSL_load_client_CA_file(
		    cfg->tls_client_ca)) == NULL) {
			tls_file_error(err, errlen, cfg->tls_client_ca,
			    "not a PEM certificate (client_ca)");
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return (ctx);

fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return (NULL);
}

/* Whether cfg asks for TLS at all: a certificate, a port, or wss://. */
static int
tls_wanted(const struct config *cfg)
{
	return (cfg->tls_port != -1 || cfg->tls_cert != NULL || cfg->ws_tls);
}

/*
 * chatd -t: build the context cfg describes and drop it.  Returns 0, or
 * -1 with the reason in err.
 */
int
tls_check(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if (!tls_wanted(cfg))
		return (0);
	if ((ctx = tls_ctx_new(cfg, err, errlen)) == NULL)
		return (-1);
	SSL_CTX_free(ctx);
	return (0);
}

/* Startup: the context of the [tls] listener.  0, or -1 with err. */
int
tls_open(struct server *srv, char *err, size_t errlen)
{
	if (!tls_wanted(&srv->cfg))
		return (0);
	if ((srv->tls = tls_ctx_new(&srv->cfg, err, errlen)) == NULL)
		return (-1);
	return (0);
}

/*
 * SIGHUP, with the configuration about to be applied: a context from its
 * [tls] keys replaces the running one (a renewed certificate under the
 * same file name included).  If it cannot be built, the running one
 * stays: returns -1 with the reason in err.
 */
int
tls_reload(struct server *srv, const struct config *cfg, char *err,
    size_t errlen)
{
	SSL_CTX	*ctx;

	if (srv->tls == NULL)
		return (0);	/* no listener to serve: [tls] port is not live */
	if ((ctx = tls_ctx_new(cfg, err, errlen)) == NULL)
		return (-1);
	SSL_CTX_free(srv->tls);	/* its connections keep a reference */
	srv->tls = ctx;
	return (0);
}

/* Free the context. */
void
tls_close(struct server *srv)
{
	SSL_CTX_free(srv->tls);
	srv->tls = NULL;
}

/* The context a new connection of the [tls] listener is made from. */
void *
tls_context(struct server *srv)
{
	return (srv->tls);
}

/* Set up the SSL object of an accepted socket. */
static int
tls_conn_open(struct conn *conn, void *ctx)
{
	SSL	*ssl;

	if (ctx == NULL) {
		errno = ENOPROTOOPT;	/* a socket from systemd, no [tls] */
		return (-1);
	}
	ERR_clear_error();
	if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, conn->fd)) {
		SSL_free(ssl);
		ERR_clear_error();
		errno = ENOMEM;
		return (-1);
	}
	SSL_set_accept_state(ssl);
	conn->state = ssl;
	return (0);
}

/*
 * Map the result r of an SSL call that did not succeed: the socket event
 * it waits for goes to conn->blocked with EAGAIN; a closed or failed
 * connection gets its errno and a reason in why (if why is not NULL).
 * Returns 0 for "wait", -1 for "failed", 1 for "the peer closed".
 */
static int
tls_result(struct conn *conn, int r, char *why, size_t len)
{
	int	 e = SSL_get_error(conn->state, r), saved = errno;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		ERR_clear_error();
		conn->blocked = EV_READ;
		errno = EAGAIN;
		return (0);
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		conn->blocked = EV_WRITE;
		errno = EAGAIN;
		return (0);
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		if (why != NULL)
			snprintf(why, len, "the peer closed the connection");
		return (1);
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			/* A socket error, or an EOF without close_notify. */
			if (why != NULL)
				snprintf(why, len, "%s", saved != 0 ?
				    strerror(saved) :
				    "the peer closed the connection");
			errno = saved != 0 ? saved : ECONNRESET;
			return (saved != 0 ? -1 : 1);
		}
		/* FALLTHROUGH */
	default:
		if (why != NULL)
			tls_reason(why, len, "TLS error");
		else
			ERR_clear_error();
		errno = EPROTO;
		return (-1);
	}
}

/*
 * What a handshake failed of, for chatd_tls_handshake_failures_total: one
 * of a few words (metrics.c lists them), from OpenSSL's reason code e (0:
 * no TLS error, the peer went), so that no label ever holds an address or
 * a string the peer chose.
 */
static const char *
tls_failure(unsigned long e)
{
	if (e == 0)
		return ("closed");
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return ("protocol");
	switch (ERR_GET_REASON(e)) {
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return ("closed");
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
		return ("version");
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_SHARED_GROUPS:
	case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
	case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
		return ("cipher");
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		return ("certificate");
	}
	return ("protocol");
}

/* One step of the handshake: 1 done, 0 not yet, -1 failed (why). */
static int
tls_conn_handshake(struct conn *conn, char *why, size_t len)
{
	unsigned long	e;
	int		r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(conn->state)) == 1) {
		metric_inc(METRIC_TLS_HANDSHAKES);
		return (1);
	}
	e = ERR_peek_last_error();	/* tls_result() empties the queue */
	switch (tls_result(conn, r, why, len)) {
	case 0:
		return (0);
	case 1:
		snprintf(why, len, "the peer closed the connection");
		break;
	}
	metric_label_inc(METRIC_TLS_FAILURES, tls_failure(e));
	return (-1);
}

/* The handshake was not done within [tls] handshake_timeout. */
static void
tls_conn_expired(__unused struct conn *conn)
{
	metric_label_inc(METRIC_TLS_FAILURES, "timeout");
}

/*
 * Read decrypted input: > 0 bytes, 0 at the peer's end, -1 with errno.
 * SSL_read() hands over one record at a time, and a client sends a record
 * per line: the records already received are read in one call, as read()
 * takes all a socket holds, so that a burst of lines is handled in one
 * turn of the loop (and answered in one flush) as over plain TCP.  What
 * ends the run after some bytes is met again by the next call.
 */
static ssize_t
tls_conn_read(struct conn *conn, char *buf, size_t len)
{
	size_t	total = 0;
	int	r;

	while (total < len) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read(conn->state, buf + total, len - total > INT_MAX ?
		    INT_MAX : (int)(len - total));
		if (r > 0) {
			total += (size_t)r;
			continue;
		}
		if (total > 0) {
			ERR_clear_error();
			break;
		}
		/* An EOF without close_notify is an end as good as any: a
		 * chat line carries no length a truncation could falsify. */
		return (tls_result(conn, r, NULL, 0) == 1 ? 0 : -1);
	}
	return ((ssize_t)total);
}

/*
 * Write a run of buffers as records.  A record gathers up to TLS_RECORD
 * bytes from the front of iov (one buffer that long goes as it is).  An
 * SSL_write that must wait keeps its record inside OpenSSL, and is called
 * again with the same bytes in front, which the caller's contract assures
 * (and SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows from another copy).
 */
static ssize_t
tls_conn_writev(struct conn *conn, const struct iovec *iov, int n)
{
	char		 rec[TLS_RECORD];
	const char	*p;
	size_t		 off = 0, total = 0, len, take, o;
	int		 i = 0, j, w;

	while (i < n) {
		if (iov[i].iov_len == off) {
			i++;
			off = 0;
			continue;
		}
		len = iov[i].iov_len - off;
		if (len >= TLS_RECORD || i == n - 1) {
			p = (const char *)iov[i].iov_base + off;
			if (len > TLS_RECORD)
				len = TLS_RECORD;
		} else {
			len = 0;
			for (j = i, o = off; j < n && len < TLS_RECORD;
			    j++, o = 0) {
				take = iov[j].iov_len - o;
				if (take > TLS_RECORD - len)
					take = TLS_RECORD - len;
				memcpy(rec + len, (const char *)iov[j].iov_base +
				    o, take);
				len += take;
			}
			p = rec;
		}
		ERR_clear_error();
		errno = 0;
		if ((w = SSL_write(conn->state, p, (int)len)) <= 0) {
			if (tls_result(conn, w, NULL, 0) == 0 && total > 0)
				return ((ssize_t)total);	/* no more now */
			if (errno == 0)
				errno = EPIPE;
			return (-1);
		}
		total += (size_t)w;
		for (take = (size_t)w; take > 0; ) {	/* step over it */
			if (take < iov[i].iov_len - off) {
				off += take;
				break;
			}
			take -= iov[i].iov_len - off;
			off = 0;
			i++;
		}
	}
	return ((ssize_t)total);
}

/* Whether input waits inside OpenSSL, decrypted or not yet. */
static int
tls_conn_pending(struct conn *conn)
{
	return (SSL_has_pending(conn->state));
}

/* Send close_notify, then FIN: 1 done, 0 not yet, -1 failed. */
static int
tls_conn_shutdown(struct conn *conn)
{
	int	r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_shutdown(conn->state)) < 0) {
		switch (tls_result(conn, r, NULL, 0)) {
		case 0:
			return (0);
		case -1:
			return (-1);
		}
	}
	return (shutdown(conn->fd, SHUT_WR) == 0 || errno == ENOTCONN ? 1 :
	    -1);
}

/* Free the SSL object and close the socket. */
static void
tls_conn_close(struct conn *conn)
{
	SSL_free(conn->state);
	conn->state = NULL;
	if (conn->fd != -1)
		close(conn->fd);
}

const struct transport transport_tls = {
	.name = "tls",
	.open = tls_conn_open,
	.handshake = tls_conn_handshake,
	.expired = tls_conn_expired,
	.read = tls_conn_read,
	.writev = tls_conn_writev,
	.pending = tls_conn_pending,
	.shutdown = tls_conn_shutdown,
	.close = tls_conn_close,
};
