/* The header alone, as strict C99, included twice (include guard). */
#include <psftp.h>
#include <psftp.h>

int header_c_uses_types(psftp_conn *conn);
int header_c_uses_types(psftp_conn *conn) {
    psftp_attrs a = {sizeof(psftp_attrs), 0, 0, 0, 0, 0, 0, 0};
    if (psftp_stat(conn, ".", &a) != PSFTP_OK || !PSFTP_HAS_FIELD(&a, psftp_attrs, mtime))
        return PSFTP_E_INVALID_ARG;
    return (int)a.size;
}

/* Result codes are parenthesized: 10-PSFTP_E_CONNECT is 10 - (-2), not a
 * decrement (which would not compile). */
typedef char result_codes_are_parenthesized[(10-PSFTP_E_CONNECT == 12) ? 1 : -1];

int main(void) {
    result_codes_are_parenthesized ok = {0};
    return (PSFTP_VERSION_NUMBER > 0 && ok[0] == 0) ? 0 : 1;
}
