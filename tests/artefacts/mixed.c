/* One program with the static psftp, the system's libssh2 and another
 * Rust static library, each used for real (an installed psftp keeps
 * everything but psftp_* private, so none of them takes the others'
 * symbols):
 *  - psftp puts a file to the test server;
 *  - the system libssh2 (whose version must be the one its header names,
 *    not the libssh2 inside psftp) shakes hands with the same server,
 *    checks the host key against known_hosts, logs in with the password
 *    and reads the file back over its own SFTP session;
 *  - the other Rust library sums numbers and catches a panic of its own.
 *
 *   mixed LOCAL REMOTE     (PSFTP_TEST_* of a running fixture in the env)
 */
#include <psftp.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* From the other Rust static library (other_rust.rs). */
unsigned long long other_rust_sum(unsigned int n);
int other_rust_catches_panic(void);

static const char *env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "mixed: %s is not set\n", name);
        exit(2);
    }
    return v;
}

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "mixed: %s: %s\n", what, detail);
    return 1;
}

static long file_bytes(const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
        return -1;
    rewind(f);
    *out = malloc((size_t)n + 1);
    if (*out == NULL || fread(*out, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    return n;
}

static int psftp_upload(const char *local, const char *remote) {
    psftp_cnopts *opts = NULL;
    psftp_conn *conn = NULL;
    int rc;
    if (psftp_cnopts_new(env("PSFTP_TEST_KNOWN_HOSTS"), &opts) != PSFTP_OK)
        return fail("psftp_cnopts_new", psftp_last_error());
    rc = psftp_connect("127.0.0.1", env("PSFTP_TEST_USER"), env("PSFTP_TEST_KEY"), NULL,
                       atoi(env("PSFTP_TEST_PORT")), NULL, opts, NULL, &conn, NULL);
    psftp_cnopts_free(opts);
    if (rc != PSFTP_OK)
        return fail("psftp_connect", psftp_last_error());
    rc = psftp_put(conn, local, remote, NULL, NULL, true, false, NULL, NULL);
    if (rc != PSFTP_OK)
        fail("psftp_put", psftp_last_error());
    psftp_close(conn);
    printf("psftp %s: put %s\n", psftp_version(), remote);
    return rc == PSFTP_OK ? 0 : 1;
}

/* The server's host key, base64 as in known_hosts, must be listed there. */
static int host_key_known(LIBSSH2_SESSION *session) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = 0, i, o = 0;
    int type = 0;
    const unsigned char *key = (const unsigned char *)libssh2_session_hostkey(session, &len, &type);
    char *text, *known = NULL;
    int found;
    if (key == NULL || file_bytes(env("PSFTP_TEST_KNOWN_HOSTS"), &known) < 0)
        return 0;
    text = malloc(len * 4 / 3 + 5);
    for (i = 0; i < len; i += 3) {
        unsigned v = (unsigned)key[i] << 16 | (i + 1 < len ? (unsigned)key[i + 1] << 8 : 0) |
                     (i + 2 < len ? key[i + 2] : 0);
        text[o++] = b64[v >> 18 & 63];
        text[o++] = b64[v >> 12 & 63];
        text[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
        text[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    text[o] = '\0';
    found = strstr(known, text) != NULL;
    free(text);
    free(known);
    return found;
}

/* Reads REMOTE with the system libssh2 and compares it with LOCAL. */
static int libssh2_read_back(const char *local, const char *remote) {
    struct sockaddr_in addr;
    LIBSSH2_SESSION *session;
    LIBSSH2_SFTP *sftp;
    LIBSSH2_SFTP_HANDLE *handle;
    char *want = NULL, *got;
    long size = file_bytes(local, &want);
    long done = 0;
    ssize_t n;
    int sock, rc = 1;
    if (size < 0)
        return fail("read", local);
    got = malloc((size_t)size + 1);
    if (libssh2_init(0) != 0)
        return fail("libssh2_init", "failed");
    sock = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(env("PSFTP_TEST_PORT")));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0)
        return fail("connect", "127.0.0.1");
    session = libssh2_session_init();
    if (libssh2_session_handshake(session, sock) != 0)
        return fail("libssh2_session_handshake", "failed");
    if (!host_key_known(session))
        return fail("host key", "not in PSFTP_TEST_KNOWN_HOSTS");
    if (libssh2_userauth_password(session, env("PSFTP_TEST_USER"), env("PSFTP_TEST_PASSWORD")) != 0)
        return fail("libssh2_userauth_password", "refused");
    sftp = libssh2_sftp_init(session);
    handle = sftp ? libssh2_sftp_open(sftp, remote, LIBSSH2_FXF_READ, 0) : NULL;
    if (handle == NULL)
        return fail("libssh2_sftp_open", remote);
    while (done <= size && (n = libssh2_sftp_read(handle, got + done, (size_t)(size + 1 - done))) > 0)
        done += n;
    if (done == size && memcmp(got, want, (size_t)size) == 0) {
        printf("system libssh2 %s: read back %ld bytes, the same\n", libssh2_version(0), done);
        rc = 0;
    } else {
        fprintf(stderr, "mixed: read back %ld bytes, want %ld (or different bytes)\n", done, size);
    }
    libssh2_sftp_close(handle);
    libssh2_sftp_shutdown(sftp);
    libssh2_session_disconnect(session, "done");
    libssh2_session_free(session);
    close(sock);
    libssh2_exit();
    free(want);
    free(got);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s LOCAL REMOTE\n", argv[0]);
        return 2;
    }
    /* The system header and the library that answers must agree. */
    if (strcmp(libssh2_version(0), LIBSSH2_VERSION) != 0) {
        fprintf(stderr, "mixed: libssh2_version() is %s but <libssh2.h> is %s: "
                        "another libssh2 took the system's symbols\n",
                libssh2_version(0), LIBSSH2_VERSION);
        return 1;
    }
    if (psftp_upload(argv[1], argv[2]) != 0 || libssh2_read_back(argv[1], argv[2]) != 0)
        return 1;
    if (other_rust_sum(1000) != 499500ULL || !other_rust_catches_panic())
        return fail("other Rust library", "wrong sum or uncaught panic");
    printf("other Rust static library: sum and caught panic ok\n");
    return 0;
}
