/* Cookbook 4.1.27 path_advance, 4.1.28 path_retreat, 4.1.29 reparent,
 * 4.1.31 pysftp.cd (local). */
#include "cookbook.h"

static int join_equals(psftp_strarray *list, const char *expected) {
    char buf[512] = "";
    size_t i;
    for (i = 0; i < list->count; i++) {
        strcat(buf, list->strings[i]);
        strcat(buf, "|");
    }
    return strcmp(buf, expected) == 0;
}

static int inside_docs(void *user_data) {
    char here[1024];
    EXPECT(getcwd(here, sizeof here) != NULL);
    strcpy(user_data, here);
    return 0;
}

int main(void) {
    psftp_strarray *list = NULL;
    char *path = NULL, before[1024], inside[1024], after[1024];

    /* list(pysftp.path_advance('./pub/example/example01')) */
    OK(psftp_path_advance("./pub/example/example01", &list));
    EXPECT(join_equals(list, ".|./pub|./pub/example|./pub/example/example01|"));
    psftp_strarray_free(list);
    /* list(pysftp.path_retreat('./pub/example/example01')) */
    OK(psftp_path_retreat("./pub/example/example01", &list));
    EXPECT(join_equals(list, "./pub/example/example01|./pub/example|./pub|.|"));
    psftp_strarray_free(list);
    /* pysftp.reparent('backup', '/home/test/pub') -> 'backup/./home/test/pub' */
    OK(psftp_reparent("backup", "/home/test/pub", &path));
    EXPECT(strcmp(path, "backup/./home/test/pub") == 0);
    psftp_string_free(path);

    /* with pysftp.cd('docs'): print os.getcwd() */
    EXPECT(getcwd(before, sizeof before) != NULL);
    OK(psftp_local_cd("/tmp", inside_docs, inside));
    EXPECT(strcmp(inside, "/tmp") == 0);
    EXPECT(getcwd(after, sizeof after) != NULL && strcmp(before, after) == 0);
    puts("helpers: path_advance, path_retreat, reparent, local cd: ok");
    return 0;
}
