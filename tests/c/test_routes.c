/* Issue 16 through the C ABI under ASan/LSan/UBSan: ssh_config (an alias,
 * the -G report, a malformed line), a key from memory and a socket the
 * caller connected (on psftp_connect_opts), a ProxyCommand, a jump-host
 * list that names a bad hop, and the keyboard-interactive callback: its
 * finalizer, and the answers handle refusing misuse. */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[256];

static const char *write_file(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = malloc(65536);
    *len = f ? fread(buf, 1, 65536, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

static psftp_cnopts *trusting(void) {
    psftp_cnopts *opts = NULL;
    CHECK_OK(psftp_cnopts_new(env_or_die("PSFTP_TEST_KNOWN_HOSTS"), &opts));
    return opts;
}

static void listable(psftp_conn *conn) {
    psftp_strarray *names = NULL;
    CHECK_OK(psftp_listdir(conn, ".", &names));
    psftp_strarray_free(names);
}

static void ssh_config_alias_and_report(void) {
    char text[2048];
    snprintf(text, sizeof text,
             "Host calias\n  HostName 127.0.0.1\n  Port %d\n  User %s\n  IdentityFile %s\n"
             "  UserKnownHostsFile %s\n",
             test_port(), env_or_die("PSFTP_TEST_USER"), fixture_file("id_ed25519"),
             env_or_die("PSFTP_TEST_KNOWN_HOSTS"));
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s", write_file("config", text));
    psftp_cnopts *opts = NULL;
    CHECK_OK(psftp_cnopts_new(NULL, &opts));
    CHECK_OK(psftp_cnopts_set_ssh_config(opts, true, cfg));
    psftp_conn *conn = NULL;
    CHECK_OK(psftp_connect("calias", NULL, NULL, NULL, 0, NULL, opts, NULL, &conn, NULL));
    if (conn != NULL) {
        listable(conn);
        psftp_close(conn);
    }
    char *report = NULL;
    CHECK_OK(psftp_cnopts_ssh_config_report(opts, "calias", &report));
    CHECK(report != NULL && strstr(report, "hostname 127.0.0.1\n") != NULL);
    psftp_string_free(report);
    write_file("config", "Host x\n  Port 0\n");
    CHECK_FAIL(psftp_cnopts_ssh_config_report(opts, "x", &report), PSFTP_E_INVALID_ARG,
               "line 2: bad port '0'");
    CHECK_OK(psftp_cnopts_set_ssh_config(opts, false, NULL));
    psftp_cnopts_free(opts);
}

/* Connect options for the test server as its user, trusting its key. */
static psftp_connect_opts *for_server(void) {
    psftp_connect_opts *opts = NULL;
    psftp_cnopts *cnopts = trusting();
    CHECK_OK(psftp_connect_opts_new("127.0.0.1", &opts));
    CHECK_OK(psftp_connect_opts_set_port(opts, test_port()));
    CHECK_OK(psftp_connect_opts_set_username(opts, env_or_die("PSFTP_TEST_USER")));
    CHECK_OK(psftp_connect_opts_set_cnopts(opts, cnopts));
    psftp_cnopts_free(cnopts); /* copied */
    return opts;
}

static void key_from_memory(void) {
    size_t len = 0;
    char *key = read_all(fixture_file("id_ed25519_enc"), &len);
    psftp_connect_opts *opts = for_server();
    CHECK_OK(psftp_connect_opts_set_private_key_data(opts, (const uint8_t *)key, len,
                                                     env_or_die("PSFTP_TEST_PASSPHRASE")));
    memset(key, 0, len); /* psftp keeps its own copy */
    free(key);
    psftp_conn *conn = NULL;
    CHECK_OK(psftp_connect_with(opts, &conn, NULL));
    if (conn != NULL) {
        listable(conn);
        psftp_close(conn);
    }
    CHECK_FAIL(psftp_connect_opts_set_private_key_data(opts, (const uint8_t *)"x", 1, NULL),
               PSFTP_E_INVALID_ARG, "data: is not a PEM or OpenSSH private key");
    CHECK_OK(psftp_connect_opts_set_private_key_data(opts, NULL, 0, NULL));
    psftp_connect_opts_free(opts);
}

static void callers_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)test_port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    psftp_connect_opts *opts = for_server();
    CHECK_OK(psftp_connect_opts_set_password(opts, env_or_die("PSFTP_TEST_PASSWORD")));
    CHECK_OK(psftp_connect_opts_set_socket(opts, fd));
    close(fd); /* psftp holds a duplicate */
    psftp_conn *conn = NULL;
    CHECK_OK(psftp_connect_with(opts, &conn, NULL));
    if (conn != NULL) {
        listable(conn);
        psftp_close(conn);
    }
    CHECK_FAIL(psftp_connect_opts_set_socket(opts, -2), PSFTP_E_INVALID_ARG, "fd: -2");
    CHECK_OK(psftp_connect_opts_set_socket(opts, -1));
    psftp_connect_opts_free(opts);
}

static void proxy_command_and_jump_errors(void) {
    psftp_cnopts *opts = trusting();
    CHECK_OK(psftp_cnopts_set_proxy_command(
        opts, "python3 -c 'import socket,sys,os,threading; s=socket.create_connection((sys.argv[1],int(sys.argv[2]))); "
              "threading.Thread(target=lambda: [s.sendall(b) for b in iter(lambda: os.read(0,65536), b\"\")],daemon=True).start(); "
              "[os.write(1,b) for b in iter(lambda: s.recv(65536), b\"\")]' %h %p"));
    psftp_conn *conn = NULL;
    CHECK_OK(psftp_connect("127.0.0.1", env_or_die("PSFTP_TEST_USER"), NULL,
                           env_or_die("PSFTP_TEST_PASSWORD"), test_port(), NULL, opts, NULL,
                           &conn, NULL));
    if (conn != NULL) {
        listable(conn);
        psftp_close(conn);
    }
    CHECK_FAIL(psftp_cnopts_set_proxy_command(opts, "nc %z"), PSFTP_E_INVALID_ARG,
               "unknown token %z");
    CHECK_FAIL(psftp_cnopts_set_proxy_jump(opts, "ok@host,bad:port:x"), PSFTP_E_INVALID_ARG,
               "hop 2");
    psftp_cnopts_free(opts);
}

static int kbd_calls = 0;
static int kbd_finalized = 0;

static int kbd_cb(const psftp_kbdint_request *req, psftp_kbdint_answers *answers, void *ud) {
    (void)ud;
    kbd_calls++;
    CHECK(req != NULL && req->host != NULL && req->user != NULL);
    CHECK(PSFTP_HAS_FIELD(req, psftp_kbdint_request, prompts));
    CHECK(psftp_kbdint_answer(answers, req->num_prompts, "x") == PSFTP_E_INVALID_ARG);
    return 0;
}

static void kbd_finalizer(void *ud) {
    CHECK(ud == &kbd_calls);
    kbd_finalized++;
}

static void kbdint_handle_misuse(void) {
    psftp_connect_opts *opts = for_server();
    CHECK_OK(psftp_connect_opts_set_password(opts, env_or_die("PSFTP_TEST_PASSWORD")));
    CHECK_OK(psftp_connect_opts_set_kbdint_callback(opts, kbd_cb, &kbd_calls, kbd_finalizer));
    /* This server takes passwords: the callback is never needed. */
    psftp_conn *conn = NULL;
    CHECK_OK(psftp_connect_with(opts, &conn, NULL));
    psftp_connect_opts_free(opts);
    CHECK(kbd_finalized == 0); /* the connection still holds the callback */
    psftp_close(conn);
    CHECK(kbd_calls == 0);
    CHECK(kbd_finalized == 1);
    CHECK_FAIL(psftp_kbdint_answer((psftp_kbdint_answers *)(uintptr_t)0x55, 0, "x"),
               PSFTP_E_INVALID_ARG, "not a live");
    /* A NULL callback's user_data is released at once. */
    opts = for_server();
    CHECK_OK(psftp_connect_opts_set_kbdint_callback(opts, NULL, &kbd_calls, kbd_finalizer));
    CHECK(kbd_finalized == 2);
    psftp_connect_opts_free(opts);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/psftp-ctest-routes-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0);
    ssh_config_alias_and_report();
    key_from_memory();
    callers_socket();
    proxy_command_and_jump_errors();
    kbdint_handle_misuse();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return finish("test_routes");
}
