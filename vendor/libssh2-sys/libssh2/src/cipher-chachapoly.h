/* $OpenBSD: cipher-chachapoly.h,v 1.4 2014/06/24 01:13:21 djm Exp $ */

/*
 * Copyright (c) Damien Miller 2013 <djm@mindrot.org>
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef CHACHA_POLY_AEAD_H
#define CHACHA_POLY_AEAD_H

#include "chacha.h"
#include "poly1305.h"

#define CHACHA_KEYLEN   32 /* Only 256-bit keys used here */

/* psftp: with OpenSSL 3, ChaCha20 and Poly1305 come from libcrypto's
   assembly (as in OpenSSH's cipher-chachapoly-libcrypto.c) instead of the
   portable C code, which cost most of the client's CPU time. */
#if defined(LIBSSH2_OPENSSL) && !defined(LIBSSH2_WOLFSSL) && \
    OPENSSL_VERSION_NUMBER >= 0x30000000L
#define CHACHAPOLY_LIBCRYPTO 1
#endif

struct chachapoly_ctx {
#ifdef CHACHAPOLY_LIBCRYPTO
    EVP_CIPHER_CTX *main_evp, *header_evp;
    EVP_MAC_CTX *poly;
#else
    struct chacha_ctx main_ctx, header_ctx;
#endif
};

int chachapoly_init(struct chachapoly_ctx *ctx, const unsigned char *key,
                    size_t keylen);
int chachapoly_crypt(struct chachapoly_ctx *ctx, libssh2_uint64_t seqnr,
                     unsigned char *dest, const unsigned char *src, size_t len,
                     size_t aadlen, int do_encrypt);
int chachapoly_get_length(struct chachapoly_ctx *ctx,
                          unsigned int *plenp, libssh2_uint64_t seqnr,
                          const unsigned char *cp, size_t len);
void chachapoly_free(struct chachapoly_ctx *ctx);

#endif /* CHACHA_POLY_AEAD_H */
