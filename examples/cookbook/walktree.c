/* Cookbook 4.1.25 Connection.walktree (remote) and 4.1.30 pysftp.walktree
 * (local): the same callbacks for files, directories and unknown entries. */
#include "cookbook.h"

#include <sys/stat.h>

struct lists {
    char files[2048], dirs[2048], unknown[2048];
};

static int add(char *list, const char *path) {
    strncat(list, path, 2047 - strlen(list));
    strncat(list, ";", 2047 - strlen(list));
    return 0;
}
static int on_file(const char *path, const psftp_attrs *a, void *u) {
    (void)a;
    return add(((struct lists *)u)->files, path);
}
static int on_dir(const char *path, const psftp_attrs *a, void *u) {
    (void)a;
    return add(((struct lists *)u)->dirs, path);
}
static int on_unknown(const char *path, const psftp_attrs *a, void *u) {
    (void)a;
    return add(((struct lists *)u)->unknown, path);
}

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    struct lists remote, local;
    char root[256];
    memset(&remote, 0, sizeof remote);
    memset(&local, 0, sizeof local);
    snprintf(root, sizeof root, "psftp-cookbook-walk-%d", (int)getpid());
    EXPECT(mkdir(root, 0755) == 0 && chdir(root) == 0);
    EXPECT(mkdir("pub", 0755) == 0 && mkdir("pub/example", 0755) == 0);
    write_local("pub/example/example01", "1");
    write_local("pub/readme.txt", "r");
    EXPECT(symlink("nowhere", "pub/broken") == 0);

    /* pysftp.walktree('.', fcallback, dcallback, ucallback) */
    OK(psftp_local_walktree(".", on_file, on_dir, on_unknown, true, &local));
    EXPECT(strcmp(local.dirs, "./pub;./pub/example;") == 0);
    EXPECT(strcmp(local.files, "./pub/example/example01;./pub/readme.txt;") == 0);
    EXPECT(strcmp(local.unknown, "./pub/broken;") == 0);

    /* sftp.walktree('.', fcallback, dcallback, ucallback) on a copy */
    cookbook_scratch(sftp, "walk");
    OK(psftp_put_r(sftp, ".", ".", true, false, NULL, NULL, NULL, NULL));
    OK(psftp_symlink(sftp, "nowhere", "pub/broken"));
    OK(psftp_walktree(sftp, ".", on_file, on_dir, on_unknown, true, &remote));
    EXPECT(strcmp(remote.dirs, local.dirs) == 0);
    EXPECT(strcmp(remote.files, local.files) == 0);
    EXPECT(strcmp(remote.unknown, local.unknown) == 0);
    psftp_close(sftp);
    puts("walktree: remote and local walks agree: ok");
    return 0;
}
