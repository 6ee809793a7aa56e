#include "store/codec.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace cells::store {

std::string encode_u64_be(uint64_t v, int width) {
  std::string out(static_cast<size_t>(width), '\0');
  for (int i = width - 1; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = char(v & 0xff);
  return out;
}

uint64_t decode_u64_be(std::string_view s, int width) {
  if (s.size() < static_cast<size_t>(width)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(s[static_cast<size_t>(i)]);
  return v;
}

Hash sha256(std::string_view data) {
  Hash h;
  // One-shot SHA256() cannot fail for in-memory input, unlike the EVP streaming API.
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), h.data());
  return h;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(static_cast<size_t>(4 * ((bytes.size() + 2) / 3)), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace cells::store
