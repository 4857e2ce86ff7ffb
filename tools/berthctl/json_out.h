// The JSON that berthctl prints (contract/CLI.md).
#pragma once

#include "types.capnp.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace berthctl {

// {"id","pid","status","exit_status","exited_at","stdin","stdout","stderr","terminal"}
// (+ "exec_id" for an exec process).
nlohmann::ordered_json stateJson(berth::wire::ProcessState::Reader state);

// {"id","pid","status"}: one row of `list --json`.
nlohmann::ordered_json listEntryJson(berth::wire::ProcessState::Reader state);

// {"exit_status","exited_at"} (wait); with withPid also "pid" first (delete).
nlohmann::ordered_json exitJson(berth::wire::Exit::Reader exit, bool withPid);

// {"memory":{…},"cpu":{…},"pids":{…}}
nlohmann::ordered_json metricsJson(berth::wire::Metrics::Reader metrics);

// Writes one compact JSON document and a newline to stdout, then flushes.
void printJson(const nlohmann::ordered_json& value);

// Writes TEXT to stdout and flushes; false (errno set) if it could not: a
// full disk, a reader gone while SIGPIPE is ignored.
bool writeStdout(std::string_view text);
// The same, throwing internal ("writing to stdout: …") on failure: a command
// whose output is lost must not exit 0.
void printStdout(std::string_view text);

}  // namespace berthctl
