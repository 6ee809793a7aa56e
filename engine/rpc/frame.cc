#include "engine/rpc/frame.h"

#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>
#include <kj/async-io.h>

#include <cstring>
#include <utility>

#include "engine/rpc/cells.capnp.h"

namespace cells::rpc {

struct FrameHarness::Impl {
  explicit Impl(ServeConfig c) : cfg(std::move(c)), io(kj::setupAsyncIo()) {}

  // A fresh connection: the session on one end of the pipe, a reader draining the other.
  void open() {
    auto pipe = kj::newTwoWayPipe();
    bridge_end = kj::mv(pipe.ends[0]);
    peer_end = kj::mv(pipe.ends[1]);
    session = std::make_unique<Session>(cfg, *bridge_end, *bridge_end, io.provider->getTimer());
    ended = false;
    running = session->run().then([this] { ended = true; }, [this](kj::Exception&&) { ended = true; })
                  .eagerlyEvaluate(nullptr);
    reading = drain().eagerlyEvaluate(nullptr);
  }

  void close() {
    reading = nullptr;
    running = nullptr;
    session.reset();
    peer_end = nullptr;
    bridge_end = nullptr;
  }

  kj::Promise<void> drain() {
    return peer_end->tryRead(buffer, 1, sizeof buffer)
        .then([this](size_t n) -> kj::Promise<void> {
          if (n == 0) return kj::READY_NOW;
          output.append(reinterpret_cast<const char*>(buffer), n);
          return drain();
        }, [](kj::Exception&&) {});
  }

  ServeConfig cfg;
  kj::AsyncIoContext io;
  kj::Own<kj::AsyncIoStream> bridge_end, peer_end;
  std::unique_ptr<Session> session;
  kj::Promise<void> running = nullptr, reading = nullptr;
  bool ended = false;
  kj::byte buffer[4096];
  std::string output;
};

FrameHarness::FrameHarness(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FrameHarness::~FrameHarness() {
  if (impl_) impl_->close();
}

Result<std::unique_ptr<FrameHarness>> FrameHarness::create(ServeConfig cfg) {
  try {
    auto impl = std::make_unique<Impl>(std::move(cfg));
    impl->open();
    return std::unique_ptr<FrameHarness>(new FrameHarness(std::move(impl)));
  } catch (const kj::Exception& e) {
    return Error(ErrorKind::kSystem, std::string("frame harness: ") + e.getDescription().cStr());
  }
}

Status FrameHarness::handle_frame(std::string_view bytes) {
  Impl& h = *impl_;
  try {
    if (h.ended) {
      h.close();
      h.open();
    }
    auto written = h.peer_end->write(bytes.data(), bytes.size())
                       .then([] {}, [](kj::Exception&&) {})
                       .eagerlyEvaluate(nullptr);
    h.io.waitScope.poll();
    if (h.ended) {
      std::string why = h.session->failure().value_or("the connection ended");
      return Error::invalid("bridge ended the connection: " + why);
    }
  } catch (const kj::Exception& e) {
    return Error(ErrorKind::kSystem, std::string("frame harness: ") + e.getDescription().cStr());
  }
  return ok_status();
}

std::string FrameHarness::take_output() { return std::exchange(impl_->output, {}); }

namespace {
std::string to_bytes(capnp::MessageBuilder& m) {
  auto words = capnp::messageToFlatArray(m);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}
}  // namespace

std::string bootstrap_frame(uint32_t question) {
  capnp::MallocMessageBuilder m;
  m.initRoot<capnp::rpc::Message>().initBootstrap().setQuestionId(question);
  return to_bytes(m);
}

std::string call_frame(uint32_t question, uint32_t boot, uint64_t iface, uint16_t method) {
  capnp::MallocMessageBuilder m;
  auto c = m.initRoot<capnp::rpc::Message>().initCall();
  c.setQuestionId(question);
  c.initTarget().initPromisedAnswer().setQuestionId(boot);
  c.setInterfaceId(iface);
  c.setMethodId(method);
  c.initParams().initContent();
  return to_bytes(m);
}

uint64_t bridge_interface_id() { return capnp::typeId<schema::Bridge>(); }

Result<PeerView> read_output(std::string_view bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0) return Error(ErrorKind::kCorrupt, "partial frame");
  auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  PeerView view;
  try {
    kj::ArrayPtr<const capnp::word> rest = words;
    while (rest.size() > 0) {
      capnp::FlatArrayMessageReader reader(rest);
      auto m = reader.getRoot<capnp::rpc::Message>();
      if (m.isReturn()) {
        auto r = m.getReturn();
        view.returns[r.getAnswerId()] =
            r.isException() ? std::optional<std::string>(r.getException().getReason().cStr())
                            : std::nullopt;
      } else if (m.isAbort()) {
        view.abort = m.getAbort().getReason().cStr();
      }
      rest = kj::arrayPtr(reader.getEnd(), rest.end());
    }
  } catch (const kj::Exception& e) {
    return Error(ErrorKind::kCorrupt, std::string("bridge output: ") + e.getDescription().cStr());
  }
  return view;
}

}  // namespace cells::rpc
