#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

// SHA-256 through the low-level API, not EVP: a process's first EVP digest initialises OpenSSL 3's
// default provider and its algorithm name map (about 5 million instructions, ~1.5 ms), and every
// worker checks its artifact's metadata checksum while it starts. The low-level functions run the
// same assembly without the provider; they are deprecated in 3.0, hence the pragmas.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline void petrel_sha256_init(SHA256_CTX *c) { SHA256_Init(c); }
static inline void petrel_sha256_update(SHA256_CTX *c, const void *p, size_t n) { SHA256_Update(c, p, n); }
static inline void petrel_sha256_final(SHA256_CTX *c, unsigned char *out) { SHA256_Final(out, c); }
#pragma clang diagnostic pop
