// COpenSSL: libssl/libcrypto for TLS over memory BIOs and for request signing (HMAC, Ed25519).
// Function-like macros do not import into Swift; the Wire issue adds `static inline` wrappers
// here for the ones it uses (SSL_set_tlsext_host_name, SSL_CTX_set_min_proto_version, ...).
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509v3.h>
#endif
