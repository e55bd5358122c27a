/* An independent C consumer of an installed psftp: upload a file, download
 * it again and compare the bytes.
 *
 *   consumer_c HOST PORT USER KEY KNOWN_HOSTS LOCAL REMOTE
 *
 * puts LOCAL to REMOTE, gets REMOTE to LOCAL.back, exits 0 if both match. */
#include <psftp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "consumer_c: %s: %s\n", what, psftp_last_error());
    return 1;
}

static int same_files(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca = 0, cb = 0, same = fa != NULL && fb != NULL;
    while (same && ca != EOF) {
        ca = fgetc(fa);
        cb = fgetc(fb);
        same = ca == cb;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static int transfer(psftp_conn *conn, const char *local, const char *remote) {
    char back[4096];
    psftp_attrs attrs = {.struct_size = sizeof attrs};
    snprintf(back, sizeof back, "%s.back", local);
    if (psftp_put(conn, local, remote, NULL, NULL, true, false, NULL, &attrs) != PSFTP_OK)
        return fail("put");
    if (psftp_get(conn, remote, back, NULL, NULL, false, NULL) != PSFTP_OK)
        return fail("get");
    if (!same_files(local, back)) {
        fprintf(stderr, "consumer_c: %s differs from %s\n", back, local);
        return 1;
    }
    printf("consumer_c (psftp %s): put and got %llu bytes\n", psftp_version(),
           (unsigned long long)attrs.size);
    return 0;
}

int main(int argc, char **argv) {
    psftp_cnopts *opts = NULL;
    psftp_conn *conn = NULL;
    int rc;
    if (argc != 8) {
        fprintf(stderr, "usage: %s HOST PORT USER KEY KNOWN_HOSTS LOCAL REMOTE\n", argv[0]);
        return 2;
    }
    if (psftp_cnopts_new(argv[5], &opts) != PSFTP_OK)
        return fail("cnopts");
    rc = psftp_connect(argv[1], argv[3], argv[4], NULL, atoi(argv[2]), NULL, opts, NULL, &conn,
                       NULL);
    psftp_cnopts_free(opts);
    if (rc != PSFTP_OK)
        return fail("connect");
    rc = transfer(conn, argv[6], argv[7]);
    psftp_close(conn);
    return rc;
}
