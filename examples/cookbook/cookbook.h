/* Shared by the cookbook examples: pysftp's cookbook (section 4.1 of its
 * documentation) translated to C. Each example runs against the server
 * named by PSFTP_TEST_* variables, checks its outcome and exits non-zero
 * if anything differs. */
#ifndef PSFTP_COOKBOOK_H
#define PSFTP_COOKBOOK_H

#include <psftp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: expected %s (last error: %s)\n", __FILE__, __LINE__,  \
                    #cond, psftp_last_error());                                           \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define OK(call) EXPECT((call) == PSFTP_OK)

static inline const char *env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL) {
        fprintf(stderr, "%s is not set: run the examples through tests/c/examples.sh\n", name);
        exit(2);
    }
    return v;
}

static inline int port(void) { return atoi(env("PSFTP_TEST_PORT")); }

/* "$PSFTP_TEST_DIR/name" */
static inline const char *fixture(const char *name) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", env("PSFTP_TEST_DIR"), name);
    return buf;
}

/* pysftp.Connection('127.0.0.1', username=..., password=..., port=...) with
 * the test server's known_hosts. */
static inline psftp_conn *cookbook_connect(void) {
    psftp_cnopts *cnopts = NULL;
    psftp_conn *sftp = NULL;
    OK(psftp_cnopts_new(env("PSFTP_TEST_KNOWN_HOSTS"), &cnopts));
    OK(psftp_connect("127.0.0.1", env("PSFTP_TEST_USER"), NULL, env("PSFTP_TEST_PASSWORD"),
                     port(), NULL, cnopts, NULL, &sftp, NULL));
    psftp_cnopts_free(cnopts);
    return sftp;
}

/* A fresh remote directory for one example, made the working directory. */
static inline void cookbook_scratch(psftp_conn *sftp, const char *tag) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/cookbook-%s-%d", env("PSFTP_TEST_HOME"), tag, (int)getpid());
    OK(psftp_makedirs(sftp, dir, 0755));
    OK(psftp_chdir(sftp, dir));
}

static inline void write_local(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    EXPECT(f != NULL);
    fputs(text, f);
    fclose(f);
}

static inline int local_equals(const char *path, const char *text) {
    char buf[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

#endif
