/* tdt_kwire: Kafka's three ACL requests (DescribeAcls, CreateAcls,
 * DeleteAcls, version 1) over one connection of its own, for
 * `tuodictl acls`.
 *
 * Why not librdkafka's admin API: librdkafka 2.0.2 (Debian 12) has no
 * transactional-id resource type (librdkafka#4838, added in 2.6.0): its
 * rd_kafka_AclBinding_new refuses type 5, and DescribeAcls reports such
 * ACLs as "unknown". tuodi's connectors and tuodi-matchd need ACLs on their
 * transactional ids, so the policy tool speaks these requests itself. When
 * tuodi builds on librdkafka >= 2.6, replace this file by
 * rd_kafka_DescribeAcls/CreateAcls/DeleteAcls.
 *
 * What it speaks: PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL, with SASL
 * PLAIN (the mechanism tuodi's programs use with librdkafka 2.0.2, see
 * docs/security.md), TLS 1.2 or later verified against ssl.ca.location and,
 * unless ssl.endpoint.identification.algorithm is none, against the broker's
 * host name or address; a client certificate when ssl.certificate.location
 * and ssl.key.location are set. Requests use the non-flexible versions
 * (header v1) that Kafka 4.x still accepts. Every answer is parsed with
 * bounds checks: a short or malformed answer is an error, never a read past
 * the buffer. Blocking I/O with SO_RCVTIMEO/SO_SNDTIMEO as the deadline. */
#include "tdt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum {
    TDT_API_SASL_HANDSHAKE = 17,
    TDT_API_DESCRIBE_ACLS = 29,
    TDT_API_CREATE_ACLS = 30,
    TDT_API_DELETE_ACLS = 31,
    TDT_API_SASL_AUTHENTICATE = 36,
};

#define TDT_KWIRE_MAX_ANSWER (64u * 1024u * 1024u)

struct tdt_kwire {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int32_t corr;
    char peer[300]; /* "host:port" */
    char user[256]; /* SASL user, or "" */
};

/* ---- buffers ---- */

typedef struct tdt_buf {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} tdt_buf;

static void tdt_buf_put(tdt_buf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void tdt_buf_i8(tdt_buf *b, int8_t v)
{
    tdt_buf_put(b, &v, 1);
}

static void tdt_buf_i16(tdt_buf *b, int16_t v)
{
    unsigned char d[2] = {(unsigned char)((uint16_t)v >> 8), (unsigned char)v};
    tdt_buf_put(b, d, 2);
}

static void tdt_buf_i32(tdt_buf *b, int32_t v)
{
    uint32_t u = (uint32_t)v;
    unsigned char d[4] = {(unsigned char)(u >> 24), (unsigned char)(u >> 16),
                          (unsigned char)(u >> 8), (unsigned char)u};
    tdt_buf_put(b, d, 4);
}

/* A STRING, or a NULLABLE_STRING when s is NULL (length -1). */
static void tdt_buf_str(tdt_buf *b, const char *s)
{
    if (!s) {
        tdt_buf_i16(b, -1);
        return;
    }
    size_t n = strlen(s);
    if (n > INT16_MAX) {
        b->oom = true;
        return;
    }
    tdt_buf_i16(b, (int16_t)n);
    tdt_buf_put(b, s, n);
}

/* An array of bindings as CreateAcls v1 writes its creations and
 * DeleteAcls v1 its filters (the same seven fields, in the same order). */
static void tdt_buf_acls(tdt_buf *b, const tdt_acl *a, size_t n)
{
    tdt_buf_i32(b, (int32_t)n);
    for (size_t i = 0; i < n; i++) {
        tdt_buf_i8(b, a[i].restype);
        tdt_buf_str(b, a[i].name);
        tdt_buf_i8(b, a[i].pattern);
        tdt_buf_str(b, a[i].principal);
        tdt_buf_str(b, a[i].host);
        tdt_buf_i8(b, a[i].op);
        tdt_buf_i8(b, a[i].perm);
    }
}

/* Reading an answer: every get fails (and stays failed) past the end. */
typedef struct tdt_rd {
    const unsigned char *p;
    size_t len, off;
    bool bad;
} tdt_rd;

static bool tdt_rd_need(tdt_rd *r, size_t n)
{
    if (r->bad || r->len - r->off < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static int8_t tdt_rd_i8(tdt_rd *r)
{
    if (!tdt_rd_need(r, 1))
        return 0;
    return (int8_t)r->p[r->off++];
}

static int16_t tdt_rd_i16(tdt_rd *r)
{
    if (!tdt_rd_need(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
    r->off += 2;
    return (int16_t)v;
}

static int32_t tdt_rd_i32(tdt_rd *r)
{
    if (!tdt_rd_need(r, 4))
        return 0;
    uint32_t v = ((uint32_t)r->p[r->off] << 24) | ((uint32_t)r->p[r->off + 1] << 16) |
                 ((uint32_t)r->p[r->off + 2] << 8) | (uint32_t)r->p[r->off + 3];
    r->off += 4;
    return (int32_t)v;
}

/* A (nullable) string into a malloc'd copy; *out NULL for a null string.
 * false on a short answer or ENOMEM (r->bad set either way). */
static bool tdt_rd_str(tdt_rd *r, char **out)
{
    int16_t n = tdt_rd_i16(r);
    *out = NULL;
    if (r->bad)
        return false;
    if (n < 0)
        return true;
    if (!tdt_rd_need(r, (size_t)n))
        return false;
    *out = malloc((size_t)n + 1);
    if (!*out) {
        r->bad = true;
        return false;
    }
    memcpy(*out, r->p + r->off, (size_t)n);
    (*out)[n] = 0;
    r->off += (size_t)n;
    return true;
}

static void tdt_rd_skip_str(tdt_rd *r)
{
    int16_t n = tdt_rd_i16(r);
    if (!r->bad && n > 0 && tdt_rd_need(r, (size_t)n))
        r->off += (size_t)n;
}

/* An array count: -1 (null) reads as 0; more elements than bytes left is
 * malformed. */
static int32_t tdt_rd_count(tdt_rd *r)
{
    int32_t n = tdt_rd_i32(r);
    if (r->bad)
        return 0;
    if (n < 0)
        return 0;
    if ((size_t)n > r->len - r->off) {
        r->bad = true;
        return 0;
    }
    return n;
}

/* ---- I/O ---- */

static const char *tdt_ssl_errstr(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    if (!e)
        snprintf(buf, size, "connection closed");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

static int tdt_kwire_write(tdt_kwire *w, const unsigned char *p, size_t n, td_error *err)
{
    while (n > 0) {
        ssize_t k;
        if (w->ssl) {
            int m = SSL_write(w->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            if (m <= 0) {
                char e[256];
                return td_error_set(err, -EIO, "kafka: %s: TLS write: %s", w->peer,
                                    tdt_ssl_errstr(e, sizeof(e)));
            }
            k = m;
        } else {
            k = write(w->fd, p, n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return td_error_set(err, -EIO, "kafka: %s: write: %s", w->peer,
                                    k < 0 ? strerror(errno) : "closed");
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int tdt_kwire_read(tdt_kwire *w, unsigned char *p, size_t n, td_error *err)
{
    while (n > 0) {
        ssize_t k;
        if (w->ssl) {
            int m = SSL_read(w->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
            if (m <= 0) {
                char e[256];
                int code = SSL_get_error(w->ssl, m);
                if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ||
                    (code == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)))
                    return td_error_set(err, -ETIMEDOUT, "kafka: %s: no answer in time",
                                        w->peer);
                return td_error_set(err, -EIO, "kafka: %s: TLS read: %s", w->peer,
                                    tdt_ssl_errstr(e, sizeof(e)));
            }
            k = m;
        } else {
            k = read(w->fd, p, n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return td_error_set(err, -ETIMEDOUT, "kafka: %s: no answer in time", w->peer);
            if (k <= 0)
                return td_error_set(err, -EIO, "kafka: %s: the broker closed the connection%s",
                                    w->peer, k < 0 ? strerror(errno) : "");
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Sends body (the request after its header) as api/version and reads the
 * answer after its correlation id into *ans (malloc'd, *nans bytes). */
static int tdt_kwire_call(tdt_kwire *w, int16_t api, int16_t version, const tdt_buf *body,
                          unsigned char **ans, size_t *nans, td_error *err)
{
    tdt_buf req = {0};
    unsigned char hdr[4];
    uint32_t len;
    int32_t corr = ++w->corr;
    int r;

    if (body->oom)
        return td_error_set(err, -ENOMEM, "out of memory");
    tdt_buf_i32(&req, 0); /* the size, below */
    tdt_buf_i16(&req, api);
    tdt_buf_i16(&req, version);
    tdt_buf_i32(&req, corr);
    tdt_buf_str(&req, "tuodictl");
    tdt_buf_put(&req, body->p, body->len);
    if (req.oom) {
        free(req.p);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    len = (uint32_t)(req.len - 4);
    req.p[0] = (unsigned char)(len >> 24);
    req.p[1] = (unsigned char)(len >> 16);
    req.p[2] = (unsigned char)(len >> 8);
    req.p[3] = (unsigned char)len;
    r = tdt_kwire_write(w, req.p, req.len, err);
    free(req.p);
    if (r < 0)
        return r;
    if ((r = tdt_kwire_read(w, hdr, 4, err)) < 0)
        return r;
    len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
    if (len < 4 || len > TDT_KWIRE_MAX_ANSWER)
        return td_error_set(err, -EPROTO, "kafka: %s: an answer of %u bytes: not Kafka's "
                            "protocol (a TLS or SASL listener answered in another way?)",
                            w->peer, len);
    unsigned char *p = malloc(len);
    if (!p)
        return td_error_set(err, -ENOMEM, "out of memory");
    if ((r = tdt_kwire_read(w, p, len, err)) < 0) {
        free(p);
        return r;
    }
    uint32_t got = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    if ((int32_t)got != corr) {
        free(p);
        return td_error_set(err, -EPROTO, "kafka: %s: answer to request %d, expected %d",
                            w->peer, (int32_t)got, corr);
    }
    memmove(p, p + 4, len - 4);
    *ans = p;
    *nans = len - 4;
    return 0;
}

/* ---- connecting ---- */

static const char *tdt_prop(const td_kafka_props *props, const char *key)
{
    const td_kafka_prop *p = td_kafka_props_find(props, key);
    return p ? p->value : NULL;
}

/* "host:port" or "[v6]:port" (with an optional "proto://") into host and
 * port. */
static int tdt_split_hostport(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
    const char *p = strstr(s, "://");
    const char *colon;
    size_t hl;
    if (p)
        s = p + 3;
    if (*s == '[') {
        const char *e = strchr(s, ']');
        if (!e || e[1] != ':')
            return -EINVAL;
        hl = (size_t)(e - s - 1);
        s++;
        colon = e + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -EINVAL;
        hl = (size_t)(colon - s);
    }
    if (!hl || hl >= hsize || !colon[1] || strlen(colon + 1) >= psize)
        return -EINVAL;
    memcpy(host, s, hl);
    host[hl] = 0;
    snprintf(port, psize, "%s", colon + 1);
    return 0;
}

static int tdt_tcp_connect(const char *host, const char *port, int timeout_ms, int *ret,
                           td_error *err)
{
    struct addrinfo hints = {0}, *res = NULL, *ai;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int fd = -1, e, last = 0;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    e = getaddrinfo(host, port, &hints, &res);
    if (e)
        return td_error_set(err, -EHOSTUNREACH, "kafka: %s:%s: %s", host, port, gai_strerror(e));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        last = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return td_error_set(err, -EHOSTUNREACH, "kafka: %s:%s: cannot connect: %s", host, port,
                            strerror(last ? last : ECONNREFUSED));
    *ret = fd;
    return 0;
}

static int tdt_tls_start(tdt_kwire *w, const td_kafka_props *props, const char *host,
                         td_error *err)
{
    const char *ca = tdt_prop(props, "ssl.ca.location");
    const char *cert = tdt_prop(props, "ssl.certificate.location");
    const char *key = tdt_prop(props, "ssl.key.location");
    const char *keypw = tdt_prop(props, "ssl.key.password");
    const char *ident = tdt_prop(props, "ssl.endpoint.identification.algorithm");
    char e[256];
    unsigned char probe[16];
    struct in6_addr a6;

    w->ctx = SSL_CTX_new(TLS_client_method());
    if (!w->ctx)
        return td_error_set(err, -ENOMEM, "TLS: %s", tdt_ssl_errstr(e, sizeof(e)));
    SSL_CTX_set_min_proto_version(w->ctx, TLS1_2_VERSION);
    if (ca ? SSL_CTX_load_verify_locations(w->ctx, ca, NULL) != 1
           : SSL_CTX_set_default_verify_paths(w->ctx) != 1)
        return td_error_set(err, -EINVAL, "kafka.ssl.ca.location %s: %s", ca ? ca : "(system)",
                            tdt_ssl_errstr(e, sizeof(e)));
    SSL_CTX_set_verify(w->ctx, SSL_VERIFY_PEER, NULL);
    if (keypw)
        SSL_CTX_set_default_passwd_cb_userdata(w->ctx, (void *)keypw);
    if (cert && SSL_CTX_use_certificate_chain_file(w->ctx, cert) != 1)
        return td_error_set(err, -EINVAL, "kafka.ssl.certificate.location %s: %s", cert,
                            tdt_ssl_errstr(e, sizeof(e)));
    if (key && SSL_CTX_use_PrivateKey_file(w->ctx, key, SSL_FILETYPE_PEM) != 1)
        return td_error_set(err, -EINVAL, "kafka.ssl.key.location %s: %s", key,
                            tdt_ssl_errstr(e, sizeof(e)));
    w->ssl = SSL_new(w->ctx);
    if (!w->ssl || SSL_set_fd(w->ssl, w->fd) != 1)
        return td_error_set(err, -ENOMEM, "TLS: %s", tdt_ssl_errstr(e, sizeof(e)));
    if (!ident || strcmp(ident, "none") != 0) {
        bool ip = inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
        if (ip)
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(w->ssl), host);
        else {
            SSL_set1_host(w->ssl, host);
            SSL_set_tlsext_host_name(w->ssl, host);
        }
    }
    if (SSL_connect(w->ssl) != 1) {
        long v = SSL_get_verify_result(w->ssl);
        if (v != X509_V_OK)
            return td_error_set(err, -EACCES, "kafka: the brokers' TLS certificate is not "
                                "trusted: %s: %s: check kafka.ssl.ca.location (the CA that "
                                "signed the brokers' certificates) and that bootstrap.servers "
                                "names the hosts in the certificates", w->peer,
                                X509_verify_cert_error_string(v));
        return td_error_set(err, -EIO, "kafka: %s: TLS handshake failed: %s", w->peer,
                            tdt_ssl_errstr(e, sizeof(e)));
    }
    return 0;
}

static int tdt_sasl_plain(tdt_kwire *w, const td_kafka_props *props, td_error *err)
{
    const char *mech = tdt_prop(props, "sasl.mechanisms");
    const char *user = tdt_prop(props, "sasl.username");
    const char *pw = tdt_prop(props, "sasl.password");
    tdt_buf b = {0};
    unsigned char *ans = NULL;
    size_t nans;
    tdt_rd rd;
    int16_t code;
    int r;

    if (!mech)
        mech = tdt_prop(props, "sasl.mechanism");
    if (mech && strcmp(mech, "PLAIN") != 0)
        return td_error_set(err, -EINVAL, "kafka.sasl.mechanisms %s: tuodictl acls speaks "
                            "SASL PLAIN (inside TLS) only, as tuodi's programs do with "
                            "librdkafka 2.0.2 (docs/security.md)", mech);
    if (!user || !pw)
        return td_error_set(err, -EINVAL, "kafka.sasl.username and kafka.sasl.password are "
                            "needed with security.protocol SASL_*");
    snprintf(w->user, sizeof(w->user), "%s", user);
    tdt_buf_str(&b, "PLAIN");
    r = tdt_kwire_call(w, TDT_API_SASL_HANDSHAKE, 1, &b, &ans, &nans, err);
    free(b.p);
    if (r < 0)
        return r;
    rd = (tdt_rd){ans, nans, 0, false};
    code = tdt_rd_i16(&rd);
    free(ans);
    if (rd.bad)
        return td_error_set(err, -EPROTO, "kafka: %s: short SaslHandshake answer", w->peer);
    if (code)
        return td_error_set(err, -EACCES, "kafka: %s: the broker does not offer SASL PLAIN "
                            "(%s): enable it on this listener (docs/security.md)", w->peer,
                            rd_kafka_err2name((rd_kafka_resp_err_t)code));
    /* SaslAuthenticate v1: auth_bytes = "\0user\0password" */
    memset(&b, 0, sizeof(b));
    size_t ul = strlen(user), pl = strlen(pw);
    tdt_buf_i32(&b, (int32_t)(ul + pl + 2));
    tdt_buf_i8(&b, 0);
    tdt_buf_put(&b, user, ul);
    tdt_buf_i8(&b, 0);
    tdt_buf_put(&b, pw, pl);
    r = tdt_kwire_call(w, TDT_API_SASL_AUTHENTICATE, 1, &b, &ans, &nans, err);
    if (b.p) {
        memset(b.p, 0, b.len); /* the password */
        free(b.p);
    }
    if (r < 0)
        return r;
    rd = (tdt_rd){ans, nans, 0, false};
    code = tdt_rd_i16(&rd);
    char *msg = NULL;
    tdt_rd_str(&rd, &msg);
    free(ans);
    if (rd.bad) {
        free(msg);
        return td_error_set(err, -EPROTO, "kafka: %s: short SaslAuthenticate answer", w->peer);
    }
    if (code) {
        r = td_error_set(err, -EACCES, "kafka: authentication failed for user \"%s\" "
                         "(kafka.sasl.username): %s: %s: check kafka.sasl.username and "
                         "kafka.sasl.password", user, w->peer, msg ? msg :
                         rd_kafka_err2name((rd_kafka_resp_err_t)code));
        free(msg);
        return r;
    }
    free(msg);
    return 0;
}

int tdt_kwire_open(const td_kafka_props *props, int timeout_ms, tdt_kwire **ret, td_error *err)
{
    const char *boot = tdt_prop(props, "bootstrap.servers");
    const char *proto = tdt_prop(props, "security.protocol");
    bool tls, sasl;
    char list[2048], *save = NULL, *tok;
    int r = -EINVAL;

    if (!boot || !*boot)
        return td_error_set(err, -EINVAL, "kafka.bootstrap.servers is not set");
    if (!proto)
        proto = "plaintext";
    if (!strcasecmp(proto, "plaintext"))
        tls = false, sasl = false;
    else if (!strcasecmp(proto, "ssl"))
        tls = true, sasl = false;
    else if (!strcasecmp(proto, "sasl_plaintext"))
        tls = false, sasl = true;
    else if (!strcasecmp(proto, "sasl_ssl"))
        tls = true, sasl = true;
    else
        return td_error_set(err, -EINVAL, "kafka.security.protocol %s: expected plaintext, "
                            "ssl, sasl_plaintext or sasl_ssl", proto);
    snprintf(list, sizeof(list), "%s", boot);
    td_error_clear(err);
    /* the first broker that answers: each try gets its own error, the last
     * one is reported */
    for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char host[256], port[32];
        tdt_kwire *w;
        if (tdt_split_hostport(tok, host, sizeof(host), port, sizeof(port)) < 0) {
            r = td_error_set(err, -EINVAL, "kafka.bootstrap.servers: %s: expected host:port",
                             tok);
            continue;
        }
        w = calloc(1, sizeof(*w));
        if (!w)
            return td_error_set(err, -ENOMEM, "out of memory");
        w->fd = -1;
        snprintf(w->peer, sizeof(w->peer), "%s:%s", host, port);
        r = tdt_tcp_connect(host, port, timeout_ms, &w->fd, err);
        if (r == 0 && tls)
            r = tdt_tls_start(w, props, host, err);
        if (r == 0 && sasl)
            r = tdt_sasl_plain(w, props, err);
        if (r == 0) {
            *ret = w;
            return 0;
        }
        tdt_kwire_close(w);
        /* a refusal is the same on every broker: do not try the others */
        if (r == -EACCES || r == -EINVAL)
            return r;
    }
    return r;
}

void tdt_kwire_close(tdt_kwire *w)
{
    if (!w)
        return;
    if (w->ssl) {
        SSL_shutdown(w->ssl);
        SSL_free(w->ssl);
    }
    if (w->ctx)
        SSL_CTX_free(w->ctx);
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}

const char *tdt_kwire_user(const tdt_kwire *w)
{
    return w->user;
}

/* ---- ACLs ---- */

void tdt_acls_free(tdt_acl *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].name);
        free(a[i].principal);
        free(a[i].host);
    }
    free(a);
}

static int tdt_kwire_refused(tdt_kwire *w, int16_t code, const char *msg, const char *what,
                             td_error *err)
{
    const char *name = rd_kafka_err2name((rd_kafka_resp_err_t)code);
    if (code == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED)
        return td_error_set(err, -EACCES, "kafka: not authorised: user \"%s\" may not %s "
                            "(%s): only the admin may (a super user, or Describe and Alter on the cluster)",
                            w->user, what, name);
    if (code == RD_KAFKA_RESP_ERR_SECURITY_DISABLED)
        return td_error_set(err, -ENOTSUP, "kafka: %s: %s: the brokers have no authorizer "
                            "(authorizer.class.name): ACLs are not used there", w->peer, name);
    return td_error_set(err, -EIO, "kafka: %s: %s: %s%s%s", w->peer, what, name,
                        msg ? ": " : "", msg ? msg : "");
}

int tdt_kwire_describe_acls(tdt_kwire *w, tdt_acl **ret, size_t *ret_n, td_error *err)
{
    tdt_buf b = {0};
    unsigned char *ans = NULL;
    size_t nans, n = 0, cap = 0;
    tdt_acl *v = NULL;
    tdt_rd rd;
    int16_t code;
    char *msg = NULL;
    int r;

    tdt_buf_i8(&b, 1);       /* resource type: any */
    tdt_buf_str(&b, NULL);   /* name: any */
    tdt_buf_i8(&b, 1);       /* pattern: any */
    tdt_buf_str(&b, NULL);   /* principal: any */
    tdt_buf_str(&b, NULL);   /* host: any */
    tdt_buf_i8(&b, 1);       /* operation: any */
    tdt_buf_i8(&b, 1);       /* permission: any */
    r = tdt_kwire_call(w, TDT_API_DESCRIBE_ACLS, 1, &b, &ans, &nans, err);
    free(b.p);
    if (r < 0)
        return r;
    rd = (tdt_rd){ans, nans, 0, false};
    tdt_rd_i32(&rd); /* throttle */
    code = tdt_rd_i16(&rd);
    tdt_rd_str(&rd, &msg);
    if (!rd.bad && code) {
        r = tdt_kwire_refused(w, code, msg, "Describe the cluster's ACLs", err);
        goto out;
    }
    for (int32_t nres = tdt_rd_count(&rd), i = 0; !rd.bad && i < nres; i++) {
        int8_t type = tdt_rd_i8(&rd);
        char *name = NULL;
        tdt_rd_str(&rd, &name);
        int8_t pattern = tdt_rd_i8(&rd);
        for (int32_t nacl = tdt_rd_count(&rd), j = 0; !rd.bad && j < nacl; j++) {
            tdt_acl a = {.restype = type, .pattern = pattern};
            tdt_rd_str(&rd, &a.principal);
            tdt_rd_str(&rd, &a.host);
            a.op = tdt_rd_i8(&rd);
            a.perm = tdt_rd_i8(&rd);
            a.name = name ? strdup(name) : NULL;
            if (rd.bad || !a.name || !a.principal || !a.host) {
                rd.bad = true;
                free(a.name);
                free(a.principal);
                free(a.host);
                break;
            }
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                tdt_acl *nv = realloc(v, nc * sizeof(*v));
                if (!nv) {
                    free(a.name);
                    free(a.principal);
                    free(a.host);
                    free(name);
                    r = td_error_set(err, -ENOMEM, "out of memory");
                    goto out;
                }
                v = nv;
                cap = nc;
            }
            v[n++] = a;
        }
        free(name);
    }
    if (rd.bad) {
        r = td_error_set(err, -EPROTO, "kafka: %s: malformed DescribeAcls answer", w->peer);
        goto out;
    }
    *ret = v;
    *ret_n = n;
    v = NULL;
    n = 0;
    r = 0;
out:
    tdt_acls_free(v, n);
    free(msg);
    free(ans);
    return r;
}

int tdt_kwire_create_acls(tdt_kwire *w, const tdt_acl *a, size_t n, td_error *err)
{
    tdt_buf b = {0};
    unsigned char *ans = NULL;
    size_t nans;
    tdt_rd rd;
    int r;

    if (n == 0)
        return 0;
    tdt_buf_acls(&b, a, n);
    r = tdt_kwire_call(w, TDT_API_CREATE_ACLS, 1, &b, &ans, &nans, err);
    free(b.p);
    if (r < 0)
        return r;
    rd = (tdt_rd){ans, nans, 0, false};
    tdt_rd_i32(&rd);
    int32_t nres = tdt_rd_count(&rd);
    if (!rd.bad && (size_t)nres != n)
        rd.bad = true;
    for (int32_t i = 0; !rd.bad && i < nres; i++) {
        int16_t code = tdt_rd_i16(&rd);
        char *msg = NULL;
        tdt_rd_str(&rd, &msg);
        if (!rd.bad && code && r == 0) {
            char what[600];
            snprintf(what, sizeof(what), "create the ACL %s %s %s %s", a[i].principal,
                     tdt_acl_op_name(a[i].op), tdt_acl_type_name(a[i].restype), a[i].name);
            r = tdt_kwire_refused(w, code, msg, what, err);
        }
        free(msg);
    }
    free(ans);
    if (rd.bad && r == 0)
        r = td_error_set(err, -EPROTO, "kafka: %s: malformed CreateAcls answer", w->peer);
    return r;
}

int tdt_kwire_delete_acls(tdt_kwire *w, const tdt_acl *a, size_t n, td_error *err)
{
    tdt_buf b = {0};
    unsigned char *ans = NULL;
    size_t nans;
    tdt_rd rd;
    int r;

    if (n == 0)
        return 0;
    tdt_buf_acls(&b, a, n); /* as exact filters: one binding each */
    r = tdt_kwire_call(w, TDT_API_DELETE_ACLS, 1, &b, &ans, &nans, err);
    free(b.p);
    if (r < 0)
        return r;
    rd = (tdt_rd){ans, nans, 0, false};
    tdt_rd_i32(&rd);
    int32_t nres = tdt_rd_count(&rd);
    if (!rd.bad && (size_t)nres != n)
        rd.bad = true;
    for (int32_t i = 0; !rd.bad && i < nres; i++) {
        int16_t code = tdt_rd_i16(&rd);
        char *msg = NULL;
        tdt_rd_str(&rd, &msg);
        if (!rd.bad && code && r == 0) {
            char what[600];
            snprintf(what, sizeof(what), "delete the ACL %s %s %s %s", a[i].principal,
                     tdt_acl_op_name(a[i].op), tdt_acl_type_name(a[i].restype), a[i].name);
            r = tdt_kwire_refused(w, code, msg, what, err);
        }
        free(msg);
        for (int32_t m = tdt_rd_count(&rd), j = 0; !rd.bad && j < m; j++) {
            int16_t c2 = tdt_rd_i16(&rd);
            char *m2 = NULL;
            tdt_rd_str(&rd, &m2);
            tdt_rd_i8(&rd);
            tdt_rd_skip_str(&rd);
            tdt_rd_i8(&rd);
            tdt_rd_skip_str(&rd);
            tdt_rd_skip_str(&rd);
            tdt_rd_i8(&rd);
            tdt_rd_i8(&rd);
            if (!rd.bad && c2 && r == 0)
                r = tdt_kwire_refused(w, c2, m2, "delete an ACL", err);
            free(m2);
        }
    }
    free(ans);
    if (rd.bad && r == 0)
        r = td_error_set(err, -EPROTO, "kafka: %s: malformed DeleteAcls answer", w->peer);
    return r;
}
