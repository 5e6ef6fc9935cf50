// COpenSSL: libssl/libcrypto for TLS over memory BIOs and for request signing (HMAC, Ed25519).
// Function-like macros do not import into Swift: each wrapper below stands for one, and can go
// when Swift imports the macro.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <string.h>

// SSL_set_tlsext_host_name (macro): the SNI name a client sends.
static inline long copenssl_set_sni(SSL *ssl, const char *name) {
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)name);
}

// SSL_CTX_set_min_proto_version (macro).
static inline long copenssl_set_min_proto(SSL_CTX *ctx, int version) {
  return SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, version, NULL);
}

// SSL_CTX_set_max_proto_version (macro).
static inline long copenssl_set_max_proto(SSL_CTX *ctx, int version) {
  return SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, version, NULL);
}

// SSL_CTX_set_mode (macro).
static inline long copenssl_ctx_set_mode(SSL_CTX *ctx, long mode) {
  return SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, mode, NULL);
}

// SSL_CTX_clear_mode (macro).
static inline long copenssl_ctx_clear_mode(SSL_CTX *ctx, long mode) {
  return SSL_CTX_ctrl(ctx, SSL_CTRL_CLEAR_MODE, mode, NULL);
}

// SSL_CTX_get_mode (macro).
static inline long copenssl_ctx_get_mode(SSL_CTX *ctx) { return SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, 0, NULL); }

// HMAC-SHA256 with the key's inner and outer pad states computed once: signing a message is two
// SHA-256 continuations from copies of those states (plain structs), so nothing is allocated per
// message — OpenSSL 3's HMAC()/EVP_MAC allocate a context on every call.
typedef struct {
  SHA256_CTX inner;
  SHA256_CTX outer;
} copenssl_hmac256_key;

static inline void copenssl_hmac256_init(copenssl_hmac256_key *k, const unsigned char *key, size_t n) {
  unsigned char block[64];
  unsigned char pad[64];
  memset(block, 0, sizeof block);
  if (n > 64) SHA256(key, n, block); else memcpy(block, key, n);
  for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&k->inner);
  SHA256_Update(&k->inner, pad, 64);
  for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&k->outer);
  SHA256_Update(&k->outer, pad, 64);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
}

// Writes HMAC-SHA256(key, msg) as 64 lower-case hex characters to out (no terminator).
static inline void copenssl_hmac256_hex(const copenssl_hmac256_key *k, const void *msg, size_t n, char *out) {
  static const char hex[] = "0123456789abcdef";
  SHA256_CTX c = k->inner;
  unsigned char d[32];
  SHA256_Update(&c, msg, n);
  SHA256_Final(d, &c);
  c = k->outer;
  SHA256_Update(&c, d, 32);
  SHA256_Final(d, &c);
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[d[i] >> 4];
    out[2 * i + 1] = hex[d[i] & 15];
  }
}
// One TLS 1.3 AES-GCM record, sealed or opened in place on a keyed context. Two OpenSSL 3
// costs are kept off each record: EVP_CipherInit_ex2 with only a nonce (EVP_CipherInit_ex
// re-enters the legacy init path), and the tag read or set through one prepared parameter
// instead of EVP_CIPHER_CTX_ctrl, which builds a parameter list and has the provider look up
// every name it knows by strcmp. `record` = header(5) || n bytes || 16-byte tag; the nonce is
// iv XOR the record's sequence number (RFC 8446 5.3), made here on the stack.
static inline void copenssl_tls13_nonce(unsigned char *nonce, const unsigned char *iv, uint64_t seq) {
  memcpy(nonce, iv, 12);
  for (int i = 0; i < 8; i++) nonce[4 + i] ^= (unsigned char)(seq >> (56 - 8 * i));
}

// The nonce, the header as AAD, and the body in place: what sealing and opening share.
static inline int copenssl_gcm_begin(EVP_CIPHER_CTX *c, const unsigned char *iv, uint64_t seq, int enc,
                                     unsigned char *record, int n) {
  int outl = 0;
  unsigned char nonce[12];
  copenssl_tls13_nonce(nonce, iv, seq);
  return EVP_CipherInit_ex2(c, NULL, NULL, nonce, enc, NULL) == 1 &&
         EVP_CipherUpdate(c, NULL, &outl, record, 5) == 1 &&
         EVP_CipherUpdate(c, record + 5, &outl, record + 5, n) == 1;
}

static inline int copenssl_gcm_seal(EVP_CIPHER_CTX *c, const unsigned char *iv, uint64_t seq, unsigned char *record, int n) {
  int outl = 0;
  if (!copenssl_gcm_begin(c, iv, seq, 1, record, n)) return 0;
  if (EVP_CipherFinal_ex(c, record + 5 + n, &outl) != 1) return 0;
  OSSL_PARAM p[2];
  p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, record + 5 + n, 16);
  p[1] = OSSL_PARAM_construct_end();
  return EVP_CIPHER_CTX_get_params(c, p);
}

static inline int copenssl_gcm_open(EVP_CIPHER_CTX *c, const unsigned char *iv, uint64_t seq, unsigned char *record, int n) {
  int outl = 0;
  if (!copenssl_gcm_begin(c, iv, seq, 0, record, n)) return 0;
  OSSL_PARAM p[2];
  p[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, record + 5 + n, 16);
  p[1] = OSSL_PARAM_construct_end();
  if (EVP_CIPHER_CTX_set_params(c, p) != 1) return 0;
  return EVP_CipherFinal_ex(c, record + 5 + n, &outl);
}
#endif
