/* Minimal test helpers for the C test programs: each CHECK counts, and
 * finish() prints "N passed, N failed" and returns the exit status. */
#ifndef PSFTP_TEST_CHECK_H
#define PSFTP_TEST_CHECK_H

#include <psftp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks_passed = 0;
static int checks_failed = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            checks_passed++;                                                         \
        } else {                                                                     \
            checks_failed++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
                    __LINE__, #cond, psftp_last_error());                            \
        }                                                                            \
    } while (0)

/* The call returned `code` and the thread's message contains `part`. */
#define CHECK_FAIL(call, code, part)                                                    \
    do {                                                                                \
        int rc_ = (call);                                                               \
        CHECK(rc_ == (code));                                                           \
        CHECK(psftp_last_error_code() == (code));                                       \
        CHECK(strstr(psftp_last_error(), (part)) != NULL);                              \
        if (rc_ != (code))                                                              \
            fprintf(stderr, "  got %s, wanted %s\n", psftp_strerror(rc_), #code);       \
    } while (0)

#define CHECK_OK(call) CHECK((call) == PSFTP_OK)

/* A test hook of libpsftp that psftp.h does not declare: makes psftp panic
 * inside a getfo of `remotepath` on `conn` (or outside any connection when
 * conn is NULL) and returns PSFTP_E_PANIC. */
int psftp_debug_panic(psftp_conn *conn, const char *remotepath);

static inline const char *env_or_die(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "environment variable %s is not set: run the test command\n", name);
        exit(2);
    }
    return v;
}

/* "$PSFTP_TEST_DIR/name" in a static buffer (one at a time). */
static inline const char *fixture_file(const char *name) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", env_or_die("PSFTP_TEST_DIR"), name);
    return buf;
}

static inline int test_port(void) { return atoi(env_or_die("PSFTP_TEST_PORT")); }

/* Connect with the password, trusting the fixture's known_hosts. */
static inline psftp_conn *connect_password(void) {
    psftp_cnopts *opts = NULL;
    psftp_conn *conn = NULL;
    if (psftp_cnopts_new(env_or_die("PSFTP_TEST_KNOWN_HOSTS"), &opts) != PSFTP_OK)
        return NULL;
    if (psftp_connect("127.0.0.1", env_or_die("PSFTP_TEST_USER"), NULL,
                      env_or_die("PSFTP_TEST_PASSWORD"), test_port(), NULL, opts, NULL, &conn,
                      NULL) != PSFTP_OK)
        fprintf(stderr, "connect: %s\n", psftp_last_error());
    psftp_cnopts_free(opts);
    return conn;
}

static inline int finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif
