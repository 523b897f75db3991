#include "shoal_ed25519.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

// libsodium, not OpenSSL's EVP: the first EVP call loads OpenSSL 3's configuration and
// default provider, 2 MiB of an agent's resident memory (bench/README.md, agent-rss);
// sodium_init only picks implementations and opens the random source.
static pthread_once_t initialized = PTHREAD_ONCE_INIT;
static int usable = 0;

static void initialize(void) { usable = sodium_init() >= 0; }

static int ready(void) {
    pthread_once(&initialized, initialize);
    return usable;
}

int shoal_ed25519_public_key(const uint8_t seed[32], uint8_t public_key[32]) {
    unsigned char secret[crypto_sign_SECRETKEYBYTES];
    if (!ready() || crypto_sign_seed_keypair(public_key, secret, seed) != 0) return 0;
    sodium_memzero(secret, sizeof secret);
    return 1;
}

int shoal_ed25519_sign(const uint8_t seed[32], const uint8_t *message, size_t length, uint8_t signature[64]) {
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    unsigned char secret[crypto_sign_SECRETKEYBYTES];
    if (!ready() || crypto_sign_seed_keypair(public_key, secret, seed) != 0) return 0;
    int ok = crypto_sign_detached(signature, NULL, message, length, secret) == 0;
    sodium_memzero(secret, sizeof secret);
    return ok;
}

int shoal_ed25519_verify(const uint8_t public_key[32], const uint8_t *message, size_t length,
                         const uint8_t signature[64]) {
    return ready() && crypto_sign_verify_detached(signature, message, length, public_key) == 0;
}

int shoal_sha256(const uint8_t *message, size_t length, uint8_t digest[32]) {
    return ready() && crypto_hash_sha256(digest, message, length) == 0;
}
