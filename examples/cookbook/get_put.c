/* Cookbook 4.1.3 get(preserve_mtime=True) and 4.1.6 put(preserve_mtime=True). */
#include "cookbook.h"

#include <sys/stat.h>
#include <utime.h>

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    struct utimbuf old = {1000000000, 1234567890};
    struct stat st;
    psftp_attrs attrs = {.struct_size = sizeof attrs};
    cookbook_scratch(sftp, "getput");

    write_local("myfile", "mine\n");
    EXPECT(utime("myfile", &old) == 0);
    /* sftp.put('myfile', preserve_mtime=True) */
    OK(psftp_put(sftp, "myfile", NULL, NULL, NULL, true, true, NULL, &attrs));
    EXPECT(attrs.mtime == 1234567890);
    remove("myfile");

    /* sftp.get('myfile', preserve_mtime=True) */
    OK(psftp_get(sftp, "myfile", NULL, NULL, NULL, true, NULL));
    EXPECT(stat("myfile", &st) == 0 && st.st_mtime == 1234567890);
    EXPECT(local_equals("myfile", "mine\n"));
    remove("myfile");
    psftp_close(sftp);
    puts("get/put: preserve_mtime both ways: ok");
    return 0;
}
