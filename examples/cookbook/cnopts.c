/* Cookbook 4.1.2 pysftp.CnOpts: host-key checking on by default, turning
 * it off, another known_hosts file, merging one with load(), and the
 * "connection info in a dict" style. */
#include "cookbook.h"

static int try_connect(psftp_cnopts *cnopts) {
    psftp_conn *sftp = NULL;
    int rc = psftp_connect("127.0.0.1", env("PSFTP_TEST_USER"), NULL,
                           env("PSFTP_TEST_PASSWORD"), port(), NULL, cnopts, NULL, &sftp, NULL);
    psftp_close(sftp);
    return rc;
}

struct cinfo { /* {'host': ..., 'username': ..., 'password': ..., 'port': ...} */
    const char *host, *username, *password;
    int port;
};

int main(void) {
    psftp_cnopts *cnopts = NULL;
    psftp_conn *sftp = NULL;
    struct cinfo ci;
    char empty[] = "empty-known_hosts";

    /* An unknown host is refused by default. */
    write_local(empty, "");
    OK(psftp_cnopts_new(empty, &cnopts));
    EXPECT(try_connect(cnopts) == PSFTP_E_HOSTKEY_UNKNOWN);
    EXPECT(strstr(psftp_last_error(), "SHA256:") != NULL);

    /* cnopts.hostkeys = None  (NOT ADVISED) */
    OK(psftp_cnopts_set_hostkeys(cnopts, NULL));
    OK(try_connect(cnopts));
    psftp_cnopts_free(cnopts);

    /* cnopts = pysftp.CnOpts(knownhosts='path/to/your/knownhostsfile') */
    OK(psftp_cnopts_new(fixture("known_hosts_hashed"), &cnopts));
    OK(try_connect(cnopts));
    psftp_cnopts_free(cnopts);

    /* cnopts.hostkeys.load('path/to/your/extra_knownhosts') */
    OK(psftp_cnopts_new(empty, &cnopts));
    OK(psftp_cnopts_load(cnopts, env("PSFTP_TEST_KNOWN_HOSTS")));
    OK(try_connect(cnopts));

    /* pysftp.Connection(**cinfo) */
    ci.host = "127.0.0.1";
    ci.username = env("PSFTP_TEST_USER");
    ci.password = env("PSFTP_TEST_PASSWORD");
    ci.port = port();
    OK(psftp_connect(ci.host, ci.username, NULL, ci.password, ci.port, NULL, cnopts, NULL,
                     &sftp, NULL));
    psftp_close(sftp);
    psftp_cnopts_free(cnopts);
    remove(empty);
    puts("cnopts: strict by default, hostkeys None, knownhosts file, load(), dict style: ok");
    return 0;
}
