// The one adapter between Cap'n Proto (which throws kj::Exception on malformed input) and
// cells::Result. Internal to store/: public headers never expose capnp types.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/result.h"
#include "base/text.h"

namespace cells::store::detail {

// Runs F; a kj::Exception becomes kCorrupt "<what>: <description>", on one line: the
// description quotes the failed check and the bytes it saw (fuzz_journal found a newline).
template <typename F>
auto capnp_call(std::string_view what, F&& f) -> Result<std::invoke_result_t<F>> {
  try {
    return f();
  } catch (const kj::Exception& e) {
    return Error(ErrorKind::kCorrupt,
                 std::string(what) + ": " + ::cells::one_line(e.getDescription().cStr()));
  }
}

inline std::string to_bytes(capnp::MessageBuilder& msg) {
  auto words = capnp::messageToFlatArray(msg);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Reads BYTES as one Cap'n Proto message. FlatArrayMessageReader needs 8-byte alignment and
// LMDB values carry no guarantee: a value that is aligned (every large one: LMDB keeps it on
// its own pages) is read in place, any other is copied into word-aligned storage. Either way
// the reader must not outlive BYTES. Reading limits stay at capnp's defaults, which bound the
// work a hostile message can cause.
class AlignedMessage {
 public:
  explicit AlignedMessage(std::string_view bytes) {
    if (bytes.size() % 8 != 0) {
      KJ_FAIL_REQUIRE("message size is not a multiple of 8 bytes", bytes.size());
    }
    kj::ArrayPtr<const capnp::word> words;
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
      // In place: a lookup of one cell in a generation of 1,000 must not copy all of them.
      words = {reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / 8};
    } else {
      copy_ = kj::heapArray<capnp::word>(bytes.size() / 8);
      std::memcpy(copy_.begin(), bytes.data(), bytes.size());
      words = copy_.asPtr();
    }
    // Cap'n Proto's default traversal limit (8 Mi words) lets a small damaged record claim
    // millions of zero-sized list elements, each decoded into a whole C++ value: fuzz_journal
    // found a 681-byte generation that took a minute and gigabytes to decode. The decoders
    // read each pointer a few times at most, so a limit proportional to the message refuses
    // that amplification and no real record.
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * 8 + 1024;
    reader_.emplace(words, options);
  }
  template <typename T>
  typename T::Reader root() {
    return reader_->getRoot<T>();
  }

 private:
  kj::Array<capnp::word> copy_;  // empty when read in place
  std::optional<capnp::FlatArrayMessageReader> reader_;
};

}  // namespace cells::store::detail
