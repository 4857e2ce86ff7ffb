#include "manager/heap_trim.h"

#include <malloc.h>

namespace berth {

HeapTrimmer::HeapTrimmer(asio::io_context& io, std::chrono::milliseconds delay)
    : timer_(io), delay_(delay) {}

void HeapTrimmer::soon() {
  if (armed_) return;
  armed_ = true;
  timer_.expires_after(delay_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    armed_ = false;
    if (ec) return;
    ::malloc_trim(0);
  });
}

}  // namespace berth
