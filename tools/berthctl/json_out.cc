#include "tools/berthctl/json_out.h"

#include "tools/berthctl/client.h"

#include "common/errors.h"
#include "common/timeutil.h"

#include <cerrno>
#include <cstdio>

namespace berthctl {

using nlohmann::ordered_json;

namespace {
std::string text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
}  // namespace

ordered_json stateJson(berth::wire::ProcessState::Reader state) {
  ordered_json j;
  j["id"] = text(state.getId());
  j["pid"] = state.getPid();
  j["status"] = statusName(state.getStatus());
  auto exit = state.getExit();
  j["exit_status"] = exitStatusCode(exit.getStatus());
  j["exited_at"] = berth::rfc3339Nano(exit.getExitedAtNs());
  auto io = state.getIo();
  j["stdin"] = text(io.getStdin());
  j["stdout"] = text(io.getStdout());
  j["stderr"] = text(io.getStderr());
  j["terminal"] = io.getTerminal();
  // Beyond the contract's fields, after them: an exec's id (id is it too).
  if (state.hasExecId() && state.getExecId().size() > 0) j["exec_id"] = text(state.getExecId());
  return j;
}

ordered_json listEntryJson(berth::wire::ProcessState::Reader state) {
  ordered_json j;
  j["id"] = text(state.getId());
  j["pid"] = state.getPid();
  j["status"] = statusName(state.getStatus());
  return j;
}

ordered_json exitJson(berth::wire::Exit::Reader exit, bool withPid) {
  ordered_json j;
  if (withPid) j["pid"] = exit.getPid();
  j["exit_status"] = exitStatusCode(exit.getStatus());
  j["exited_at"] = berth::rfc3339Nano(exit.getExitedAtNs());
  return j;
}

ordered_json metricsJson(berth::wire::Metrics::Reader m) {
  ordered_json j;
  auto mem = m.getMemory();
  j["memory"] = {{"usage", mem.getUsage()},
                 {"limit", mem.getLimit()},
                 {"max_usage", mem.getMaxUsage()},
                 {"oom_kills", mem.getOomKills()},
                 {"cache", mem.getCache()},
                 {"rss", mem.getRss()},
                 {"mapped_file", mem.getMappedFile()},
                 {"pgfault", mem.getPgfault()},
                 {"pgmajfault", mem.getPgmajfault()}};
  auto cpu = m.getCpu();
  j["cpu"] = {{"usage_ns", cpu.getUsageNs()},
              {"user_ns", cpu.getUserNs()},
              {"system_ns", cpu.getSystemNs()},
              {"throttled_periods", cpu.getThrottledPeriods()},
              {"throttled_time_ns", cpu.getThrottledTimeNs()}};
  auto pids = m.getPids();
  j["pids"] = {{"current", pids.getCurrent()}, {"limit", pids.getLimit()}};
  return j;
}

void printJson(const ordered_json& value) {
  // Invalid UTF-8 from the server must not abort the dump: replace it.
  std::string s = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s += '\n';
  printStdout(s);
}

bool writeStdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 && !std::ferror(stdout);
}

void printStdout(std::string_view text) {
  if (!writeStdout(text)) throw berth::systemError("writing to stdout", errno);
}

}  // namespace berthctl
