// examples/blue-green end to end: every block of its README in order on a scratch root, while
// a sampler requests http://127.0.0.1:8080/ every 20 ms. It checks which colour answers after
// each step, that a broken edge configuration is rolled back to the old colour, and that the
// edge never stops answering: its plan only writes files and it has a reload signal, so apply
// changes the files under the running nginx and reloads it (docs/DECISIONS.md 71).
#include <gmock/gmock.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "tests/e2e/harness.h"

namespace cells::e2e::testing {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// What the sampler saw during one window (one README block).
struct Window {
  int served = 0, unserved = 0;
  std::map<std::string, int> bodies;  // what answered, by page
  double longest_gap_ms = 0;          // longest run of unanswered requests
};

class Sampler {
 public:
  Sampler() : thread_([this] { loop(); }) {}
  ~Sampler() {
    stop_ = true;
    thread_.join();
  }
  // Starts a new window and returns the previous one, once that has at least MIN_SAMPLES
  // requests in it (or after 30 s): a fixed sleep can end before a loaded machine answered.
  Window next(int min_samples = 0) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    std::unique_lock<std::mutex> lock(mu_);
    while (current_.served + current_.unserved < min_samples && Clock::now() < deadline) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lock.lock();
    }
    Window w = current_;
    current_ = Window{};
    gap_start_.reset();
    return w;
  }

 private:
  void loop() {
    while (!stop_) {
      const auto t = Clock::now();
      auto r = http(8080, "GET", "/", "", std::chrono::milliseconds(1000));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (r && r->status == 200) {
          ++current_.served;
          ++current_.bodies[r->body];
          gap_start_.reset();
        } else {
          ++current_.unserved;
          if (!gap_start_) gap_start_ = t;
          double ms = std::chrono::duration<double, std::milli>(Clock::now() - *gap_start_).count();
          current_.longest_gap_ms = std::max(current_.longest_gap_ms, ms);
        }
      }
      std::this_thread::sleep_until(t + std::chrono::milliseconds(20));
    }
  }
  std::mutex mu_;
  Window current_;
  std::optional<Clock::time_point> gap_start_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class BlueGreen : public ExampleTest {};

TEST_F(BlueGreen, SwitchesByPlanAndRollsBackABrokenEdge) {
  load_example("blue-green");
  ASSERT_EQ(blocks_.size(), 6u) << "setup, blue, green, broken, restore plan, clean up";

  Outcome blue = run_block(1);
  ASSERT_EQ(blue.status, 0) << blue.out << blue.err;
  EXPECT_THAT(blue.out, HasSubstr("summary: cells=3 changed=3 failed=0"));
  EXPECT_TRUE(blue.out.ends_with("\nblue\n")) << blue.out;

  std::optional<Sampler> sampler;
  sampler.emplace();
  Window steady = sampler->next(15);  // about 300 ms at one request per 20 ms

  // Switch: only the edge changes, and afterwards green answers.
  Outcome green = run_block(2);
  ASSERT_EQ(green.status, 0) << green.out << green.err;
  EXPECT_THAT(green.out, HasSubstr("cell blue\n  RESULT       unchanged\ncell green\n  RESULT       unchanged\n"));
  EXPECT_THAT(green.out, HasSubstr("  RELOAD       supervised service (SIGHUP) after apply"));
  EXPECT_THAT(green.out, ::testing::Not(HasSubstr("RESTART")));
  EXPECT_TRUE(green.out.ends_with("\ngreen\n")) << green.out;
  Window switching = sampler->next();

  // The broken edge: the apply fails its healthcheck, rolls back, and green answers again.
  Outcome broken = run_block(3);
  ASSERT_EQ(broken.status, 0) << broken.out << broken.err;
  EXPECT_THAT(broken.out, HasSubstr("  ERROR        cell edge: healthcheck of edge failed"));
  EXPECT_THAT(broken.out, ::testing::ContainsRegex("ROLLBACK +edge restored to generation 2"));
  EXPECT_THAT(broken.out, HasSubstr("apply failed: exit 1"));
  EXPECT_TRUE(broken.out.ends_with("\ngreen\n")) << broken.out;
  Window rolling_back = sampler->next();

  // The good plan back: nothing to do, it is what runs.
  Outcome good = run_block(4);
  ASSERT_EQ(good.status, 0) << good.out << good.err;
  EXPECT_THAT(good.out, HasSubstr("summary: cells=3 changed=0 failed=0"));
  Window after = sampler->next(15);
  sampler.reset();

  EXPECT_GT(steady.served, 0);
  EXPECT_EQ(steady.unserved, 0);
  EXPECT_EQ(steady.bodies, (std::map<std::string, int>{{"blue\n", steady.served}}));
  // During the switch only blue, then green, ever answered.
  for (const auto& [body, n] : switching.bodies) EXPECT_TRUE(body == "blue\n" || body == "green\n") << body;
  // During the failed apply and after it, only the old colour answered, never blue again.
  EXPECT_EQ(rolling_back.bodies, (std::map<std::string, int>{{"green\n", rolling_back.served}}));
  EXPECT_GT(rolling_back.served, 0);
  EXPECT_GT(after.served, 0);
  EXPECT_EQ(after.unserved, 0);
  EXPECT_EQ(after.bodies, (std::map<std::string, int>{{"green\n", after.served}}));
  // Traffic never stopped: nginx reloads with its listening socket open, and the broken
  // configuration was refused by the running nginx and then replaced by the old one.
  EXPECT_GT(switching.served, 0);
  EXPECT_EQ(switching.unserved, 0);
  EXPECT_EQ(rolling_back.unserved, 0);
  RecordProperty("switch_unserved_ms", std::to_string(switching.longest_gap_ms));
  RecordProperty("rollback_unserved_ms", std::to_string(rolling_back.longest_gap_ms));
  std::printf("switch: %d served, %d unserved, longest gap %.0f ms; broken apply + rollback: "
              "%d served, %d unserved, longest gap %.0f ms\n",
              switching.served, switching.unserved, switching.longest_gap_ms, rolling_back.served,
              rolling_back.unserved, rolling_back.longest_gap_ms);

  Outcome clean = run_block(5);
  ASSERT_EQ(clean.status, 0) << clean.out << clean.err;
  EXPECT_FALSE(http(8080, "GET", "/", "", std::chrono::milliseconds(500)));
  EXPECT_EQ(etc_snapshot().size(), 1u) << "only cellmgr.conf is left";
}

}  // namespace
}  // namespace cells::e2e::testing
