// Gives freed heap back to the kernel some time after a burst of deletes.
//
// glibc keeps what berthd freed: after 1,000 tasks came and went berthd
// stayed at 35 MiB (bench/berthd-memory). A trim walks the heap, so it runs
// once, a second after the last delete of a burst, not per delete.
#pragma once

#include "common/asio.h"

#include <chrono>

namespace berth {

class HeapTrimmer {
 public:
  explicit HeapTrimmer(asio::io_context& io, std::chrono::milliseconds delay = std::chrono::seconds(1));
  // Something sizeable was freed: trim `delay` from now (once per burst).
  void soon();

 private:
  asio::steady_timer timer_;
  std::chrono::milliseconds delay_;
  bool armed_ = false;
};

}  // namespace berth
