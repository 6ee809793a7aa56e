#include "backup/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>

#include <vector>

#include "base/syscall.h"

namespace cells::backup {

void Sha256::CtxFree::operator()(void* ctx) const {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx));
}

Result<Sha256> Sha256::create() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return Error(ErrorKind::kSystem, "sha256: out of memory");
  Sha256 s(ctx);
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    return Error(ErrorKind::kSystem, "sha256: EVP_DigestInit_ex failed");
  }
  return s;
}

void Sha256::update(const void* data, size_t len) {
  // Cannot fail for an initialised software digest; the return code carries no information.
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_.get()), data, len);
}

std::string Sha256::finish_hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_.get()), md, &n);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

Result<std::string> sha256_file(const std::string& path) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return Error(ErrorKind::kNotFound, "no archive " + path, ENOENT);
    return Error::sys(errno, "open " + path);
  }
  Fd fd(raw);
  Sha256 sha = CELLS_TRY(Sha256::create());
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = CELLS_SYSCALL(::read(fd.get(), buf.data(), buf.size()), "read " + path);
    if (n == 0) break;
    sha.update(buf.data(), static_cast<size_t>(n));
  }
  return sha.finish_hex();
}

}  // namespace cells::backup
