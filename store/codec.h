// Byte-level helpers shared by the store's records: fixed-width big-endian keys (so LMDB's
// default memcmp order is numeric order), SHA-256, hex.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cells::store {

using Hash = std::array<uint8_t, 32>;

std::string encode_u64_be(uint64_t v, int width = 8);
// Reads the first WIDTH bytes of S (callers check the size first); 0 if S is shorter.
uint64_t decode_u64_be(std::string_view s, int width = 8);

Hash sha256(std::string_view data);
std::string to_hex(std::string_view bytes);
inline std::string to_hex(const Hash& h) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}
std::string base64(std::string_view bytes);

}  // namespace cells::store
