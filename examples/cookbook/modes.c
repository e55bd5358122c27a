/* Cookbook 4.1.10 chmod, 4.1.11 st_mode_to_int, 4.1.12 chown,
 * 4.1.17 makedirs, 4.1.18 mkdir. */
#include "cookbook.h"

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    psftp_attrs attr = {.struct_size = sizeof attr};
    bool isdir = false;
    cookbook_scratch(sftp, "modes");
    write_local("readme.txt", "read me\n");
    OK(psftp_put(sftp, "readme.txt", NULL, NULL, NULL, true, false, NULL, NULL));
    remove("readme.txt");

    /* sftp.chmod('readme.txt', 644): in C, modes are POSIX bits (0644) */
    OK(psftp_chmod(sftp, "readme.txt", 0640));
    OK(psftp_chmod(sftp, "readme.txt", 0644));
    /* attr.st_mode -> 33188; pysftp.st_mode_to_int(attr.st_mode) -> 644 */
    OK(psftp_stat(sftp, "readme.txt", &attr));
    EXPECT(attr.mode == 33188);
    EXPECT(psftp_st_mode_to_int(attr.mode) == 644);

    /* sftp.chown(path, uid=...) keeps the gid (one stat first) */
    OK(psftp_chown(sftp, "readme.txt", attr.uid, -1));
    OK(psftp_chown(sftp, "readme.txt", -1, attr.gid));
    EXPECT(psftp_chown(sftp, "readme.txt", 0, -1) == PSFTP_E_PERMISSION);

    /* sftp.makedirs('pub/show/off') (mode=777: 0777 in C) */
    OK(psftp_makedirs(sftp, "pub/show/off", 0777));
    OK(psftp_isdir(sftp, "pub/show/off", &isdir));
    EXPECT(isdir);
    /* sftp.mkdir('show', mode=644) */
    OK(psftp_mkdir(sftp, "show", 0644));
    OK(psftp_stat(sftp, "show", &attr));
    EXPECT((attr.mode & 07777) == 0644);
    EXPECT(psftp_st_mode_to_int(attr.mode) == 644);
    EXPECT(psftp_mkdir(sftp, "bad", 040644) == PSFTP_E_INVALID_ARG); /* st_mode, not a mode */
    OK(psftp_chmod(sftp, "show", 0755));
    psftp_close(sftp);
    puts("modes: chmod, st_mode_to_int, chown, makedirs, mkdir: ok");
    return 0;
}
