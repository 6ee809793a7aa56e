// Journal entries: the C++ values the store hands out, their encoding, and the hash chain.
//
// Stored layout of one entry (database "journal", key = seq as 8 big-endian bytes):
//   value = SHA-256(message) [32 bytes] || message (a flat Cap'n Proto JournalEntry)
// The leading hash lets verify name the edited entry itself; the message's prevHash (the
// predecessor's leading hash) and the head record chain the entries, so that an edit whose hash
// was recomputed, a deletion, or a reordering is still detected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "store/codec.h"
#include "store/lmdb.h"

namespace cells::store {

enum class Phase { kIntent, kDone, kFailed, kCompensated };
std::string_view to_string(Phase phase);

struct Actor {
  uint32_t uid = 0;
  int32_t pid = 0;
  std::string command_line;  // arguments joined by single spaces

  // The calling process (uid, pid, /proc/self/cmdline).
  static Actor current();
};

// What a writer supplies; the store fills in seq, time, actor, operation id and prev hash.
struct EntryDraft {
  std::string kind;    // dotted verb: "cell.create", "generation.commit"
  std::string target;  // "cell/web", "volume/data", "generation/7"
  Phase phase = Phase::kIntent;
  std::string before;  // image before the change (may be empty)
  std::string after;   // image after the change (may be empty)
};

struct JournalEntry {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  Actor actor;
  uint64_t operation_id = 0;
  std::string kind;
  std::string target;
  Phase phase = Phase::kIntent;
  std::string before;
  std::string after;
  Hash prev_hash{};
  Hash hash{};  // of this entry's message, as stored
};

struct JournalHead {
  uint64_t last_seq = 0;
  Hash last_hash{};  // all zero for an empty journal
};

// The first problem verify found; seq names the entry, what says what is wrong with it.
struct VerifyProblem {
  uint64_t seq = 0;
  std::string what;
};

struct VerifyReport {
  uint64_t entries = 0;                  // entries checked
  std::optional<VerifyProblem> problem;  // nullopt when the journal is intact
};

namespace detail {

// Encodes ENTRY (seq, time, ..., prev_hash; its hash field is ignored) as the stored value.
std::string encode_entry(const JournalEntry& entry);
// Decodes a stored value. Errors: kCorrupt when the value is too short, its leading hash does not
// match its message, or the message is malformed.
Result<JournalEntry> decode_entry(std::string_view stored);

std::string encode_head(const JournalHead& head);
Result<JournalHead> decode_head(std::string_view stored);

// Appends one entry inside TXN (a write txn) after HEAD, updating HEAD in memory; the caller
// writes the head record back once per txn. Poisons TXN on failure.
Result<uint64_t> append_entry(Txn& txn, MDB_dbi journal, JournalHead& head, const Actor& actor,
                              uint64_t operation_id, const EntryDraft& draft, int64_t time_ns);

// Walks the whole journal in TXN and checks every link; HEAD is the stored head record, if any.
Result<VerifyReport> verify_chain(const Txn& txn, MDB_dbi journal,
                                  const std::optional<JournalHead>& head);

}  // namespace detail
}  // namespace cells::store
