/* pysftp documentation, section 1:
 *
 *   with pysftp.Connection('hostname', username='me', password='secret') as sftp:
 *       with sftp.cd('public'):
 *           sftp.put('/my/local/filename')
 *           sftp.get('remote_file')
 */
#include "cookbook.h"

static int in_public(psftp_conn *sftp, void *user_data) {
    const char *local = user_data;
    /* put: the local file's name in the current remote directory */
    if (psftp_put(sftp, local, NULL, NULL, NULL, true, false, NULL, NULL) != PSFTP_OK)
        return psftp_last_error_code();
    /* get: the remote file's name in the current local directory */
    return psftp_get(sftp, "remote_file", NULL, NULL, NULL, false, NULL);
}

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    char *cwd_before = NULL, *cwd_after = NULL;
    psftp_strarray *names = NULL;
    cookbook_scratch(sftp, "intro");
    OK(psftp_mkdir(sftp, "public", 0755));
    /* something to get */
    write_local("remote_file", "served\n");
    OK(psftp_put(sftp, "remote_file", "public/remote_file", NULL, NULL, true, false, NULL, NULL));
    remove("remote_file");
    write_local("filename", "my local file\n");

    OK(psftp_getcwd(sftp, &cwd_before));
    OK(psftp_cd(sftp, "public", in_public, "filename")); /* with sftp.cd('public'): */
    OK(psftp_getcwd(sftp, &cwd_after));
    EXPECT(strcmp(cwd_before, cwd_after) == 0); /* restored after the block */

    OK(psftp_listdir(sftp, "public", &names));
    EXPECT(names->count == 2 && strcmp(names->strings[0], "filename") == 0);
    EXPECT(local_equals("remote_file", "served\n"));
    psftp_strarray_free(names);
    psftp_string_free(cwd_before);
    psftp_string_free(cwd_after);
    psftp_close(sftp);
    remove("filename");
    remove("remote_file");
    puts("intro: put and get inside cd('public'): ok");
    return 0;
}
