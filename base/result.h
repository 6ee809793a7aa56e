// cells::Result<T>: a value or an Error (std::expected is C++23; this is the C++20 stand-in).
//
//   Result<Fd> open_dir(...);
//   auto fd = CELLS_TRY(open_dir(path));          // returns the Error from the caller on failure
//   if (auto r = thing(); !r) return std::move(r).error().wrap("while doing X");
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "base/error.h"

namespace cells {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  void value() const { assert(ok()); }
  void operator*() const {}
  const Error& error() const& { assert(!ok()); return err_; }
  Error&& error() && { assert(!ok()); return std::move(err_); }

 private:
  Error err_{ErrorKind::kSystem, ""};
  bool failed_ = false;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

}  // namespace cells

// Evaluates a Result expression; on failure returns its Error from the enclosing function,
// otherwise yields the value. Uses a GNU statement expression (g++ and clang both accept it).
#define CELLS_TRY(expr)                                   \
  ({                                                      \
    auto cells_try_r_ = (expr);                           \
    if (!cells_try_r_.ok()) return std::move(cells_try_r_).error(); \
    *std::move(cells_try_r_);                             \
  })

// As CELLS_TRY, but adds context to the error on the way out.
#define CELLS_TRY_CTX(expr, ctx)                          \
  ({                                                      \
    auto cells_try_r_ = (expr);                           \
    if (!cells_try_r_.ok()) return std::move(cells_try_r_).error().wrap(ctx); \
    *std::move(cells_try_r_);                             \
  })
