#include "manager/task_record.h"

#include "common/errors.h"
#include "common/fsutil.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace berth {

using nlohmann::json;

std::string TaskRecord::toJson() const {
  json j = {
      {"bundle", bundle},
      {"runtime", runtime},
      {"io",
       {{"stdin", io.stdinPath}, {"stdout", io.stdoutPath}, {"stderr", io.stderrPath},
        {"terminal", io.terminal}}},
      {"created_at", createdAtNs},
      {"last_seq", lastSeq},
  };
  auto exitJson = [](const Exit& e) {
    return json{{"pid", e.pid}, {"wait_status", e.status.waitStatus()}, {"exited_at_ns", e.exitedAtNs}};
  };
  if (lostExit) j["lost_exit"] = exitJson(*lostExit);
  j["created"] = created;
  if (exit) j["exit"] = exitJson(*exit);
  if (deletePublished) j["delete_published"] = true;
  if (deleting) j["deleting"] = true;
  if (lastStatus != Status::Unknown) {
    j["status"] = statusName(lastStatus);
    j["pid"] = lastPid;
  }
  return j.dump() + "\n";
}

TaskRecord TaskRecord::fromJson(const std::string& text, const std::string& path) {
  try {
    json j = json::parse(text);
    TaskRecord r;
    r.bundle = j.value("bundle", "");
    r.runtime = j.value("runtime", "");
    if (j.contains("io")) {
      const json& io = j["io"];
      r.io.stdinPath = io.value("stdin", "");
      r.io.stdoutPath = io.value("stdout", "");
      r.io.stderrPath = io.value("stderr", "");
      r.io.terminal = io.value("terminal", false);
    }
    r.createdAtNs = j.value("created_at", int64_t{0});
    r.lastSeq = j.value("last_seq", uint64_t{0});
    auto exitOf = [](const json& e) {
      Exit exit;
      exit.pid = e.value("pid", 0u);
      exit.status = ExitStatus::fromWaitStatus(e.value("wait_status", 9));
      exit.exitedAtNs = e.value("exited_at_ns", int64_t{0});
      return exit;
    };
    if (j.contains("lost_exit")) r.lostExit = exitOf(j["lost_exit"]);
    r.created = j.value("created", true);
    if (j.contains("exit")) r.exit = exitOf(j["exit"]);
    r.deletePublished = j.value("delete_published", false);
    r.deleting = j.value("deleting", false);
    r.lastStatus = statusFromName(j.value("status", ""));
    r.lastPid = j.value("pid", 0u);
    return r;
  } catch (const json::exception& e) {
    throw invalidArgument("task record " + path + " is broken: " + e.what());
  }
}

void TaskRecord::saveDurably(const std::string& path) const { atomicWrite(path, toJson(), 0600); }

void TaskRecord::saveQuickly(const std::string& path) const { overwriteInPlace(path, toJson()); }

std::optional<TaskRecord> TaskRecord::load(const std::string& path) {
  auto text = readFile(path);
  if (!text) return std::nullopt;
  return fromJson(*text, path);
}


}  // namespace berth
