/* Cookbook 4.1.9 cd() with and without a directory, 4.1.13 cwd(),
 * 4.1.14 pwd and getcwd(). */
#include "cookbook.h"

static char *pwd_of(psftp_conn *sftp) {
    char *p = NULL;
    OK(psftp_pwd(sftp, &p));
    return p;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int walk_down(psftp_conn *sftp, void *user_data) {
    char *p;
    (void)user_data;
    OK(psftp_chdir(sftp, "here"));  /* now in ./static/here */
    OK(psftp_chdir(sftp, "there")); /* now in ./static/here/there */
    p = pwd_of(sftp);
    EXPECT(ends_with(p, "/here/there"));
    psftp_string_free(p);
    return 0;
}

static int from_bookmark(psftp_conn *sftp, void *user_data) {
    (void)user_data;
    OK(psftp_chdir(sftp, "static")); /* now in ./static */
    return walk_down(sftp, NULL);
}

int main(void) {
    psftp_conn *sftp = cookbook_connect();
    char *cwd0 = NULL, *start, *now;
    /* print(sftp.getcwd()) -> None; sftp.pwd -> '/home/test' */
    OK(psftp_getcwd(sftp, &cwd0));
    EXPECT(cwd0 == NULL);
    start = pwd_of(sftp);
    EXPECT(strcmp(start, env("PSFTP_TEST_HOME")) == 0);
    psftp_string_free(start);

    cookbook_scratch(sftp, "cd");
    OK(psftp_makedirs(sftp, "static/here/there", 0755));
    start = pwd_of(sftp);
    OK(psftp_cd(sftp, "static", walk_down, NULL)); /* with sftp.cd('static'): */
    now = pwd_of(sftp);
    EXPECT(strcmp(start, now) == 0);
    psftp_string_free(now);
    OK(psftp_cd(sftp, NULL, from_bookmark, NULL)); /* with sftp.cd(): */
    now = pwd_of(sftp);
    EXPECT(strcmp(start, now) == 0);
    psftp_string_free(now);

    OK(psftp_cwd(sftp, "static")); /* sftp.cwd('public') is sftp.chdir('public') */
    now = pwd_of(sftp);
    EXPECT(ends_with(now, "/static"));
    psftp_string_free(now);
    psftp_string_free(start);
    psftp_close(sftp);
    puts("cd: scoped with and without a directory, cwd, pwd, getcwd: ok");
    return 0;
}
