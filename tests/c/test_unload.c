/* Unloading libpsftp while a thread that used it is still alive, as Node
 * (koffi) does at exit and as any dlopen user may: when that thread exits
 * later, nothing of psftp may run from the unmapped library (a pthread-key
 * destructor registered by psftp did, and crashed the process).
 *
 * Usage: test_unload path/to/libpsftp.so (PSFTP_TEST_* in the environment).
 * Twice: a worker thread connects and makes calls that succeed (the second
 * time also one that fails, so its thread-local error message exists); the
 * main thread then dlcloses the library and lets the worker exit. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <psftp.h>

static struct {
    int (*cnopts_new)(const char *, psftp_cnopts **);
    void (*cnopts_free)(psftp_cnopts *);
    int (*connect)(const char *, const char *, const char *, const char *, int, const char *,
                   const psftp_cnopts *, const char *, psftp_conn **, char **);
    int (*pwd)(psftp_conn *, char **);
    int (*isdir)(psftp_conn *, const char *, bool *);
    int (*listdir)(psftp_conn *, const char *, psftp_strarray **);
    void (*string_free)(char *);
    void (*close)(psftp_conn *);
    const char *(*last_error)(void);
} f;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stage = 0; /* 1: worker done with psftp; 2: library unloaded */
static int failures = 0;

static void fail(const char *what) {
    fprintf(stderr, "test_unload: %s\n", what);
    failures++;
}

static void wait_stage(int s) {
    pthread_mutex_lock(&lock);
    while (stage < s)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void set_stage(int s) {
    pthread_mutex_lock(&lock);
    stage = s;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static const char *env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL) {
        fprintf(stderr, "test_unload: %s is not set\n", name);
        exit(2);
    }
    return v;
}

static void use_psftp(bool with_failure) {
    psftp_cnopts *opts = NULL;
    psftp_conn *conn = NULL;
    if (f.cnopts_new(env("PSFTP_TEST_KNOWN_HOSTS"), &opts) != PSFTP_OK) {
        fail("cnopts_new");
        return;
    }
    int rc = f.connect(env("PSFTP_TEST_HOST"), env("PSFTP_TEST_USER"), NULL,
                       env("PSFTP_TEST_PASSWORD"), atoi(env("PSFTP_TEST_PORT")), NULL, opts, NULL,
                       &conn, NULL);
    f.cnopts_free(opts);
    if (rc != PSFTP_OK) {
        fail(f.last_error());
        return;
    }
    char *cwd = NULL;
    if (f.pwd(conn, &cwd) != PSFTP_OK || cwd == NULL || cwd[0] != '/')
        fail("pwd");
    f.string_free(cwd);
    bool is_dir = true;
    if (f.isdir(conn, "/no/such/dir", &is_dir) != PSFTP_OK || is_dir)
        fail("isdir");
    psftp_strarray *names = NULL;
    if (with_failure && (f.listdir(conn, "/no/such/dir", &names) != PSFTP_E_NOT_FOUND ||
                         strstr(f.last_error(), "/no/such/dir") == NULL))
        fail("listdir of a missing directory");
    f.close(conn);
}

static void *worker(void *arg) {
    use_psftp(arg != NULL);
    set_stage(1);
    wait_stage(2);
    return NULL; /* thread exit: runs thread-local destructors */
}

/* Load the library, use it on a new thread, unload it, end the thread. */
static int cycle(const char *path, bool with_failure) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
#define LOAD(field, name)                                                                  \
    do {                                                                                   \
        *(void **)(&f.field) = dlsym(lib, name);                                           \
        if (f.field == NULL) {                                                             \
            fprintf(stderr, "dlsym %s: %s\n", name, dlerror());                            \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)
    LOAD(cnopts_new, "psftp_cnopts_new");
    LOAD(cnopts_free, "psftp_cnopts_free");
    LOAD(connect, "psftp_connect");
    LOAD(pwd, "psftp_pwd");
    LOAD(isdir, "psftp_isdir");
    LOAD(listdir, "psftp_listdir");
    LOAD(string_free, "psftp_string_free");
    LOAD(close, "psftp_close");
    LOAD(last_error, "psftp_last_error");
#undef LOAD
    set_stage(0);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, with_failure ? &failures : NULL) != 0)
        return 1;
    wait_stage(1);
    if (dlclose(lib) != 0)
        fail("dlclose");
    set_stage(2);
    pthread_join(t, NULL);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_unload LIBPSFTP\n");
        return 2;
    }
    if (cycle(argv[1], false) != 0 || cycle(argv[1], true) != 0)
        return 1;
    printf("test_unload: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
