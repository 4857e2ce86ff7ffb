#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <vector>

#include "manager/heap_trim.h"

namespace {

// Resident pages of this process, in KiB.
long residentKib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace

TEST_CASE("HeapTrimmer gives freed heap back once, after the delay") {
  asio::io_context io;
  berth::HeapTrimmer trimmer(io, std::chrono::milliseconds(20));
  // 32 MiB in small blocks (heap, not mmap), then one block above them, so
  // freeing them leaves a hole glibc keeps: only a trim returns it.
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 32 * 1024; ++i) {
    blocks.emplace_back(new char[1000]);
    std::fill_n(blocks.back().get(), 1000, 'x');
  }
  auto fence = std::make_unique<char[]>(1000);
  std::fill_n(fence.get(), 1000, 'y');
  blocks.clear();
  long held = residentKib();

  trimmer.soon();
  trimmer.soon();  // a burst: still one trim
  io.run_for(std::chrono::milliseconds(5));
  CHECK(residentKib() > held - 8 * 1024);  // not before the delay
  io.run_for(std::chrono::milliseconds(100));
  CHECK(residentKib() < held - 16 * 1024);  // most of the 32 MiB is back
  CHECK(io.stopped());                      // nothing left pending: it fired once
}
