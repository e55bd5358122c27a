/* Cookbook 4.1.4 get_d, 4.1.5 get_r, 4.1.7 put_d, 4.1.8 put_r. */
#include "cookbook.h"

#include <sys/stat.h>

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    char local[256];
    psftp_strarray *names = NULL;
    struct stat st;
    snprintf(local, sizeof local, "psftp-cookbook-trees-%d", (int)getpid());
    EXPECT(mkdir(local, 0755) == 0 && chdir(local) == 0);
    cookbook_scratch(sftp, "trees");

    /* A local tree: images/a.png, static/css/site.css, static/index.html */
    EXPECT(mkdir("images", 0755) == 0 && mkdir("static", 0755) == 0 && mkdir("static/css", 0755) == 0);
    write_local("images/a.png", "png");
    write_local("static/index.html", "<html>");
    write_local("static/css/site.css", "body{}");

    /* sftp.put_d('images', 'static/images', preserve_mtime=True) */
    OK(psftp_makedirs(sftp, "static/images", 0755));
    OK(psftp_put_d(sftp, "images", "static/images", true, true, NULL, NULL, NULL, NULL));
    OK(psftp_listdir(sftp, "static/images", &names));
    EXPECT(names->count == 1 && strcmp(names->strings[0], "a.png") == 0);
    psftp_strarray_free(names);

    /* sftp.put_r('static', 'static', preserve_mtime=True): directories are
     * created, existing ones are fine */
    OK(psftp_put_r(sftp, "static", "static", true, true, NULL, NULL, NULL, NULL));
    OK(psftp_listdir(sftp, "static", &names));
    EXPECT(names->count == 3); /* css, images, index.html */
    psftp_strarray_free(names);

    /* sftp.get_d('static', 'local-backup', preserve_mtime=True): files only */
    OK(psftp_get_d(sftp, "static", "local-backup", true, NULL, NULL, NULL, NULL));
    EXPECT(local_equals("local-backup/index.html", "<html>"));
    EXPECT(stat("local-backup/css", &st) != 0);

    /* sftp.get_r('static', 'local-backup', preserve_mtime=True): the whole
     * tree, at local-backup/static as in pysftp */
    OK(psftp_get_r(sftp, "static", "local-backup", true, NULL, NULL, NULL, NULL));
    EXPECT(local_equals("local-backup/static/css/site.css", "body{}"));
    EXPECT(local_equals("local-backup/static/images/a.png", "png"));
    psftp_close(sftp);
    puts("trees: put_d, put_r, get_d, get_r: ok");
    return 0;
}
