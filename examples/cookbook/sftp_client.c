/* Cookbook 4.1.26 Connection.sftp_client: the libssh2 session and SFTP
 * handle underneath, for what psftp does not wrap. They need the libssh2
 * psftp was built with: its functions are reachable only in cargo's own
 * target/<profile>/libpsftp.a (the installed libraries keep everything but
 * psftp_* private, so they do not clash with a system libssh2); this
 * example is built that way, with the libssh2 headers of that build. */
#include "cookbook.h"

#include <libssh2.h>
#include <libssh2_sftp.h>

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    void *session = NULL, *raw = NULL;
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    psftp_attrs ours = {.struct_size = sizeof ours};
    const char *home = env("PSFTP_TEST_HOME");

    OK(psftp_sftp_client(sftp, &session, &raw));
    EXPECT(session != NULL && raw != NULL);
    EXPECT(libssh2_sftp_stat(raw, home, &attrs) == 0);
    OK(psftp_stat(sftp, home, &ours));
    EXPECT((uint32_t)attrs.permissions == ours.mode);
    EXPECT((int64_t)attrs.mtime == ours.mtime);
    EXPECT(libssh2_session_banner_get(session) != NULL);
    printf("  server banner: %s\n", libssh2_session_banner_get(session));
    psftp_close(sftp); /* also releases the raw handles */
    puts("sftp_client: the raw libssh2 SFTP session agrees with psftp_stat: ok");
    return 0;
}
