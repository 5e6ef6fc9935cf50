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
#endif
