// Between the plain values of types.h and the Cap'n Proto structs of cells.capnp: the server
// fills builders with fill(), the client reads readers with to_plain(). One pair per struct,
// so both sides agree field by field (codec_test.cc round-trips every one).
#pragma once

#include <capnp/list.h>

#include <string>
#include <vector>

#include "engine/rpc/cells.capnp.h"
#include "engine/rpc/types.h"

namespace cells::rpc {

void fill(schema::Cell::Builder b, const CellInfo& v);
void fill(schema::Volume::Builder b, const VolumeInfo& v);
void fill(schema::Overlay::Builder b, const OverlayInfo& v);
void fill(schema::Backup::Builder b, const BackupInfo& v);
void fill(schema::JournalEntry::Builder b, const JournalRecord& v);
void fill(schema::CellStats::Builder b, const CellTelemetry& v);
void fill(schema::ApplyOutcome::Builder b, const ApplyResult& v);
void fill(schema::BackupMade::Builder b, const BackupMade& v);
void fill(schema::RestoreDone::Builder b, const RestoreDone& v);

CellInfo to_plain(schema::Cell::Reader r);
VolumeInfo to_plain(schema::Volume::Reader r);
OverlayInfo to_plain(schema::Overlay::Reader r);
BackupInfo to_plain(schema::Backup::Reader r);
JournalRecord to_plain(schema::JournalEntry::Reader r);
CellTelemetry to_plain(schema::CellStats::Reader r);
ApplyResult to_plain(schema::ApplyOutcome::Reader r);
BackupMade to_plain(schema::BackupMade::Reader r);
RestoreDone to_plain(schema::RestoreDone::Reader r);

schema::BackupKind to_schema(BackupKind k);
BackupKind to_plain(schema::BackupKind k);

// Lists: a builder list initialised to VALUES' size and filled element by element.
template <typename S, typename T>
void fill_list(typename capnp::List<S>::Builder out, const std::vector<T>& values) {
  for (unsigned i = 0; i < values.size(); ++i) fill(out[i], values[i]);
}
template <typename S, typename T = decltype(to_plain(std::declval<typename S::Reader>()))>
std::vector<T> to_plain_list(typename capnp::List<S>::Reader in) {
  std::vector<T> out;
  out.reserve(in.size());
  for (auto r : in) out.push_back(to_plain(r));
  return out;
}

void fill_texts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& values);
std::vector<std::string> to_strings(capnp::List<capnp::Text>::Reader in);

}  // namespace cells::rpc
