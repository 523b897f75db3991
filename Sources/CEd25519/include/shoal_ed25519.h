#ifndef SHOAL_ED25519_H
#define SHOAL_ED25519_H

#include <stddef.h>
#include <stdint.h>

// Ed25519 (RFC 8032) and SHA-256 over libsodium, with raw byte arrays only, so that no
// library type crosses into Swift. Thread-safe. Each function returns 1 on success, 0 on failure.

/// The 32-byte public key of a 32-byte private seed.
int shoal_ed25519_public_key(const uint8_t seed[32], uint8_t public_key[32]);

/// Signs `length` bytes at `message` with the key of `seed`; writes 64 bytes.
int shoal_ed25519_sign(const uint8_t seed[32], const uint8_t *message, size_t length, uint8_t signature[64]);

/// 1 when `signature` is `public_key`'s over the message; 0 otherwise (also for a key that
/// is not a point on the curve).
int shoal_ed25519_verify(const uint8_t public_key[32], const uint8_t *message, size_t length,
                         const uint8_t signature[64]);

/// SHA-256 of `length` bytes.
int shoal_sha256(const uint8_t *message, size_t length, uint8_t digest[32]);

#endif
