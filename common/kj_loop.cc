#include "common/kj_loop.h"

#include "common/log.h"

namespace berth {

namespace {
thread_local KjLoop* currentLoop = nullptr;
// Turns per Asio handler: enough to drain a burst of RPC, few enough that Asio's
// own handlers (timers, signals, child exits) are never starved.
constexpr uint kTurnsPerHandler = 256;
}  // namespace

class KjLoop::Port final : public kj::EventPort {
 public:
  explicit Port(asio::io_context& io) : io_(io) {}
  ~Port() { *alive_ = false; }

  void attach(kj::EventLoop& loop) { loop_ = &loop; }

  // Only used by Promise::wait() at top level (tests, start-up): let Asio
  // deliver one event, which may fulfill KJ promises.
  bool wait() override {
    io_.run_one();
    return false;
  }
  bool poll() override {
    io_.poll();
    return false;
  }

  void setRunnable(bool runnable) override {
    if (runnable) schedule();
  }

 private:
  void schedule() {
    if (posted_) return;
    posted_ = true;
    asio::post(io_, [this, alive = alive_] {
      if (!*alive) return;
      posted_ = false;
      loop_->run(kTurnsPerHandler);
      // run() reports setRunnable(false) only when the queue empties; if turns
      // ran out first it says nothing, so we must come back on our own.
      if (loop_->isRunnable()) schedule();
    });
  }

  asio::io_context& io_;
  kj::EventLoop* loop_ = nullptr;
  bool posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class KjLoop::ErrorLogger final : public kj::TaskSet::ErrorHandler {
 public:
  void taskFailed(kj::Exception&& exception) override {
    BERTH_LOG(warn) << "background task failed: " << exception.getDescription().cStr();
  }
};

KjLoop::KjLoop(asio::io_context& io)
    : io_(io),
      port_(std::make_unique<Port>(io)),
      loop_(*port_),
      waitScope_(loop_),
      errorLogger_(std::make_unique<ErrorLogger>()),
      tasks_(kj::heap<kj::TaskSet>(*errorLogger_)) {
  KJ_REQUIRE(currentLoop == nullptr, "one KjLoop per thread");
  port_->attach(loop_);
  currentLoop = this;
}

KjLoop::~KjLoop() {
  tasks_ = nullptr;
  currentLoop = nullptr;
}

void KjLoop::detach(kj::Promise<void> promise, const char* what) {
  tasks_->add(promise.eagerlyEvaluate([what](kj::Exception&& e) {
    BERTH_LOG(warn) << what << ": " << e.getDescription().cStr();
  }));
}

KjLoop& KjLoop::current() {
  KJ_REQUIRE(currentLoop != nullptr, "no KjLoop on this thread");
  return *currentLoop;
}

}  // namespace berth
