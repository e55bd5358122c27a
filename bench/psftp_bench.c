/*
 * psftp_bench: one benchmark operation through psftp's C API.
 *
 *   psftp_bench OP [options] ARGS...
 *
 *   OP: connect N            connect, authenticate and close N times
 *       get REMOTE LOCAL     psftp_get
 *       put LOCAL REMOTE     psftp_put (confirm=true)
 *       get_r REMOTE LOCAL   psftp_get_r
 *       put_r LOCAL REMOTE   psftp_put_r
 *       walktree REMOTE      psftp_walktree, counting entries
 *       version              psftp_version()
 *
 *   options: --host H --port P --user U --key FILE --known-hosts FILE
 *            --cipher NAME --parallelism N --max-request BYTES (0: the server's)
 *
 * Prints one JSON object on stdout:
 *   seconds       the session: connect + authenticate + operation + close
 *   op_seconds    the operation alone
 *   connect_seconds  list of each connect+auth+close (OP connect)
 *   entries       walktree: files + dirs + others seen
 *   maxrss_kib    peak resident set size of this process (VmHWM; getrusage
 *                 where /proc is missing)
 * Exits 1 with the psftp error on stderr if a call fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <psftp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *host = "127.0.0.1", *user = NULL, *key = NULL, *known_hosts = NULL,
                  *cipher = NULL;
static int port = 22, parallelism = 0; /* 0: the library's default */
static unsigned max_request = 0;      /* 0: what the server accepts */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Peak RSS of this process in KiB. getrusage(RUSAGE_SELF).ru_maxrss on
 * Linux keeps the high-water mark of the memory the process had before
 * execve (a forked harness's pages), so a small program started from a big
 * one reports the big one's size. VmHWM in /proc/self/status belongs to
 * the address space made by execve: it is used when it can be read. */
static long maxrss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kib = -1;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
                break;
        fclose(f);
        if (kib >= 0)
            return kib;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

static void die(const char *what, int rc) {
    fprintf(stderr, "psftp_bench: %s failed: %s (%s)\n", what, psftp_strerror(rc),
            psftp_last_error());
    exit(1);
}

static psftp_conn *open_conn(psftp_cnopts *opts) {
    psftp_conn *conn = NULL;
    char *err = NULL;
    int rc = psftp_connect(host, user, key, NULL, port, NULL, opts, NULL, &conn, &err);
    if (rc != PSFTP_OK) {
        fprintf(stderr, "psftp_bench: connect failed: %s (%s)\n", psftp_strerror(rc),
                err ? err : psftp_last_error());
        exit(1);
    }
    psftp_string_free(err);
    return conn;
}

struct walk_count {
    unsigned long files, dirs, others;
};

static int on_file(const char *path, const psftp_attrs *attrs, void *ud) {
    (void)path;
    (void)attrs;
    ((struct walk_count *)ud)->files++;
    return 0;
}
static int on_dir(const char *path, const psftp_attrs *attrs, void *ud) {
    (void)path;
    (void)attrs;
    ((struct walk_count *)ud)->dirs++;
    return 0;
}
static int on_other(const char *path, const psftp_attrs *attrs, void *ud) {
    (void)path;
    (void)attrs;
    ((struct walk_count *)ud)->others++;
    return 0;
}

static void check_failures(const char *what, int rc, psftp_failure_list *failures) {
    if (rc == PSFTP_OK && (!failures || failures->count == 0)) {
        psftp_failure_list_free(failures);
        return;
    }
    fprintf(stderr, "psftp_bench: %s failed: %s (%s)\n", what, psftp_strerror(rc),
            psftp_last_error());
    if (failures)
        for (size_t i = 0; i < failures->count && i < 10; i++)
            fprintf(stderr, "  %s: %s\n", failures->items[i]->path, failures->items[i]->message);
    exit(1);
}

static void usage(void) {
    fprintf(stderr, "usage: psftp_bench connect N | get R L | put L R | get_r R L | put_r L R | "
                    "walktree R  [--host H] --port P --user U --key K --known-hosts F "
                    "[--cipher C] [--parallelism N] [--max-request BYTES]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *pos[3] = {NULL, NULL, NULL};
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
            else if (!strcmp(a, "--parallelism"))
                parallelism = atoi(v);
            else if (!strcmp(a, "--max-request"))
                max_request = (unsigned)strtoul(v, NULL, 10);
            else
                usage();
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            usage();
        }
    }
    if (npos == 1 && !strcmp(pos[0], "version")) {
        printf("{\"psftp_version\":\"%s\"}\n", psftp_version());
        return 0;
    }
    if (npos < 2 || !user || !key || !known_hosts)
        usage();
    const char *op = pos[0];

    psftp_cnopts *opts = NULL;
    int rc = psftp_cnopts_new(known_hosts, &opts);
    if (rc != PSFTP_OK)
        die("psftp_cnopts_new", rc);
    if (cipher && (rc = psftp_cnopts_set_ciphers(opts, cipher)) != PSFTP_OK)
        die("psftp_cnopts_set_ciphers", rc);
    if (max_request && (rc = psftp_cnopts_set_max_request_size(opts, max_request)) != PSFTP_OK)
        die("psftp_cnopts_set_max_request_size", rc);

    if (!strcmp(op, "connect")) {
        int n = atoi(pos[1]);
        if (n < 1)
            usage();
        printf("{\"op\":\"connect\",\"connect_seconds\":[");
        double total = 0;
        for (int i = 0; i < n; i++) {
            double t0 = now();
            psftp_conn *c = open_conn(opts);
            char *cwd = NULL; /* one round trip on the SFTP channel, as sftp and pysftp do */
            if ((rc = psftp_pwd(c, &cwd)) != PSFTP_OK)
                die("psftp_pwd", rc);
            psftp_string_free(cwd);
            psftp_close(c);
            double dt = now() - t0;
            total += dt;
            printf("%s%.6f", i ? "," : "", dt);
        }
        printf("],\"seconds\":%.6f,\"maxrss_kib\":%ld}\n", total, maxrss_kib());
        psftp_cnopts_free(opts);
        return 0;
    }

    psftp_transfer_opts *topts = NULL;
    if ((rc = psftp_transfer_opts_new(&topts)) != PSFTP_OK)
        die("psftp_transfer_opts_new", rc);
    if (parallelism > 0 &&
        (rc = psftp_transfer_opts_set_parallelism(topts, parallelism)) != PSFTP_OK)
        die("psftp_transfer_opts_set_parallelism", rc);

    double t0 = now();
    psftp_conn *conn = open_conn(opts);
    double t1 = now();
    struct walk_count wc = {0, 0, 0};
    if (!strcmp(op, "get") && npos == 3) {
        rc = psftp_get(conn, pos[1], pos[2], NULL, NULL, false, topts);
        if (rc != PSFTP_OK)
            die("psftp_get", rc);
    } else if (!strcmp(op, "put") && npos == 3) {
        psftp_attrs attrs = {.struct_size = sizeof attrs};
        rc = psftp_put(conn, pos[1], pos[2], NULL, NULL, true, false, topts, &attrs);
        if (rc != PSFTP_OK)
            die("psftp_put", rc);
    } else if ((!strcmp(op, "get_r") || !strcmp(op, "put_r")) && npos == 3) {
        psftp_failure_list *failures = NULL;
        if (!strcmp(op, "get_r"))
            rc = psftp_get_r(conn, pos[1], pos[2], false, NULL, NULL, topts, &failures);
        else
            rc = psftp_put_r(conn, pos[1], pos[2], true, false, NULL, NULL, topts, &failures);
        check_failures(op, rc, failures);
    } else if (!strcmp(op, "walktree") && npos == 2) {
        rc = psftp_walktree(conn, pos[1], on_file, on_dir, on_other, true, &wc);
        if (rc != PSFTP_OK)
            die("psftp_walktree", rc);
    } else {
        usage();
    }
    double t2 = now();
    psftp_close(conn);
    double t3 = now();
    psftp_cnopts_free(opts);
    psftp_transfer_opts_free(topts);
    printf("{\"op\":\"%s\",\"seconds\":%.6f,\"op_seconds\":%.6f,\"connect_seconds\":[%.6f],"
           "\"entries\":%lu,\"files\":%lu,\"dirs\":%lu,\"maxrss_kib\":%ld,\"parallelism\":%d}\n",
           op, t3 - t0, t2 - t1, t1 - t0, wc.files + wc.dirs + wc.others, wc.files, wc.dirs,
           maxrss_kib(), parallelism);
    return 0;
}
