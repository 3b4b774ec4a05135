#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include "COpenSSL.h"

/* The entry points, resolved once by name from libcrypto.so.3 (OpenSSL 3's soname). Each
 * pointer has the type of OpenSSL's own declaration, so a call with the wrong arguments does
 * not compile. */
static struct {
    __typeof__(BIO_ctrl) *BIO_ctrl;
    __typeof__(BIO_free) *BIO_free;
    __typeof__(BIO_new) *BIO_new;
    __typeof__(BIO_new_mem_buf) *BIO_new_mem_buf;
    __typeof__(BIO_s_mem) *BIO_s_mem;
    __typeof__(BN_bn2bin) *BN_bn2bin;
    __typeof__(BN_free) *BN_free;
    __typeof__(BN_is_negative) *BN_is_negative;
    __typeof__(BN_num_bits) *BN_num_bits;
    __typeof__(CRYPTO_clear_free) *CRYPTO_clear_free;
    __typeof__(CRYPTO_free) *CRYPTO_free;
    __typeof__(ERR_clear_error) *ERR_clear_error;
    __typeof__(ERR_error_string_n) *ERR_error_string_n;
    __typeof__(ERR_get_error) *ERR_get_error;
    __typeof__(ERR_peek_last_error) *ERR_peek_last_error;
    __typeof__(EVP_Digest) *EVP_Digest;
    __typeof__(EVP_DigestSign) *EVP_DigestSign;
    __typeof__(EVP_DigestSignInit) *EVP_DigestSignInit;
    __typeof__(EVP_DigestVerify) *EVP_DigestVerify;
    __typeof__(EVP_DigestVerifyInit) *EVP_DigestVerifyInit;
    __typeof__(EVP_MD_CTX_free) *EVP_MD_CTX_free;
    __typeof__(EVP_MD_CTX_new) *EVP_MD_CTX_new;
    __typeof__(EVP_PKEY_CTX_free) *EVP_PKEY_CTX_free;
    __typeof__(EVP_PKEY_CTX_new_from_name) *EVP_PKEY_CTX_new_from_name;
    __typeof__(EVP_PKEY_CTX_set_rsa_keygen_bits) *EVP_PKEY_CTX_set_rsa_keygen_bits;
    __typeof__(EVP_PKEY_CTX_set_rsa_padding) *EVP_PKEY_CTX_set_rsa_padding;
    __typeof__(EVP_PKEY_free) *EVP_PKEY_free;
    __typeof__(EVP_PKEY_generate) *EVP_PKEY_generate;
    __typeof__(EVP_PKEY_get_base_id) *EVP_PKEY_get_base_id;
    __typeof__(EVP_PKEY_get_bits) *EVP_PKEY_get_bits;
    __typeof__(EVP_PKEY_get_bn_param) *EVP_PKEY_get_bn_param;
    __typeof__(EVP_PKEY_get_size) *EVP_PKEY_get_size;
    __typeof__(EVP_PKEY_keygen_init) *EVP_PKEY_keygen_init;
    __typeof__(EVP_sha256) *EVP_sha256;
    __typeof__(PEM_read_bio) *PEM_read_bio;
    __typeof__(PEM_write_bio) *PEM_write_bio;
    __typeof__(d2i_AutoPrivateKey) *d2i_AutoPrivateKey;
    __typeof__(d2i_PUBKEY) *d2i_PUBKEY;
    __typeof__(d2i_PrivateKey) *d2i_PrivateKey;
    __typeof__(d2i_PublicKey) *d2i_PublicKey;
    __typeof__(i2d_PUBKEY) *i2d_PUBKEY;
    __typeof__(i2d_PrivateKey) *i2d_PrivateKey;
    __typeof__(i2d_PublicKey) *i2d_PublicKey;
} crypto;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const char *load_error = "libcrypto was not loaded";
static char load_error_text[512];

static void load(void) {
    /* RTLD_LOCAL: the symbols stay out of the global scope. libcurl, when the registry loads it,
     * gets the same copy (the loader shares one object per soname). */
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_error_text, sizeof load_error_text, "cannot load libcrypto.so.3: %s", why ? why : "dlopen failed");
        load_error = load_error_text;
        return;
    }
#define RESOLVE(name)                                                                               \
    do {                                                                                            \
        *(void **)(&crypto.name) = dlsym(lib, #name);                                               \
        if (!crypto.name) {                                                                         \
            snprintf(load_error_text, sizeof load_error_text, "libcrypto.so.3 has no %s", #name);   \
            load_error = load_error_text;                                                           \
            return;                                                                                 \
        }                                                                                           \
    } while (0)
    RESOLVE(BIO_ctrl);
    RESOLVE(BIO_free);
    RESOLVE(BIO_new);
    RESOLVE(BIO_new_mem_buf);
    RESOLVE(BIO_s_mem);
    RESOLVE(BN_bn2bin);
    RESOLVE(BN_free);
    RESOLVE(BN_is_negative);
    RESOLVE(BN_num_bits);
    RESOLVE(CRYPTO_clear_free);
    RESOLVE(CRYPTO_free);
    RESOLVE(ERR_clear_error);
    RESOLVE(ERR_error_string_n);
    RESOLVE(ERR_get_error);
    RESOLVE(ERR_peek_last_error);
    RESOLVE(EVP_Digest);
    RESOLVE(EVP_DigestSign);
    RESOLVE(EVP_DigestSignInit);
    RESOLVE(EVP_DigestVerify);
    RESOLVE(EVP_DigestVerifyInit);
    RESOLVE(EVP_MD_CTX_free);
    RESOLVE(EVP_MD_CTX_new);
    RESOLVE(EVP_PKEY_CTX_free);
    RESOLVE(EVP_PKEY_CTX_new_from_name);
    RESOLVE(EVP_PKEY_CTX_set_rsa_keygen_bits);
    RESOLVE(EVP_PKEY_CTX_set_rsa_padding);
    RESOLVE(EVP_PKEY_free);
    RESOLVE(EVP_PKEY_generate);
    RESOLVE(EVP_PKEY_get_base_id);
    RESOLVE(EVP_PKEY_get_bits);
    RESOLVE(EVP_PKEY_get_bn_param);
    RESOLVE(EVP_PKEY_get_size);
    RESOLVE(EVP_PKEY_keygen_init);
    RESOLVE(EVP_sha256);
    RESOLVE(PEM_read_bio);
    RESOLVE(PEM_write_bio);
    RESOLVE(d2i_AutoPrivateKey);
    RESOLVE(d2i_PUBKEY);
    RESOLVE(d2i_PrivateKey);
    RESOLVE(d2i_PublicKey);
    RESOLVE(i2d_PUBKEY);
    RESOLVE(i2d_PrivateKey);
    RESOLVE(i2d_PublicKey);
#undef RESOLVE
    load_error = NULL;
}

const char *bgpmesh_crypto_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

long bgpmesh_BIO_ctrl(BIO *bp, int cmd, long larg, void *parg) {
    return bgpmesh_crypto_load() ? 0 : crypto.BIO_ctrl(bp, cmd, larg, parg);
}

int bgpmesh_BIO_free(BIO *a) {
    return bgpmesh_crypto_load() ? 0 : crypto.BIO_free(a);
}

BIO *bgpmesh_BIO_new(const BIO_METHOD *type) {
    return bgpmesh_crypto_load() ? NULL : crypto.BIO_new(type);
}

BIO *bgpmesh_BIO_new_mem_buf(const void *buf, int len) {
    return bgpmesh_crypto_load() ? NULL : crypto.BIO_new_mem_buf(buf, len);
}

const BIO_METHOD *bgpmesh_BIO_s_mem(void) {
    return bgpmesh_crypto_load() ? NULL : crypto.BIO_s_mem();
}

int bgpmesh_BN_bn2bin(const BIGNUM *a, unsigned char *to) {
    return bgpmesh_crypto_load() ? 0 : crypto.BN_bn2bin(a, to);
}

void bgpmesh_BN_free(BIGNUM *a) {
    if (!bgpmesh_crypto_load()) crypto.BN_free(a);
}

int bgpmesh_BN_is_negative(const BIGNUM *b) {
    return bgpmesh_crypto_load() ? 0 : crypto.BN_is_negative(b);
}

int bgpmesh_BN_num_bits(const BIGNUM *a) {
    return bgpmesh_crypto_load() ? 0 : crypto.BN_num_bits(a);
}

void bgpmesh_CRYPTO_clear_free(void *ptr, size_t num, const char *file, int line) {
    if (!bgpmesh_crypto_load()) crypto.CRYPTO_clear_free(ptr, num, file, line);
}

void bgpmesh_CRYPTO_free(void *ptr, const char *file, int line) {
    if (!bgpmesh_crypto_load()) crypto.CRYPTO_free(ptr, file, line);
}

void bgpmesh_ERR_clear_error(void) {
    if (!bgpmesh_crypto_load()) crypto.ERR_clear_error();
}

void bgpmesh_ERR_error_string_n(unsigned long e, char *buf, size_t len) {
    if (!bgpmesh_crypto_load()) crypto.ERR_error_string_n(e, buf, len);
}

unsigned long bgpmesh_ERR_get_error(void) {
    return bgpmesh_crypto_load() ? 0 : crypto.ERR_get_error();
}

unsigned long bgpmesh_ERR_peek_last_error(void) {
    return bgpmesh_crypto_load() ? 0 : crypto.ERR_peek_last_error();
}

int bgpmesh_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type, ENGINE *impl) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_Digest(data, count, md, size, type, impl);
}

int bgpmesh_EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen, const unsigned char *tbs, size_t tbslen) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_DigestSign(ctx, sigret, siglen, tbs, tbslen);
}

int bgpmesh_EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_DigestSignInit(ctx, pctx, type, e, pkey);
}

int bgpmesh_EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen, const unsigned char *tbs, size_t tbslen) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_DigestVerify(ctx, sigret, siglen, tbs, tbslen);
}

int bgpmesh_EVP_DigestVerifyInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_DigestVerifyInit(ctx, pctx, type, e, pkey);
}

void bgpmesh_EVP_MD_CTX_free(EVP_MD_CTX *ctx) {
    if (!bgpmesh_crypto_load()) crypto.EVP_MD_CTX_free(ctx);
}

EVP_MD_CTX *bgpmesh_EVP_MD_CTX_new(void) {
    return bgpmesh_crypto_load() ? NULL : crypto.EVP_MD_CTX_new();
}

int bgpmesh_EVP_PKEY_CTX_set_rsa_padding(EVP_PKEY_CTX *ctx, int pad_mode) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_CTX_set_rsa_padding(ctx, pad_mode);
}

void bgpmesh_EVP_PKEY_free(EVP_PKEY *pkey) {
    if (!bgpmesh_crypto_load()) crypto.EVP_PKEY_free(pkey);
}

int bgpmesh_EVP_PKEY_get_base_id(const EVP_PKEY *pkey) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_get_base_id(pkey);
}

int bgpmesh_EVP_PKEY_get_bits(const EVP_PKEY *pkey) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_get_bits(pkey);
}

int bgpmesh_EVP_PKEY_get_bn_param(const EVP_PKEY *pkey, const char *key_name, BIGNUM **bn) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_get_bn_param(pkey, key_name, bn);
}

int bgpmesh_EVP_PKEY_get_size(const EVP_PKEY *pkey) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_get_size(pkey);
}

const EVP_MD *bgpmesh_EVP_sha256(void) {
    return bgpmesh_crypto_load() ? NULL : crypto.EVP_sha256();
}

int bgpmesh_PEM_read_bio(BIO *bp, char **name, char **header, unsigned char **data, long *len) {
    return bgpmesh_crypto_load() ? 0 : crypto.PEM_read_bio(bp, name, header, data, len);
}

int bgpmesh_PEM_write_bio(BIO *bp, const char *name, const char *hdr, const unsigned char *data, long len) {
    return bgpmesh_crypto_load() ? 0 : crypto.PEM_write_bio(bp, name, hdr, data, len);
}

EVP_PKEY *bgpmesh_d2i_AutoPrivateKey(EVP_PKEY **a, const unsigned char **pp, long length) {
    return bgpmesh_crypto_load() ? NULL : crypto.d2i_AutoPrivateKey(a, pp, length);
}

EVP_PKEY *bgpmesh_d2i_PUBKEY(EVP_PKEY **a, const unsigned char **pp, long length) {
    return bgpmesh_crypto_load() ? NULL : crypto.d2i_PUBKEY(a, pp, length);
}

EVP_PKEY *bgpmesh_d2i_PrivateKey(int type, EVP_PKEY **a, const unsigned char **pp, long length) {
    return bgpmesh_crypto_load() ? NULL : crypto.d2i_PrivateKey(type, a, pp, length);
}

EVP_PKEY *bgpmesh_d2i_PublicKey(int type, EVP_PKEY **a, const unsigned char **pp, long length) {
    return bgpmesh_crypto_load() ? NULL : crypto.d2i_PublicKey(type, a, pp, length);
}

int bgpmesh_i2d_PUBKEY(const EVP_PKEY *a, unsigned char **pp) {
    return bgpmesh_crypto_load() ? 0 : crypto.i2d_PUBKEY(a, pp);
}

int bgpmesh_i2d_PublicKey(const EVP_PKEY *a, unsigned char **pp) {
    return bgpmesh_crypto_load() ? 0 : crypto.i2d_PublicKey(a, pp);
}

void bgpmesh_EVP_PKEY_CTX_free(EVP_PKEY_CTX *ctx) {
    if (!bgpmesh_crypto_load()) crypto.EVP_PKEY_CTX_free(ctx);
}

EVP_PKEY_CTX *bgpmesh_EVP_PKEY_CTX_new_from_name(OSSL_LIB_CTX *libctx, const char *name, const char *propquery) {
    return bgpmesh_crypto_load() ? NULL : crypto.EVP_PKEY_CTX_new_from_name(libctx, name, propquery);
}

int bgpmesh_EVP_PKEY_CTX_set_rsa_keygen_bits(EVP_PKEY_CTX *ctx, int bits) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits);
}

int bgpmesh_EVP_PKEY_generate(EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_generate(ctx, ppkey);
}

int bgpmesh_EVP_PKEY_keygen_init(EVP_PKEY_CTX *ctx) {
    return bgpmesh_crypto_load() ? 0 : crypto.EVP_PKEY_keygen_init(ctx);
}

int bgpmesh_i2d_PrivateKey(const EVP_PKEY *a, unsigned char **pp) {
    return bgpmesh_crypto_load() ? 0 : crypto.i2d_PrivateKey(a, pp);
}
