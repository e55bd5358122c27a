/* Listing, stat, directories and transfers through the C ABI, against the
 * test sshd. Built with -Wall -Wextra -Werror and ASan. */
#include "check.h"

#include <sys/stat.h>
#include <unistd.h>

static char remote_dir[512];
static char local_dir[512];

static void make_dirs(psftp_conn *conn) {
    snprintf(remote_dir, sizeof remote_dir, "%s/ctest-%d", env_or_die("PSFTP_TEST_HOME"),
             (int)getpid());
    snprintf(local_dir, sizeof local_dir, "/tmp/psftp-ctest-%d", (int)getpid());
    mkdir(local_dir, 0755);
    CHECK_OK(psftp_makedirs(conn, remote_dir, 0755));
}

/* The local files go with the test: a run leaves nothing in /tmp. */
static void remove_local_dir(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", local_dir);
    CHECK(system(cmd) == 0);
}

static int write_file(const char *path, size_t size) {
    FILE *f = fopen(path, "wb");
    size_t i;
    if (!f)
        return -1;
    for (i = 0; i < size; i++)
        fputc((int)((i * 7 + i / 251) & 0xff), f);
    return fclose(f);
}

static int same_files(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca, cb, same = fa && fb;
    while (same) {
        ca = fgetc(fa);
        cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

struct progress {
    uint64_t last_done, last_total;
    int calls, stop_at;
};

static int on_progress(uint64_t done, uint64_t total, void *user_data) {
    struct progress *p = user_data;
    p->last_done = done;
    p->last_total = total;
    p->calls++;
    /* A stop passes the callback's own value out: here -4242. */
    return (p->stop_at != 0 && p->calls >= p->stop_at) ? -4242 : 0;
}

static void test_put_get_round_trip(psftp_conn *conn) {
    char local[600], back[600], remote[600];
    struct progress p = {0, 0, 0, 0};
    psftp_attrs attrs = {.struct_size = sizeof attrs};
    psftp_strarray *names = NULL;
    snprintf(local, sizeof local, "%s/data.bin", local_dir);
    snprintf(back, sizeof back, "%s/back.bin", local_dir);
    snprintf(remote, sizeof remote, "%s/data.bin", remote_dir);
    CHECK(write_file(local, 3 * 1024 * 1024 + 17) == 0);
    CHECK_OK(psftp_put(conn, local, remote, on_progress, &p, true, true, NULL, &attrs));
    CHECK(attrs.size == 3 * 1024 * 1024 + 17);
    CHECK((attrs.flags & PSFTP_ATTR_SIZE) != 0);
    CHECK(p.last_done == p.last_total && p.last_total == attrs.size);
    CHECK(psftp_st_mode_to_int(attrs.mode) == 644);
    CHECK_OK(psftp_listdir(conn, remote_dir, &names));
    CHECK(names != NULL && names->count == 1 && strcmp(names->strings[0], "data.bin") == 0);
    CHECK(names != NULL && names->strings[names->count] == NULL);
    psftp_strarray_free(names);
    CHECK_OK(psftp_get(conn, remote, back, NULL, NULL, true, NULL));
    CHECK(same_files(local, back));
    /* A get stopped by its callback leaves the good file alone, and the
     * callback's value comes back. */
    p.calls = 0;
    p.stop_at = 1;
    CHECK_FAIL(psftp_get(conn, remote, back, on_progress, &p, false, NULL), PSFTP_E_USER,
               "progress callback (it returned -4242)");
    CHECK(psftp_last_callback_value() == -4242);
    CHECK(psftp_conn_last_callback_value(conn) == -4242);
    CHECK(same_files(local, back));
    CHECK_FAIL(psftp_get(conn, "/no/such/file", back, NULL, NULL, false, NULL),
               PSFTP_E_NOT_FOUND, "/no/such/file");
}

static void test_directories(psftp_conn *conn) {
    char *cwd = NULL, *pwd = NULL;
    psftp_dirent_list *entries = NULL;
    bool yes = false;
    CHECK_OK(psftp_getcwd(conn, &cwd));
    CHECK(cwd == NULL);
    CHECK_OK(psftp_chdir(conn, remote_dir));
    CHECK_OK(psftp_getcwd(conn, &cwd));
    CHECK(cwd != NULL && strcmp(cwd, remote_dir) == 0);
    psftp_string_free(cwd);
    CHECK_OK(psftp_mkdir(conn, "sub", 0700));
    CHECK_OK(psftp_isdir(conn, "sub", &yes));
    CHECK(yes);
    CHECK_OK(psftp_exists(conn, "missing", &yes));
    CHECK(!yes);
    CHECK_OK(psftp_cd_push(conn, "sub"));
    CHECK_OK(psftp_pwd(conn, &pwd));
    CHECK(pwd != NULL && strstr(pwd, "/sub") != NULL);
    psftp_string_free(pwd);
    CHECK_OK(psftp_cd_pop(conn));
    CHECK_OK(psftp_listdir_attr(conn, ".", &entries));
    CHECK(entries != NULL && entries->count == 2);
    if (entries && entries->count == 2) {
        CHECK(strcmp(entries->entries[0]->filename, "data.bin") == 0);
        CHECK(strcmp(entries->entries[1]->filename, "sub") == 0);
        CHECK(psftp_st_mode_to_int(entries->entries[1]->attrs.mode) == 700);
    }
    psftp_dirent_list_free(entries);
    CHECK_FAIL(psftp_mkdir(conn, "sub", 0755), PSFTP_E_EXISTS, "sub");
    {
        /* Modes are POSIX bits as for chmod(2): the server's file (a local
         * path, the server is local) gets exactly 0644, and 0750. */
        char server_path[700];
        struct stat st;
        snprintf(server_path, sizeof server_path, "%s/data.bin", remote_dir);
        CHECK_OK(psftp_chmod(conn, "data.bin", 0644));
        CHECK(stat(server_path, &st) == 0 && (st.st_mode & 07777) == 0644);
        CHECK_OK(psftp_chmod(conn, "data.bin", 0750));
        CHECK(stat(server_path, &st) == 0 && (st.st_mode & 07777) == 0750);
        CHECK_OK(psftp_chmod(conn, "sub", 02750));
        snprintf(server_path, sizeof server_path, "%s/sub", remote_dir);
        CHECK(stat(server_path, &st) == 0 && (st.st_mode & 07777) == 02750);
        CHECK_FAIL(psftp_chmod(conn, "data.bin", 0100644), PSFTP_E_INVALID_ARG, "07777");
    }
    CHECK_OK(psftp_rmdir(conn, "sub"));
    CHECK_OK(psftp_remove(conn, "data.bin"));
    CHECK_OK(psftp_chdir(conn, NULL));
    CHECK_OK(psftp_rmdir(conn, remote_dir));
}

static int on_tree_progress(const psftp_tree_progress *p, void *user_data) {
    psftp_tree_progress *last = user_data;
    *last = *p;
    last->current_path = NULL; /* only valid during the call */
    return 0;
}

static void test_trees(psftp_conn *conn) {
    char tree[1024], sub[1100], file[1200], remote[1024], back[1024], copy[2100];
    psftp_transfer_opts *opts = NULL;
    psftp_failure_list *failures = NULL;
    psftp_tree_progress last;
    int i;
    memset(&last, 0, sizeof last);
    snprintf(tree, sizeof tree, "%s/tree", local_dir);
    snprintf(sub, sizeof sub, "%s/sub", tree);
    mkdir(tree, 0755);
    mkdir(sub, 0755);
    for (i = 0; i < 20; i++) {
        snprintf(file, sizeof file, "%s/f%02d", i % 2 ? sub : tree, i);
        CHECK(write_file(file, (size_t)i * 1000) == 0);
    }
    snprintf(remote, sizeof remote, "%s-tree", remote_dir);
    CHECK_OK(psftp_transfer_opts_new(&opts));
    CHECK_OK(psftp_transfer_opts_set_parallelism(opts, 3));
    CHECK_OK(psftp_transfer_opts_add_exclude(opts, "f19"));
    CHECK_OK(psftp_put_r(conn, tree, remote, true, true, on_tree_progress, &last, opts, &failures));
    CHECK(failures != NULL && failures->count == 0);
    psftp_failure_list_free(failures);
    CHECK(last.files_done == 19 && last.files_total == 19);
    CHECK(last.bytes_done == last.bytes_total && last.bytes_total > 0);
    snprintf(back, sizeof back, "%s/back", local_dir);
    CHECK_OK(psftp_get_r(conn, remote, back, true, NULL, NULL, NULL, &failures));
    psftp_failure_list_free(failures);
    snprintf(copy, sizeof copy, "%s/.%s/sub/f17", back, remote);
    snprintf(file, sizeof file, "%s/f17", sub);
    CHECK(same_files(file, copy));
    /* A missing root: the code, the message, and an empty list. */
    CHECK_FAIL(psftp_get_r(conn, "/no/such/tree", back, false, NULL, NULL, opts, &failures),
               PSFTP_E_NOT_FOUND, "/no/such/tree");
    CHECK(failures != NULL && failures->count == 0);
    psftp_failure_list_free(failures);
    CHECK_FAIL(psftp_transfer_opts_set_parallelism(opts, 0), PSFTP_E_INVALID_ARG, "connections");
    psftp_transfer_opts_free(opts);
    psftp_transfer_opts_free(NULL);
}

/* Each cipher family on its own connection, so that the sanitizers and
 * valgrind see the vendored libssh2's cipher contexts (OpenSSL's ChaCha20
 * and Poly1305 among them) set up, used and freed. */
static void test_ciphers(void) {
    static const char *const ciphers[] = {"aes128-gcm@openssh.com",
                                          "chacha20-poly1305@openssh.com", "aes128-ctr"};
    char local[600], back[600], remote[600];
    size_t i;
    snprintf(local, sizeof local, "%s/cipher.bin", local_dir);
    snprintf(back, sizeof back, "%s/cipher-back.bin", local_dir);
    snprintf(remote, sizeof remote, "%s/ctest-cipher-%d.bin", env_or_die("PSFTP_TEST_HOME"),
             (int)getpid());
    CHECK(write_file(local, 1024 * 1024 + 5) == 0);
    for (i = 0; i < sizeof ciphers / sizeof ciphers[0]; i++) {
        psftp_cnopts *opts = NULL;
        psftp_conn *conn = NULL;
        CHECK_OK(psftp_cnopts_new(env_or_die("PSFTP_TEST_KNOWN_HOSTS"), &opts));
        CHECK_OK(psftp_cnopts_set_ciphers(opts, ciphers[i]));
        CHECK_OK(psftp_connect("127.0.0.1", env_or_die("PSFTP_TEST_USER"), NULL,
                               env_or_die("PSFTP_TEST_PASSWORD"), test_port(), NULL, opts, NULL,
                               &conn, NULL));
        psftp_cnopts_free(opts);
        if (conn == NULL)
            continue;
        unlink(back);
        CHECK_OK(psftp_put(conn, local, remote, NULL, NULL, true, false, NULL, NULL));
        CHECK_OK(psftp_get(conn, remote, back, NULL, NULL, false, NULL));
        CHECK(same_files(local, back));
        CHECK_OK(psftp_remove(conn, remote));
        psftp_close(conn);
    }
}

/* A panic inside a call poisons that connection only: later calls fail
 * with PSFTP_E_CONNECTION_LOST saying why, instead of reading replies to
 * the requests the panic abandoned. */
static void test_panic_poisons_the_connection(void) {
    char remote[600];
    char *pwd = NULL;
    psftp_conn *conn = connect_password();
    CHECK(conn != NULL);
    if (conn == NULL)
        return;
    snprintf(remote, sizeof remote, "%s/data.bin", remote_dir);
    CHECK_FAIL(psftp_debug_panic(conn, remote), PSFTP_E_PANIC, "psftp_debug_panic was called");
    CHECK_FAIL(psftp_pwd(conn, &pwd), PSFTP_E_CONNECTION_LOST, "panicked");
    CHECK(pwd == NULL);
    CHECK(psftp_conn_last_error_code(conn) == PSFTP_E_CONNECTION_LOST);
    psftp_close(conn);
}

/* The buffers bindings use: read-to-end, readline, command output as
 * bytes, the user name, errno and SFTP status; every one freed (LSan). */
static void test_binding_buffers(psftp_conn *conn) {
    char remote[600], missing[600];
    psftp_file *f = NULL;
    uint8_t *data = NULL, *err = NULL;
    size_t len = 0, err_len = 0;
    int status = -1;
    char *user = NULL;
    snprintf(remote, sizeof remote, "%s/lines.txt", remote_dir);
    snprintf(missing, sizeof missing, "%s/missing.bin", local_dir);
    CHECK_OK(psftp_open(conn, remote, "w", -1, &f));
    CHECK_OK(psftp_file_write(f, "one\ntwo\0\nthree", 15));
    CHECK_OK(psftp_file_close(f));
    CHECK_OK(psftp_open(conn, remote, "r", -1, &f));
    CHECK_OK(psftp_file_readline_alloc(f, 0, &data, &len));
    CHECK(len == 4 && memcmp(data, "one\n", 4) == 0);
    psftp_bytes_free(data, len);
    CHECK_OK(psftp_file_read_alloc(f, 0, &data, &len));
    CHECK(len == 11 && memcmp(data, "two\0\nthree", 11) == 0);
    psftp_bytes_free(data, len);
    CHECK_OK(psftp_file_read_alloc(f, 0, &data, &len));
    CHECK(len == 0 && data != NULL);
    psftp_bytes_free(data, len);
    CHECK_OK(psftp_file_close(f));
    CHECK_OK(psftp_execute_bytes(conn, "printf 'a\\000b'; printf e >&2; exit 4", 0, &data, &len,
                                 &err, &err_len, &status));
    CHECK(len == 3 && memcmp(data, "a\0b", 3) == 0 && err_len == 1 && err[0] == 'e');
    CHECK(status == 4);
    psftp_bytes_free(data, len);
    psftp_bytes_free(err, err_len);
    CHECK_OK(psftp_execute_bytes(conn, "echo only-err >&2", PSFTP_EXECUTE_STDERR_IF_NO_STDOUT,
                                 &data, &len, NULL, NULL, NULL));
    CHECK(len == 9 && memcmp(data, "only-err\n", 9) == 0);
    psftp_bytes_free(data, len);
    CHECK_OK(psftp_username(conn, &user));
    CHECK(user != NULL && strcmp(user, env_or_die("PSFTP_TEST_USER")) == 0);
    psftp_string_free(user);
    CHECK_FAIL(psftp_put(conn, missing, "x", NULL, NULL, true, false, NULL, NULL),
               PSFTP_E_LOCAL_IO, "missing.bin");
    CHECK(psftp_last_error_errno() == 2 /* ENOENT */);
    CHECK(psftp_conn_last_error_errno(conn) == 2);
    CHECK_FAIL(psftp_remove(conn, missing), PSFTP_E_NOT_FOUND, "missing.bin");
    CHECK(psftp_last_error_sftp_status() == 2 /* SSH_FX_NO_SUCH_FILE */);
    CHECK(psftp_last_error_errno() == 0);
    CHECK_OK(psftp_remove(conn, remote));
}

int main(void) {
    psftp_conn *conn = connect_password();
    CHECK(conn != NULL);
    if (conn == NULL)
        return finish("test_transfer");
    make_dirs(conn);
    test_put_get_round_trip(conn);
    test_panic_poisons_the_connection();
    test_trees(conn);
    test_binding_buffers(conn);
    test_directories(conn);
    test_ciphers();
    psftp_close(conn);
    remove_local_dir();
    return finish("test_transfer");
}
