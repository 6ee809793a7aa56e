#include "store/journal.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/files.h"
#include "store/capnp_adapter.h"
#include "store/schema/journal.capnp.h"

namespace cells::store {

std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::kIntent: return "intent";
    case Phase::kDone: return "done";
    case Phase::kFailed: return "failed";
    case Phase::kCompensated: return "compensated";
  }
  return "unknown";
}

Actor Actor::current() {
  Actor a;
  a.uid = ::getuid();
  a.pid = ::getpid();
  if (auto raw = read_file("/proc/self/cmdline"); raw.ok()) {
    std::string s = std::move(*raw);
    while (!s.empty() && s.back() == '\0') s.pop_back();
    std::replace(s.begin(), s.end(), '\0', ' ');
    a.command_line = std::move(s);
  }
  return a;
}

namespace detail {
namespace {

capnp::Data::Reader as_data(std::string_view s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}
capnp::Data::Reader as_data(const Hash& h) { return {h.data(), h.size()}; }
std::string from_data(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
std::string_view hash_view(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

Result<Hash> to_hash(capnp::Data::Reader d, std::string_view field) {
  if (d.size() != 32) {
    return Error(ErrorKind::kCorrupt, std::string(field) + " is " + std::to_string(d.size()) +
                                          " bytes, not 32");
  }
  Hash h;
  std::memcpy(h.data(), d.begin(), 32);
  return h;
}

}  // namespace

std::string encode_entry(const JournalEntry& e) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::JournalEntry>();
  b.setSeq(e.seq);
  b.setTimeNs(e.time_ns);
  auto actor = b.initActor();
  actor.setUid(e.actor.uid);
  actor.setPid(e.actor.pid);
  actor.setCommandLine(e.actor.command_line);
  b.setOperationId(e.operation_id);
  b.setKind(e.kind);
  b.setTarget(e.target);
  b.setPhase(static_cast<schema::Phase>(e.phase));
  b.setBefore(as_data(e.before));
  b.setAfter(as_data(e.after));
  b.setPrevHash(as_data(e.prev_hash));
  std::string body = to_bytes(msg);
  return std::string(hash_view(sha256(body))) + body;
}

Result<JournalEntry> decode_entry(std::string_view stored) {
  if (stored.size() < 32 + 8) {
    return Error(ErrorKind::kCorrupt, "entry is " + std::to_string(stored.size()) +
                                          " bytes, too short to hold a hash and a message");
  }
  std::string_view body = stored.substr(32);
  Hash recorded;
  std::memcpy(recorded.data(), stored.data(), 32);
  Hash actual = sha256(body);
  if (recorded != actual) {
    return Error(ErrorKind::kCorrupt, "content does not match its hash (entry edited)");
  }
  auto parsed = capnp_call("decode entry", [&]() -> Result<JournalEntry> {
    AlignedMessage m(body);
    auto r = m.root<schema::JournalEntry>();
    JournalEntry e;
    e.seq = r.getSeq();
    e.time_ns = r.getTimeNs();
    e.actor.uid = r.getActor().getUid();
    e.actor.pid = r.getActor().getPid();
    e.actor.command_line = r.getActor().getCommandLine();
    e.operation_id = r.getOperationId();
    e.kind = r.getKind();
    e.target = r.getTarget();
    auto phase = static_cast<uint16_t>(r.getPhase());
    if (phase > static_cast<uint16_t>(Phase::kCompensated)) {
      return Error(ErrorKind::kCorrupt, "unknown phase " + std::to_string(phase));
    }
    e.phase = static_cast<Phase>(phase);
    e.before = from_data(r.getBefore());
    e.after = from_data(r.getAfter());
    e.prev_hash = CELLS_TRY(to_hash(r.getPrevHash(), "prevHash"));
    e.hash = actual;
    return e;
  });
  if (!parsed) return std::move(parsed).error();
  return std::move(*parsed);
}

std::string encode_head(const JournalHead& head) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<schema::JournalHead>();
  b.setLastSeq(head.last_seq);
  b.setLastHash(as_data(head.last_hash));
  return to_bytes(msg);
}

Result<JournalHead> decode_head(std::string_view stored) {
  auto parsed = capnp_call("decode journal head", [&]() -> Result<JournalHead> {
    AlignedMessage m(stored);
    auto r = m.root<schema::JournalHead>();
    JournalHead h;
    h.last_seq = r.getLastSeq();
    h.last_hash = CELLS_TRY(to_hash(r.getLastHash(), "journal head hash"));
    return h;
  });
  if (!parsed) return std::move(parsed).error();
  return std::move(*parsed);
}

Result<uint64_t> append_entry(Txn& txn, MDB_dbi journal, JournalHead& head, const Actor& actor,
                              uint64_t operation_id, const EntryDraft& draft, int64_t time_ns) {
  JournalEntry e;
  e.seq = head.last_seq + 1;
  e.time_ns = time_ns;
  e.actor = actor;
  e.operation_id = operation_id;
  e.kind = draft.kind;
  e.target = draft.target;
  e.phase = draft.phase;
  e.before = draft.before;
  e.after = draft.after;
  e.prev_hash = head.last_hash;
  std::string value = encode_entry(e);
  // MDB_APPEND both asserts that seq is the largest key and skips the B-tree search.
  CELLS_TRY(txn.put(journal, encode_u64_be(e.seq), value, MDB_APPEND));
  head.last_seq = e.seq;
  std::memcpy(head.last_hash.data(), value.data(), 32);
  return e.seq;
}

Result<VerifyReport> verify_chain(const Txn& txn, MDB_dbi journal,
                                  const std::optional<JournalHead>& head) {
  VerifyReport report;
  auto fail = [&](uint64_t seq, std::string what) {
    report.problem = VerifyProblem{seq, std::move(what)};
    return report;
  };
  Cursor cur = CELLS_TRY(Cursor::open(txn, journal));
  uint64_t expect = 1;
  Hash prev{};
  for (auto item = CELLS_TRY(cur.get(MDB_FIRST)); item; item = CELLS_TRY(cur.get(MDB_NEXT))) {
    auto [key, value] = *item;
    if (key.size() != 8) return fail(expect, "key of " + std::to_string(key.size()) +
                                                 " bytes where seq " + std::to_string(expect) +
                                                 " should be (foreign record in the journal)");
    uint64_t seq = decode_u64_be(key);
    if (seq != expect) {
      return fail(expect, "entry missing (deleted): the next entry present is seq " +
                              std::to_string(seq));
    }
    auto e = decode_entry(value);
    if (!e) return fail(seq, e.error().message());
    if (e->seq != seq) {
      return fail(seq, "entry records seq " + std::to_string(e->seq) +
                           " (entries moved or reordered)");
    }
    if (e->prev_hash != prev) {
      return fail(seq, "its previous-entry hash does not match seq " + std::to_string(seq - 1) +
                           " (an earlier entry was replaced, or entries were reordered)");
    }
    prev = e->hash;
    ++report.entries;
    ++expect;
  }
  uint64_t last = expect - 1;
  if (!head) {
    if (last == 0) return report;
    return fail(last, "journal head record is missing");
  }
  if (head->last_seq > last) {
    return fail(last + 1, "entry missing (deleted): the head records seq " +
                              std::to_string(head->last_seq) + " as the newest entry");
  }
  if (head->last_seq < last) {
    return fail(head->last_seq + 1, "entry is not recorded by the journal head (appended "
                                    "outside the store, or the head was rolled back)");
  }
  if (head->last_hash != prev) {
    return fail(last, "content does not match the hash in the journal head (entry replaced)");
  }
  return report;
}

}  // namespace detail
}  // namespace cells::store
