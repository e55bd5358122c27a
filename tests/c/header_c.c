/* The header alone, as strict C99, included twice (include guard). */
#include <psftp.h>
#include <psftp.h>

int header_c_uses_types(psftp_conn *conn);
int header_c_uses_types(psftp_conn *conn) {
    psftp_attrs a = {0, 0, 0, 0, 0, 0, 0};
    return psftp_stat(conn, ".", &a) == PSFTP_OK ? (int)a.size : PSFTP_E_INVALID_ARG;
}

/* Result codes are parenthesized: 10-PSFTP_E_CONNECT is 10 - (-2), not a
 * decrement (which would not compile). */
typedef char result_codes_are_parenthesized[(10-PSFTP_E_CONNECT == 12) ? 1 : -1];

int main(void) {
    result_codes_are_parenthesized ok = {0};
    return (PSFTP_VERSION_NUMBER > 0 && ok[0] == 0) ? 0 : 1;
}
