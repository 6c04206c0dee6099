/* stream.h: one accepted connection with TLS inside it -- the bottom layer
 * of moat's network engine (net/h1_server.h is the protocol above it):
 * reads, writes, the handshake, close_notify, the linger, backpressure,
 * one timer.  Plain or TLS is a property of the listener; everything above
 * reads and writes plaintext.
 *
 * A stream is driven by its loop only (not thread-safe).  It tells its
 * owner (the protocol) what happened through struct net_stream_ops; the
 * owner answers with the calls below.  The owner's calls never free the
 * stream on the spot: net_stream_close and a failed write only start the
 * close, and ops->closed, from the loop, is the last call -- so a caller
 * in the middle of its work keeps a valid stream.
 *
 * States (enum net_stream_state):
 *
 *   NET_STREAM_HANDSHAKE  TLS streams: the handshake; ops->ready when done
 *                         (a failed one closes the stream).  A handshake
 *                         that served a handshake-only certificate
 *                         (tls_server.h: a tls-alpn-01 validation, RFC
 *                         8737) ends after it; the owner sees no ready.
 *   NET_STREAM_OPEN       plaintext flows both ways
 *   NET_STREAM_CLOSING    net_stream_end: the queued bytes are written, then
 *                         close_notify, then the sending side is shut down;
 *                         what the peer still sends is read and dropped for
 *                         NET_STREAM_LINGER_MS (so that the last response is
 *                         not lost to a reset), then the stream closes
 *   NET_STREAM_CLOSED     closing; ops->closed follows
 *
 * Transitions: HANDSHAKE -> OPEN (plain streams start OPEN) -> CLOSING;
 * any -> CLOSED.
 *
 * Input: plaintext lands in the stream's input buffer (net_stream_in),
 * which the owner consumes as it can; the buffer is allocated when bytes
 * arrive and given back by net_stream_in_release, so an idle connection
 * holds only its socket, its timer and the TLS session.  Reading stops
 * when the buffer is at its limit (net_stream_accept) or the owner
 * pauses it (net_stream_read).
 *
 * Output: net_stream_queue collects plaintext, net_stream_flush encrypts it
 * and writes it (at once when the socket takes it: most answers need no
 * write request).  A write that fails marks the stream dead: nothing more
 * is read or written, and it is closed from its timer in the next loop
 * turn. */
#ifndef MOAT_NET_STREAM_H
#define MOAT_NET_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct net_stream;
struct net_tls_ctx;
struct net_tls_conn;

#define NET_STREAM_LINGER_MS 2000

enum net_stream_state {
	NET_STREAM_HANDSHAKE,
	NET_STREAM_OPEN,
	NET_STREAM_CLOSING,
	NET_STREAM_CLOSED,
};

/* Scratch memory of one loop thread, shared by its streams: every read
 * lands in rbuf first (ciphertext, or plaintext before it is copied), and a
 * stream with no input buffer decrypts into pbuf. */
struct net_loop_buf {
	char rbuf[64 * 1024];
	char pbuf[16 * 1024];
};

/* Counters a server's streams add to (relaxed atomics; plaintext bytes). */
struct net_stream_stats {
	atomic_ullong bytes_in, bytes_out;
	atomic_ullong handshakes, handshakes_resumed, handshake_failures;
};

/* What happened, told to the owner.  Each is called from the loop, never
 * from inside the owner's own call into the stream, except data (from
 * net_stream_read(s, true), when records were already received). */
struct net_stream_ops {
	/* The TLS handshake is done (TLS streams only). */
	void (*ready)(void *owner);
	/* New plaintext is in the input buffer. */
	void (*data)(void *owner);
	/* The peer has stopped sending (FIN, or close_notify); reading has
	 * stopped.  The owner ends or closes the stream, now or later. */
	void (*eof)(void *owner);
	/* A queued write completed (net_stream_write_queue says what is
	 * left), also in CLOSING while more is queued: progress, for a send
	 * timeout the owner restarts. */
	void (*written)(void *owner);
	/* The deadline set with net_stream_timeout has passed -- in CLOSING,
	 * the linger's or the last write's: the owner closes the stream (it
	 * may say why first). */
	void (*timeout)(void *owner);
	/* The last call: the stream is freed when it returns. */
	void (*closed)(void *owner);
};

/* Accept a connection from listener onto a new stream in listener's loop:
 * TLS inside when tls is not NULL (a net_tls_conn of that context); buf is
 * the loop's scratch memory and stats (may be NULL) the server's counters,
 * both outliving the stream; at most in_limit bytes of input are held
 * (reading stops at the limit).  Nothing is read until net_stream_start.
 * NULL when the connection cannot be accepted or set up (then it is
 * closed). */
struct net_stream *net_stream_accept(uv_stream_t *listener, struct net_tls_ctx *tls,
				     struct net_loop_buf *buf, struct net_stream_stats *stats,
				     size_t in_limit, const struct net_stream_ops *ops,
				     void *owner);
/* Start reading.  -1 when the socket cannot be read (close it). */
int net_stream_start(struct net_stream *s);

/* The peer's address as text ("192.0.2.1", "2001:db8::1"; an IPv4-mapped
 * IPv6 address as IPv4), "unknown" when the system does not say.  Valid
 * as long as the stream. */
const char *net_stream_peer(const struct net_stream *s);
/* The TLS state (sni, version, resumed...), NULL for a plain stream.
 * Borrowed: valid as long as the stream. */
const struct net_tls_conn *net_stream_tls(const struct net_stream *s);
/* A write failed: nothing more goes through; the close is under way. */
bool net_stream_dead(const struct net_stream *s);

/* ---- input ---- */

/* The plaintext read and not consumed yet; *len = 0 (and maybe NULL) when
 * none.  Valid until the next call into the stream. */
char *net_stream_in(const struct net_stream *s, size_t *len);
/* The first n bytes of the input are used up. */
void net_stream_consume(struct net_stream *s, size_t n);
/* Give back the input buffer if it is empty (between requests). */
void net_stream_in_release(struct net_stream *s);
/* The input holds its limit. */
bool net_stream_in_full(const struct net_stream *s);
/* Read (on) or stop reading (off).  On also delivers records the TLS
 * engine already holds (ops->data, from inside this call). */
void net_stream_read(struct net_stream *s, bool on);

/* ---- output ---- */

/* Plaintext to send with the next flush (copied). */
void net_stream_queue(struct net_stream *s, const void *data, size_t len);
/* The queue itself, for a writer that builds in place (a response head:
 * no copy, one allocation); NULL once the stream is closed or failing,
 * when what is queued is dropped anyway.  Borrowed from s. */
struct moat_buf *net_stream_out(struct net_stream *s);
/* Encrypt what is queued and send it. */
void net_stream_flush(struct net_stream *s);
/* Bytes queued or handed to the socket and not yet written. */
size_t net_stream_write_queue(const struct net_stream *s);
/* Bytes handed to the socket and not yet written (0: it took all). */
size_t net_stream_unsent(const struct net_stream *s);

/* ---- time and the end ---- */

/* The stream's one deadline, ms from now; 0: none.  ops->timeout when it
 * passes.  Moving it later costs no timer operation (see stream.c). */
void net_stream_timeout(struct net_stream *s, int ms);
/* Send what is queued, then close_notify, shut down, linger, close (see
 * CLOSING).  Reading goes on (to linger) whatever net_stream_read said.
 * Until all is written the deadline is 5 linger times, unless the owner
 * sets another (a send timeout, restarted on ops->written). */
void net_stream_end(struct net_stream *s);
/* Close now (a peer that misbehaved, a timeout): ops->closed follows from
 * the loop. */
void net_stream_close(struct net_stream *s);

#endif
