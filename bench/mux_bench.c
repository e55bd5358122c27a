/*
 * mux_bench: one connection shared by many calls (issue 18), through
 * psftp's C API.
 *
 *   mux_bench stat_busy BIG_REMOTE LOCAL STAT_REMOTE [options]
 *       One connection. A thread gets BIG_REMOTE to LOCAL while the main
 *       thread stats STAT_REMOTE every 20 ms on the same connection until
 *       the get ends. Also times stats on the idle connection first.
 *   mux_bench mixed REMOTE_DIR LOCAL_DIR [options] [--conns N]
 *       --threads T threads (default 8) on N connections (thread i uses
 *       connection i % N), each doing --rounds R rounds of: stat, listdir
 *       of REMOTE_DIR, get REMOTE_DIR/src (4 MiB), put LOCAL_DIR/src to
 *       REMOTE_DIR/out/tT-rR. LOCAL_DIR/src must equal REMOTE_DIR/src: each
 *       get is compared with it byte for byte.
 *
 *   options: --host H --port P --user U --key FILE --known-hosts FILE
 *            --cipher NAME --threads T --rounds R --conns N
 *
 * Prints one JSON object on stdout; exits 1 with the psftp error on stderr
 * if a call fails or bytes differ.
 */
#define _POSIX_C_SOURCE 200809L
#include <psftp.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *host = "127.0.0.1", *user = NULL, *key = NULL, *known_hosts = NULL,
                  *cipher = NULL;
static int port = 22, threads = 8, rounds = 4, nconns = 1;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "mux_bench: %s failed: %s (%s)\n", what, psftp_strerror(rc),
            psftp_last_error());
    exit(1);
}

static psftp_conn *open_conn(void) {
    psftp_cnopts *opts = NULL;
    int rc = psftp_cnopts_new(known_hosts, &opts);
    if (rc != PSFTP_OK)
        die("psftp_cnopts_new", rc);
    if (cipher && (rc = psftp_cnopts_set_ciphers(opts, cipher)) != PSFTP_OK)
        die("psftp_cnopts_set_ciphers", rc);
    psftp_conn *conn = NULL;
    char *err = NULL;
    rc = psftp_connect(host, user, key, NULL, port, NULL, opts, NULL, &conn, &err);
    if (rc != PSFTP_OK) {
        fprintf(stderr, "mux_bench: connect failed: %s (%s)\n", psftp_strerror(rc),
                err ? err : psftp_last_error());
        exit(1);
    }
    psftp_string_free(err);
    psftp_cnopts_free(opts);
    return conn;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(double *v, int n, double q) {
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)(q * (n - 1) + 0.5);
    return v[i];
}

static double stat_once(psftp_conn *conn, const char *path) {
    psftp_attrs a = {.struct_size = sizeof a};
    double t0 = now();
    int rc = psftp_stat(conn, path, &a);
    if (rc != PSFTP_OK)
        die("psftp_stat", rc);
    return now() - t0;
}

/* ------------------------------------------------------------ stat_busy */

struct busy {
    psftp_conn *conn;
    const char *remote, *local;
    atomic_int started, done;
    double seconds;
    unsigned long long bytes;
};

static int on_progress(uint64_t done, uint64_t total, void *ud) {
    (void)total;
    struct busy *b = ud;
    b->bytes = done;
    atomic_store(&b->started, 1);
    return 0;
}

static void *busy_get(void *arg) {
    struct busy *b = arg;
    double t0 = now();
    int rc = psftp_get(b->conn, b->remote, b->local, on_progress, b, false, NULL);
    if (rc != PSFTP_OK)
        die("psftp_get", rc);
    b->seconds = now() - t0;
    atomic_store(&b->done, 1);
    return NULL;
}

static void stat_busy(const char *big, const char *local, const char *probe) {
    psftp_conn *conn = open_conn();
    enum { IDLE = 20, MAXN = 100000 };
    double idle[IDLE];
    for (int i = 0; i < IDLE; i++)
        idle[i] = stat_once(conn, probe);
    struct busy b = {.conn = conn, .remote = big, .local = local};
    atomic_init(&b.started, 0);
    atomic_init(&b.done, 0);
    pthread_t t;
    pthread_create(&t, NULL, busy_get, &b);
    while (!atomic_load(&b.started))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    double *lat = malloc(sizeof(double) * MAXN);
    int n = 0;
    while (!atomic_load(&b.done) && n < MAXN) {
        /* Every stat that starts while the get runs counts (with one lock
         * per call, the first one waits for the whole get). */
        double l = stat_once(conn, probe);
        lat[n++] = l;
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    pthread_join(t, NULL);
    psftp_close(conn);
    double idle_p50 = quantile(idle, IDLE, 0.5);
    double p50 = quantile(lat, n, 0.5), p95 = quantile(lat, n, 0.95),
           max = n ? lat[n - 1] : 0;
    printf("{\"op\":\"stat_busy\",\"idle_stat_p50\":%.6f,\"busy_stats\":%d,"
           "\"busy_stat_p50\":%.6f,\"busy_stat_p95\":%.6f,\"busy_stat_max\":%.6f,"
           "\"get_seconds\":%.6f,\"get_bytes\":%llu}\n",
           idle_p50, n, p50, p95, max, b.seconds, b.bytes);
    free(lat);
}

/* ---------------------------------------------------------------- mixed */

struct worker {
    int index;
    psftp_conn *conn;
    const char *rdir, *ldir;
    const unsigned char *src;
    size_t src_len;
    unsigned long long bytes;
};

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void *mixed_worker(void *arg) {
    struct worker *w = arg;
    char remote_src[4096], local_dst[4096], local_src[4096], remote_dst[4096];
    snprintf(remote_src, sizeof remote_src, "%s/src", w->rdir);
    snprintf(local_src, sizeof local_src, "%s/src", w->ldir);
    for (int r = 0; r < rounds; r++) {
        stat_once(w->conn, remote_src);
        psftp_strarray *names = NULL;
        int rc = psftp_listdir(w->conn, w->rdir, &names);
        if (rc != PSFTP_OK)
            die("psftp_listdir", rc);
        psftp_strarray_free(names);
        snprintf(local_dst, sizeof local_dst, "%s/dl-t%d-r%d", w->ldir, w->index, r);
        if ((rc = psftp_get(w->conn, remote_src, local_dst, NULL, NULL, false, NULL)) != PSFTP_OK)
            die("psftp_get", rc);
        size_t n;
        unsigned char *got = read_file(local_dst, &n);
        if (n != w->src_len || memcmp(got, w->src, n) != 0) {
            fprintf(stderr, "mux_bench: %s differs from the source\n", local_dst);
            exit(1);
        }
        free(got);
        remove(local_dst);
        snprintf(remote_dst, sizeof remote_dst, "%s/out/t%d-r%d", w->rdir, w->index, r);
        psftp_attrs a = {.struct_size = sizeof a};
        if ((rc = psftp_put(w->conn, local_src, remote_dst, NULL, NULL, true, false, NULL,
                            &a)) != PSFTP_OK)
            die("psftp_put", rc);
        w->bytes += 2 * w->src_len;
    }
    return NULL;
}

static void mixed(const char *rdir, const char *ldir) {
    char local_src[4096];
    snprintf(local_src, sizeof local_src, "%s/src", ldir);
    size_t len;
    unsigned char *src = read_file(local_src, &len);
    psftp_conn **conns = calloc((size_t)nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++)
        conns[i] = open_conn();
    struct worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){.index = i, .conn = conns[i % nconns], .rdir = rdir,
                               .ldir = ldir, .src = src, .src_len = len};
        pthread_create(&t[i], NULL, mixed_worker, &w[i]);
    }
    unsigned long long bytes = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        bytes += w[i].bytes;
    }
    double dt = now() - t0;
    for (int i = 0; i < nconns; i++)
        psftp_close(conns[i]);
    printf("{\"op\":\"mixed\",\"threads\":%d,\"conns\":%d,\"rounds\":%d,\"seconds\":%.6f,"
           "\"bytes\":%llu,\"mb_per_s\":%.3f}\n",
           threads, nconns, rounds, dt, bytes, bytes / dt / 1e6);
    free(src);
    free(conns);
    free(w);
    free(t);
}

static void usage(void) {
    fprintf(stderr, "usage: mux_bench stat_busy BIG LOCAL PROBE | mixed RDIR LDIR  [--host H] "
                    "--port P --user U --key K --known-hosts F [--cipher C] [--threads T] "
                    "[--rounds R] [--conns N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *pos[4] = {NULL, NULL, NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) == 0) {
            if (i + 1 >= argc)
                usage();
            const char *v = argv[++i];
            if (!strcmp(a, "--host"))
                host = v;
            else if (!strcmp(a, "--port"))
                port = atoi(v);
            else if (!strcmp(a, "--user"))
                user = v;
            else if (!strcmp(a, "--key"))
                key = v;
            else if (!strcmp(a, "--known-hosts"))
                known_hosts = v;
            else if (!strcmp(a, "--cipher"))
                cipher = v;
            else if (!strcmp(a, "--threads"))
                threads = atoi(v);
            else if (!strcmp(a, "--rounds"))
                rounds = atoi(v);
            else if (!strcmp(a, "--conns"))
                nconns = atoi(v);
            else
                usage();
        } else if (npos < 4) {
            pos[npos++] = a;
        } else {
            usage();
        }
    }
    if (npos < 1 || !user || !key || !known_hosts || threads < 1 || rounds < 1 || nconns < 1)
        usage();
    if (!strcmp(pos[0], "stat_busy") && npos == 4)
        stat_busy(pos[1], pos[2], pos[3]);
    else if (!strcmp(pos[0], "mixed") && npos == 3)
        mixed(pos[1], pos[2]);
    else
        usage();
    return 0;
}
