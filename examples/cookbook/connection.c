/* Cookbook 4.1.1 pysftp.Connection(): password, `with` (close), private
 * keys with and without a passphrase, a paramiko AgentKey, an IP address
 * and a port. */
#include "cookbook.h"

static void check_alive(psftp_conn *sftp) {
    char *pwd = NULL;
    OK(psftp_pwd(sftp, &pwd));
    EXPECT(strcmp(pwd, env("PSFTP_TEST_HOME")) == 0);
    psftp_string_free(pwd);
}

static psftp_conn *connect_key(const char *key, const char *passphrase) {
    psftp_cnopts *cnopts = NULL;
    psftp_conn *sftp = NULL;
    OK(psftp_cnopts_new(env("PSFTP_TEST_KNOWN_HOSTS"), &cnopts));
    /* pysftp.Connection('hostname', username='me', private_key='/path/to/keyfile',
     *                   private_key_pass=...) */
    OK(psftp_connect("127.0.0.1", env("PSFTP_TEST_USER"), key, NULL, port(), passphrase,
                     cnopts, NULL, &sftp, NULL));
    psftp_cnopts_free(cnopts);
    return sftp;
}

int main(void) {
    psftp_conn *sftp = cookbook_connect(); /* username and password */
    check_alive(sftp);
    psftp_close(sftp); /* sftp.close(), or the end of a with-block */
    EXPECT(psftp_listdir(sftp, ".", NULL) == PSFTP_E_INVALID_ARG); /* closed */

    sftp = connect_key(fixture("id_ed25519"), NULL);
    check_alive(sftp);
    psftp_close(sftp);
    sftp = connect_key(fixture("id_rsa_enc_pem"), env("PSFTP_TEST_PASSPHRASE"));
    check_alive(sftp);
    psftp_close(sftp);

    /* private_key=my_agentkey: any key the agent holds */
    if (getenv("SSH_AUTH_SOCK") != NULL) {
        sftp = connect_key("agent", NULL);
        check_alive(sftp);
        psftp_close(sftp);
        puts("connection: agent key: ok");
    } else {
        fprintf(stderr, "connection: SSH_AUTH_SOCK is not set: tests/c/examples.sh starts an agent\n");
        return 1;
    }
    puts("connection: password, close, key, encrypted key, IP address and port: ok");
    return 0;
}
