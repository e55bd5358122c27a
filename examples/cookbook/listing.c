/* Cookbook 4.1.15 listdir, 4.1.16 listdir_attr, 4.1.19 isdir,
 * 4.1.20 isfile, 4.1.21 readlink, 4.1.22 exists, 4.1.23 lexists,
 * 4.1.24 truncate. */
#include "cookbook.h"

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    psftp_strarray *names = NULL;
    psftp_dirent_list *attrs = NULL;
    char *target = NULL, *cwd = NULL, expected[600];
    bool yes;
    uint64_t size = 0;
    size_t i;
    cookbook_scratch(sftp, "listing");
    write_local("readme.txt", "r");
    OK(psftp_put(sftp, "readme.txt", NULL, NULL, NULL, true, false, NULL, NULL));
    remove("readme.txt");
    OK(psftp_mkdir(sftp, "pub", 0755));
    OK(psftp_symlink(sftp, "readme.txt", "readme.sym"));

    /* sftp.listdir() -> [u'pub', u'readme.sym', u'readme.txt'] */
    OK(psftp_listdir(sftp, ".", &names));
    EXPECT(names->count == 3 && strcmp(names->strings[0], "pub") == 0 &&
           strcmp(names->strings[1], "readme.sym") == 0 &&
           strcmp(names->strings[2], "readme.txt") == 0);
    psftp_strarray_free(names);

    /* for attr in sftp.listdir_attr(): print attr.filename, attr */
    OK(psftp_listdir_attr(sftp, ".", &attrs));
    for (i = 0; i < attrs->count; i++)
        printf("  %s %s\n", attrs->entries[i]->filename, attrs->entries[i]->longname);
    EXPECT(attrs->count == 3 && strcmp(attrs->entries[2]->filename, "readme.txt") == 0);
    EXPECT(attrs->entries[2]->attrs.size == 1);
    psftp_dirent_list_free(attrs);

    OK(psftp_isdir(sftp, "pub", &yes)); /* sftp.isdir('pub') -> True */
    EXPECT(yes);
    OK(psftp_isfile(sftp, "pub", &yes)); /* sftp.isfile('pub') -> False */
    EXPECT(!yes);

    /* sftp.readlink('readme.sym') -> u'/home/test/readme.txt' */
    OK(psftp_readlink(sftp, "readme.sym", &target));
    OK(psftp_getcwd(sftp, &cwd));
    snprintf(expected, sizeof expected, "%s/readme.txt", cwd);
    EXPECT(strcmp(target, expected) == 0);

    OK(psftp_exists(sftp, "readme.txt", &yes)); /* a file */
    EXPECT(yes);
    OK(psftp_exists(sftp, "pub", &yes)); /* a dir */
    EXPECT(yes);
    OK(psftp_symlink(sftp, "nowhere", "broken.sym"));
    OK(psftp_exists(sftp, "broken.sym", &yes));
    EXPECT(!yes);
    OK(psftp_lexists(sftp, "broken.sym", &yes)); /* True for a broken link */
    EXPECT(yes);

    /* sftp.truncate('readme.txt', 4096) -> 4096 */
    OK(psftp_truncate(sftp, "readme.txt", 4096, &size));
    EXPECT(size == 4096);
    psftp_string_free(target);
    psftp_string_free(cwd);
    psftp_close(sftp);
    puts("listing: listdir, listdir_attr, isdir, isfile, readlink, exists, lexists, truncate: ok");
    return 0;
}
