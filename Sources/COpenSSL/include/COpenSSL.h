#ifndef COPENSSL_H
#define COPENSSL_H

/* libcrypto's headers (libssl-dev) for the types and constants; the library itself
 * (libcrypto.so.3, Debian's libssl3) is loaded with dlopen on first use, so an agent that never
 * touches a key does not map it. Swift calls only the bgpmesh_ wrappers below: a call to an
 * OpenSSL name directly would be an undefined symbol at link time, as libcrypto is not linked. */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* Loads libcrypto.so.3 once; NULL when it is loaded, otherwise why not. Every wrapper loads it
 * too, and returns its failure value (NULL or 0) when it cannot. */
const char *bgpmesh_crypto_load(void);

long bgpmesh_BIO_ctrl(BIO *bp, int cmd, long larg, void *parg);
int bgpmesh_BIO_free(BIO *a);
BIO *bgpmesh_BIO_new(const BIO_METHOD *type);
BIO *bgpmesh_BIO_new_mem_buf(const void *buf, int len);
const BIO_METHOD *bgpmesh_BIO_s_mem(void);
int bgpmesh_BN_bn2bin(const BIGNUM *a, unsigned char *to);
void bgpmesh_BN_free(BIGNUM *a);
int bgpmesh_BN_is_negative(const BIGNUM *b);
int bgpmesh_BN_num_bits(const BIGNUM *a);
void bgpmesh_CRYPTO_clear_free(void *ptr, size_t num, const char *file, int line);
void bgpmesh_CRYPTO_free(void *ptr, const char *file, int line);
void bgpmesh_ERR_clear_error(void);
void bgpmesh_ERR_error_string_n(unsigned long e, char *buf, size_t len);
unsigned long bgpmesh_ERR_get_error(void);
unsigned long bgpmesh_ERR_peek_last_error(void);
int bgpmesh_EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type, ENGINE *impl);
int bgpmesh_EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen, const unsigned char *tbs, size_t tbslen);
int bgpmesh_EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey);
int bgpmesh_EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen, const unsigned char *tbs, size_t tbslen);
int bgpmesh_EVP_DigestVerifyInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey);
void bgpmesh_EVP_MD_CTX_free(EVP_MD_CTX *ctx);
EVP_MD_CTX *bgpmesh_EVP_MD_CTX_new(void);
int bgpmesh_EVP_PKEY_CTX_set_rsa_padding(EVP_PKEY_CTX *ctx, int pad_mode);
void bgpmesh_EVP_PKEY_free(EVP_PKEY *pkey);
int bgpmesh_EVP_PKEY_get_base_id(const EVP_PKEY *pkey);
int bgpmesh_EVP_PKEY_get_bits(const EVP_PKEY *pkey);
int bgpmesh_EVP_PKEY_get_bn_param(const EVP_PKEY *pkey, const char *key_name, BIGNUM **bn);
int bgpmesh_EVP_PKEY_get_size(const EVP_PKEY *pkey);
const EVP_MD *bgpmesh_EVP_sha256(void);
int bgpmesh_PEM_read_bio(BIO *bp, char **name, char **header, unsigned char **data, long *len);
int bgpmesh_PEM_write_bio(BIO *bp, const char *name, const char *hdr, const unsigned char *data, long len);
EVP_PKEY *bgpmesh_d2i_AutoPrivateKey(EVP_PKEY **a, const unsigned char **pp, long length);
EVP_PKEY *bgpmesh_d2i_PUBKEY(EVP_PKEY **a, const unsigned char **pp, long length);
EVP_PKEY *bgpmesh_d2i_PrivateKey(int type, EVP_PKEY **a, const unsigned char **pp, long length);
EVP_PKEY *bgpmesh_d2i_PublicKey(int type, EVP_PKEY **a, const unsigned char **pp, long length);
int bgpmesh_i2d_PUBKEY(const EVP_PKEY *a, unsigned char **pp);
int bgpmesh_i2d_PublicKey(const EVP_PKEY *a, unsigned char **pp);
void bgpmesh_EVP_PKEY_CTX_free(EVP_PKEY_CTX *ctx);
EVP_PKEY_CTX *bgpmesh_EVP_PKEY_CTX_new_from_name(OSSL_LIB_CTX *libctx, const char *name, const char *propquery);
int bgpmesh_EVP_PKEY_CTX_set_rsa_keygen_bits(EVP_PKEY_CTX *ctx, int bits);
int bgpmesh_EVP_PKEY_generate(EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey);
int bgpmesh_EVP_PKEY_keygen_init(EVP_PKEY_CTX *ctx);
int bgpmesh_i2d_PrivateKey(const EVP_PKEY *a, unsigned char **pp);

#endif
