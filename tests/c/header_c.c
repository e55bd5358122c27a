/* The header alone, as strict C99, included twice (include guard). */
#include <psftp.h>
#include <psftp.h>

int header_c_uses_types(psftp_conn *conn);
int header_c_uses_types(psftp_conn *conn) {
    psftp_attrs a = {0, 0, 0, 0, 0, 0, 0};
    return psftp_stat(conn, ".", &a) == PSFTP_OK ? (int)a.size : PSFTP_E_INVALID_ARG;
}

int main(void) { return PSFTP_VERSION_NUMBER > 0 ? 0 : 1; }
