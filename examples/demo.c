/*
 * psftp demo: connect with a key, checking the host key against a
 * known_hosts file, upload a file, list the directory, download the file
 * again and verify the bytes.
 *
 *   demo HOST PORT USER PRIVATE_KEY KNOWN_HOSTS
 *
 * `bash examples/demo.sh` builds psftp, starts a throwaway sshd on
 * 127.0.0.1 and runs this.
 */
#include <psftp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE (8 * 1024 * 1024 + 123)

static int fail(const char *what) {
    fprintf(stderr, "demo: %s failed: %s (%s)\n", what, psftp_last_error(),
            psftp_strerror(psftp_last_error_code()));
    return 1;
}

static int show_progress(uint64_t done, uint64_t total, void *user_data) {
    int *last = user_data;
    int pct = total ? (int)(done * 100 / total) : 100;
    if (pct / 25 != *last / 25) {
        printf("  ... %3d%% (%llu of %llu bytes)\n", pct, (unsigned long long)done,
               (unsigned long long)total);
        *last = pct;
    }
    return 0; /* non-zero would cancel */
}

static int write_sample(const char *path) {
    FILE *f = fopen(path, "wb");
    unsigned x = 12345;
    long i;
    if (!f)
        return -1;
    for (i = 0; i < SIZE; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 16) & 0xff, f);
    }
    return fclose(f);
}

static int same_bytes(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca = 0, cb = 0;
    if (!fa || !fb)
        return 0;
    while (ca == cb && ca != EOF) {
        ca = fgetc(fa);
        cb = fgetc(fb);
    }
    fclose(fa);
    fclose(fb);
    return ca == cb;
}

int main(int argc, char **argv) {
    psftp_cnopts *opts = NULL;
    psftp_conn *conn = NULL;
    psftp_hostkey *key = NULL;
    psftp_dirent_list *entries = NULL;
    psftp_attrs attrs = {.struct_size = sizeof attrs};
    char *pwd = NULL, *cipher_out = NULL, *cipher_in = NULL;
    int last = -1;
    size_t i;

    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT USER PRIVATE_KEY KNOWN_HOSTS\n", argv[0]);
        return 2;
    }
    printf("psftp %s\n", psftp_version());

    /* pysftp: cnopts = pysftp.CnOpts(knownhosts=...) */
    if (psftp_cnopts_new(argv[5], &opts) != PSFTP_OK)
        return fail("psftp_cnopts_new");
    /* pysftp: sftp = pysftp.Connection(host, username=..., private_key=..., port=...) */
    if (psftp_connect(argv[1], argv[3], argv[4], NULL, atoi(argv[2]), NULL, opts, NULL, &conn,
                      NULL) != PSFTP_OK)
        return fail("psftp_connect");
    psftp_cnopts_free(opts);

    psftp_remote_server_key(conn, &key);
    psftp_active_ciphers(conn, &cipher_out, &cipher_in);
    psftp_pwd(conn, &pwd);
    printf("connected to %s:%s as %s\n", argv[1], argv[2], argv[3]);
    printf("  host key %s %s (checked against %s)\n", key->key_type, key->fingerprint, argv[5]);
    printf("  cipher %s / %s, remote directory %s\n", cipher_out, cipher_in, pwd);
    psftp_hostkey_free(key);
    psftp_string_free(cipher_out);
    psftp_string_free(cipher_in);

    if (write_sample("psftp-demo.bin") != 0)
        return fprintf(stderr, "demo: cannot write psftp-demo.bin\n"), 1;
    printf("uploading psftp-demo.bin (%d bytes)\n", SIZE);
    /* pysftp: sftp.makedirs('psftp-demo'); sftp.put(local, remote, callback, confirm=True) */
    if (psftp_makedirs(conn, "psftp-demo", 0755) != PSFTP_OK)
        return fail("psftp_makedirs");
    if (psftp_put(conn, "psftp-demo.bin", "psftp-demo/sample.bin", show_progress, &last, true,
                  true, NULL, &attrs) != PSFTP_OK)
        return fail("psftp_put");
    printf("  remote size %llu, mode %u\n", (unsigned long long)attrs.size,
           psftp_st_mode_to_int(attrs.mode));

    /* pysftp: sftp.listdir_attr('psftp-demo') */
    if (psftp_listdir_attr(conn, "psftp-demo", &entries) != PSFTP_OK)
        return fail("psftp_listdir_attr");
    printf("listing %s/psftp-demo:\n", pwd);
    for (i = 0; i < entries->count; i++)
        printf("  %s\n", entries->entries[i]->longname);
    psftp_dirent_list_free(entries);

    printf("downloading it back to psftp-demo.back\n");
    last = -1;
    /* pysftp: sftp.get(remote, local, callback, preserve_mtime=True) */
    if (psftp_get(conn, "psftp-demo/sample.bin", "psftp-demo.back", show_progress, &last, true,
                  NULL) != PSFTP_OK)
        return fail("psftp_get");
    if (!same_bytes("psftp-demo.bin", "psftp-demo.back")) {
        fprintf(stderr, "demo: the downloaded bytes differ!\n");
        return 1;
    }
    printf("verified: %d bytes identical after the round trip\n", SIZE);

    psftp_remove(conn, "psftp-demo/sample.bin");
    psftp_rmdir(conn, "psftp-demo");
    psftp_string_free(pwd);
    psftp_close(conn);
    remove("psftp-demo.bin");
    remove("psftp-demo.back");
    printf("done\n");
    return 0;
}
