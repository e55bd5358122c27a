#!/usr/bin/env python3
"""Generate a C program that calls every function in psftp.h with bad
arguments: all NULL/zero, a garbage handle, a closed handle, and invalid
UTF-8 in the strings that are not paths (paths are bytes) on a live
connection. Built with ASan/UBSan by run.sh, it
checks that each call returns a clear code (never crashes) and that the
message names the problem. New exports are covered automatically.

Usage: gen_bad_calls.py include/psftp.h > bad_calls.c
"""
import re
import sys

HANDLES = {
    "struct psftp_conn *": "conn",
    "struct psftp_cnopts *": "cnopts",
    "const struct psftp_cnopts *": "cnopts",
    "struct psftp_transfer_opts *": "xopts",
    "const struct psftp_transfer_opts *": "xopts",
    "struct psftp_file *": "file",
    "struct psftp_connect_opts *": "copts",
    "const struct psftp_connect_opts *": "copts",
}
# Functions whose all-NULL call is valid, or that return no result code.
NULL_IS_FINE = {"psftp_local_cd_push", "psftp_file_close"}
NOT_A_RESULT = {"psftp_st_mode_to_int", "psftp_last_error_code",
                "psftp_conn_last_error_errno", "psftp_last_retries",
                "psftp_conn_last_retries"}  # a value (0 for a bad handle), not a result code


def declarations(header):
    body = header.split('extern "C" {', 1)[1].rsplit("#ifdef __cplusplus", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    for decl in body.split(";"):
        decl = " ".join(decl.split())
        m = re.match(r"^(.*?)\b(psftp_\w+)\((.*)\)$", decl)
        if m:
            yield m.group(1).strip(), m.group(2), split_params(m.group(3)), text_params(m.group(3))


# Parameters that are paths: bytes, UTF-8 or not, so never refused as such.
PATHS = {"remotepath", "localpath", "remotefile", "remote_file", "remotelink", "remote_src",
         "remote_dest", "remotedir", "localdir", "thepath", "newparent", "oldpath"}


def split_params(text, names=None):
    if text.strip() in ("", "void"):
        return []
    params = []
    for p in text.split(","):
        p = p.strip()
        name = re.search(r"(\w+)$", p).group(1)
        params.append(p[: -len(name)].strip())
        if names is not None:
            names.append(name)
    return params


def text_params(decl_params):
    """The indexes of `const char *` parameters that are text, not paths."""
    names = []
    params = split_params(decl_params, names)
    return [i for i, p in enumerate(params) if p == "const char *" and names[i] not in PATHS]


def zero(ptype):
    return "0" if "*" not in ptype and not ptype.endswith("_cb") else "NULL"


def dummy(ptype, handle_kind, handle_value):
    """An argument that is fine, so the call fails on the handle."""
    if ptype in HANDLES:
        return handle_value if HANDLES[ptype] == handle_kind else "NULL"
    if ptype == "const char *":
        return '"x"'
    if ptype.endswith("_cb") or ptype == "char **":
        return "NULL"  # optional strings out (error_out) would be allocated
    if "*" in ptype:
        return "(void *)scratch"
    return "0"


def emit(out, fns):
    w = out.write
    w('#include "check.h"\n#include <unistd.h>\n\n')
    w("static unsigned char scratch[65536];\n\n")
    w("static void expect_code(const char *fn, const char *how, int rc, int want, const char *part) {\n")
    w("    if (rc != want || (part && !strstr(psftp_last_error(), part))) {\n")
    w('        fprintf(stderr, "%s (%s): got %s, wanted %s, message: %s\\n", fn, how,\n')
    w("                psftp_strerror(rc), psftp_strerror(want), psftp_last_error());\n")
    w("        checks_failed++;\n    } else {\n        checks_passed++;\n    }\n}\n\n")
    w("int main(void) {\n")
    w("    psftp_conn *live = connect_password(), *closed_conn = connect_password();\n")
    w("    psftp_cnopts *closed_cnopts = NULL;\n    psftp_transfer_opts *closed_xopts = NULL;\n")
    w("    psftp_file *closed_file = NULL;\n    psftp_connect_opts *closed_copts = NULL;\n")
    w("    int rc;\n    (void)rc;\n")
    w('    CHECK(live != NULL && closed_conn != NULL);\n')
    w('    CHECK_OK(psftp_cnopts_new(NULL, &closed_cnopts));\n    psftp_cnopts_free(closed_cnopts);\n')
    w('    CHECK_OK(psftp_transfer_opts_new(&closed_xopts));\n    psftp_transfer_opts_free(closed_xopts);\n')
    w('    CHECK_OK(psftp_connect_opts_new("127.0.0.1", &closed_copts));\n')
    w('    psftp_connect_opts_free(closed_copts);\n')
    w('    CHECK_OK(psftp_open(live, "psftp-bad-calls", "w", -1, &closed_file));\n')
    w('    CHECK_OK(psftp_file_close(closed_file));\n    psftp_close(closed_conn);\n\n')
    garbage = {"conn": "(psftp_conn *)(uintptr_t)0x5a5a5a5a", "cnopts": "(psftp_cnopts *)(uintptr_t)0x77777",
               "xopts": "(psftp_transfer_opts *)(uintptr_t)0x1230", "file": "(psftp_file *)(uintptr_t)0x4444",
               "copts": "(psftp_connect_opts *)(uintptr_t)0x5550"}
    closed = {"conn": "closed_conn", "cnopts": "closed_cnopts", "xopts": "closed_xopts", "file": "closed_file",
              "copts": "closed_copts"}
    for ret, name, params, texts in fns:
        if not params:
            w(f"    /* {name}(): no arguments */\n")
            continue
        args = ", ".join(zero(p) for p in params)
        if ret == "void":
            w(f"    {name}({args}); /* must not crash */\n")
        elif name in NULL_IS_FINE or name in NOT_A_RESULT or ret != "int":
            w(f"    (void){name}({args}); /* must not crash */\n")
            if name == "psftp_local_cd_push":
                w("    CHECK_OK(psftp_local_cd_pop());\n")
        else:
            w(f'    expect_code("{name}", "all NULL", {name}({args}), PSFTP_E_INVALID_ARG, NULL);\n')
        kinds = [HANDLES[p] for p in params if p in HANDLES]
        if kinds and ret == "int" and name not in NOT_A_RESULT:
            kind = kinds[0]
            for how, value in (("garbage handle", garbage[kind]), ("closed handle", closed[kind])):
                a = ", ".join(dummy(p, kind, value) for p in params)
                expect = "PSFTP_OK" if name == "psftp_file_close" else "PSFTP_E_INVALID_ARG"
                part = "NULL" if name == "psftp_file_close" else '"not a live"'
                w(f'    expect_code("{name}", "{how}", {name}({a}), {expect}, {part});\n')
        elif kinds and ret == "void":
            kind = kinds[0]
            for value in (garbage[kind], closed[kind]):
                w(f"    {name}({', '.join(dummy(p, kind, value) for p in params)}); /* must not crash */\n")
        if texts and params[0] == "struct psftp_conn *" and ret == "int":
            a = ", ".join('"\\xff\\xfe"' if i in texts else dummy(p, "conn", "live") for i, p in enumerate(params))
            w(f'    expect_code("{name}", "invalid UTF-8", {name}({a}), PSFTP_E_INVALID_ARG, NULL);\n')
    w('    psftp_close(live);\n    return finish("bad_calls");\n}\n')


def main():
    header = open(sys.argv[1]).read()
    fns = list(declarations(header))
    if len(fns) < 90:
        sys.exit(f"only {len(fns)} functions parsed from {sys.argv[1]}: the parser is out of date")
    emit(sys.stdout, fns)


if __name__ == "__main__":
    main()
