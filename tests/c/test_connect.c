/* Connect, authentication, host keys, errors and bad input through the C
 * ABI, against the test sshd. Built with -Wall -Wextra -Werror and ASan. */
#include "check.h"

static void test_version(void) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", PSFTP_VERSION_MAJOR, PSFTP_VERSION_MINOR,
             PSFTP_VERSION_PATCH);
    CHECK(strcmp(psftp_version(), buf) == 0);
    CHECK(PSFTP_VERSION_NUMBER ==
          PSFTP_VERSION_MAJOR * 10000 + PSFTP_VERSION_MINOR * 100 + PSFTP_VERSION_PATCH);
    CHECK(strcmp(psftp_strerror(PSFTP_E_AUTH), "PSFTP_E_AUTH") == 0);
}

static void test_key_login_and_server_key(void) {
    psftp_cnopts *opts = NULL;
    psftp_conn *conn = NULL;
    psftp_hostkey *key = NULL;
    CHECK_OK(psftp_cnopts_new(fixture_file("known_hosts_hashed"), &opts));
    CHECK_OK(psftp_connect("127.0.0.1", env_or_die("PSFTP_TEST_USER"),
                           fixture_file("id_ed25519_enc"), NULL, test_port(),
                           env_or_die("PSFTP_TEST_PASSPHRASE"), opts, NULL, &conn, NULL));
    CHECK(conn != NULL);
    CHECK_OK(psftp_remote_server_key(conn, &key));
    if (key) {
        CHECK(strcmp(key->key_type, "ssh-ed25519") == 0);
        CHECK(strncmp(key->fingerprint, "SHA256:", 7) == 0);
        CHECK(strlen(key->base64) > 60);
    }
    psftp_hostkey_free(key);
    psftp_close(conn);
    psftp_cnopts_free(opts);
}

/* psftp_connect_with: the options object, with an encrypted PEM key read
 * into memory. */
static void test_connect_options_and_a_key_from_memory(void) {
    psftp_cnopts *cnopts = NULL;
    psftp_connect_opts *opts = NULL;
    psftp_conn *conn = NULL;
    char *pwd = NULL, *err = NULL;
    unsigned char key[8192];
    size_t len = 0;
    FILE *f = fopen(fixture_file("id_rsa_enc_pem"), "rb");
    CHECK(f != NULL);
    if (f) {
        len = fread(key, 1, sizeof key, f);
        fclose(f);
    }
    CHECK(len > 100);
    CHECK_OK(psftp_cnopts_new(env_or_die("PSFTP_TEST_KNOWN_HOSTS"), &cnopts));
    CHECK_OK(psftp_connect_opts_new("127.0.0.1", &opts));
    CHECK_OK(psftp_connect_opts_set_port(opts, test_port()));
    CHECK_OK(psftp_connect_opts_set_username(opts, env_or_die("PSFTP_TEST_USER")));
    CHECK_OK(psftp_connect_opts_set_cnopts(opts, cnopts));
    psftp_cnopts_free(cnopts); /* copied */
    CHECK_OK(psftp_connect_opts_set_private_key_data(opts, key, len, "not the passphrase"));
    CHECK_FAIL(psftp_connect_with(opts, &conn, &err), PSFTP_E_AUTH, "wrong passphrase");
    CHECK(conn == NULL && err != NULL && strstr(err, "private_key_data") != NULL);
    psftp_string_free(err);
    CHECK_OK(psftp_connect_opts_set_private_key_data(opts, key, len,
                                                     env_or_die("PSFTP_TEST_PASSPHRASE")));
    CHECK_OK(psftp_connect_with(opts, &conn, NULL));
    psftp_connect_opts_free(opts); /* the connection does not need them */
    CHECK_OK(psftp_pwd(conn, &pwd));
    CHECK(pwd != NULL && strcmp(pwd, env_or_die("PSFTP_TEST_HOME")) == 0);
    psftp_string_free(pwd);
    psftp_close(conn);
}

static void test_refusals(void) {
    psftp_cnopts *opts = NULL, *changed = NULL;
    psftp_conn *conn = NULL;
    char *err = NULL;
    const char *user = env_or_die("PSFTP_TEST_USER");
    CHECK_OK(psftp_cnopts_new(env_or_die("PSFTP_TEST_KNOWN_HOSTS"), &opts));
    CHECK_FAIL(psftp_connect("127.0.0.1", user, NULL, "wrong", test_port(), NULL, opts, NULL,
                             &conn, &err),
               PSFTP_E_AUTH, "wrong password");
    CHECK(conn == NULL);
    CHECK(err != NULL && strcmp(err, psftp_last_error()) == 0);
    psftp_string_free(err);

    CHECK_OK(psftp_cnopts_new(fixture_file("known_hosts_changed"), &changed));
    CHECK_FAIL(psftp_connect("127.0.0.1", user, NULL, env_or_die("PSFTP_TEST_PASSWORD"),
                             test_port(), NULL, changed, NULL, &conn, NULL),
               PSFTP_E_HOSTKEY_MISMATCH, "MISMATCH");
    CHECK_OK(psftp_cnopts_set_hostkeys(changed, fixture_file("known_hosts_port22_only")));
    CHECK_FAIL(psftp_connect("127.0.0.1", user, NULL, env_or_die("PSFTP_TEST_PASSWORD"),
                             test_port(), NULL, changed, NULL, &conn, NULL),
               PSFTP_E_HOSTKEY_UNKNOWN, "SHA256:");
    CHECK_FAIL(psftp_connect("127.0.0.1", user, fixture_file("id_rsa_enc_pem"), NULL,
                             test_port(), NULL, opts, NULL, &conn, NULL),
               PSFTP_E_AUTH, "id_rsa_enc_pem");
    CHECK_FAIL(psftp_connect("127.0.0.1", user, NULL, "x", 1, NULL, opts, NULL, &conn, NULL),
               PSFTP_E_CONNECT, "127.0.0.1:1");
    psftp_cnopts_free(changed);
    psftp_cnopts_free(opts);
}

static void test_bad_arguments(void) {
    psftp_conn *conn = connect_password();
    psftp_strarray *list = NULL;
    psftp_attrs attrs = {.struct_size = sizeof attrs};
    char not_utf8[] = {'/', 't', 'm', 'p', '/', (char)0xff, 0};
    CHECK(conn != NULL);
    CHECK_FAIL(psftp_listdir(NULL, ".", &list), PSFTP_E_INVALID_ARG, "conn");
    CHECK_FAIL(psftp_listdir(conn, NULL, &list), PSFTP_E_INVALID_ARG, "remotepath");
    CHECK_FAIL(psftp_listdir(conn, ".", NULL), PSFTP_E_INVALID_ARG, "out");
    /* Paths are bytes: one that is not UTF-8 is looked up, and named
     * escaped in the message. */
    CHECK_FAIL(psftp_stat(conn, not_utf8, &attrs), PSFTP_E_NOT_FOUND, "/tmp/\\xff");
    CHECK_FAIL(psftp_get(conn, NULL, "x", NULL, NULL, false, NULL), PSFTP_E_INVALID_ARG,
               "remotepath");
    CHECK_FAIL(psftp_chmod(conn, "/tmp", 010000), PSFTP_E_INVALID_ARG, "mode");
    CHECK(list == NULL);
    /* The message is kept on the connection too. */
    {
        char *copy = psftp_conn_last_error(conn);
        CHECK(copy != NULL && strstr(copy, "mode") != NULL);
        psftp_string_free(copy);
        CHECK(psftp_conn_last_error_code(conn) == PSFTP_E_INVALID_ARG);
    }
    psftp_close(conn);
    /* A closed handle is detected, not dereferenced; closing twice is fine. */
    CHECK_FAIL(psftp_listdir(conn, ".", &list), PSFTP_E_INVALID_ARG, "not a live psftp_conn");
    psftp_close(conn);
    psftp_close(NULL);
    psftp_cnopts_free(NULL);
    psftp_string_free(NULL);
    psftp_strarray_free(NULL);
    psftp_dirent_list_free(NULL);
    psftp_hostkey_free(NULL);
    CHECK(psftp_debug_panic(NULL, NULL) == PSFTP_E_PANIC);
    CHECK(strstr(psftp_last_error(), "panic") != NULL);
}

int main(void) {
    test_version();
    test_key_login_and_server_key();
    test_connect_options_and_a_key_from_memory();
    test_refusals();
    test_bad_arguments();
    return finish("test_connect");
}
