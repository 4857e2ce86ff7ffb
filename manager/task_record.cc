#include "manager/task_record.h"

#include "common/errors.h"
#include "common/fsutil.h"
#include "common/json_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

namespace berth {

using nlohmann::json;

// Written with JsonWriter, not through a nlohmann tree: the record is
// rewritten at every event a task has (saveQuickly), and the tree was 17% of
// berthd's instructions in a create and start (callgrind). The members keep
// the sorted order the tree gave them, so a record's bytes did not change.
std::string TaskRecord::toJson() const {
  auto writeExit = [](JsonWriter& w, std::string_view name, const Exit& e) {
    w.key(name).beginObject();
    w.member("exited_at_ns", e.exitedAtNs).member("pid", e.pid).member("wait_status", e.status.waitStatus());
    w.endObject();
  };
  JsonWriter w;
  w.beginObject();
  w.member("bundle", bundle).member("created", created).member("created_at", createdAtNs);
  if (deletePublished) w.member("delete_published", true);
  if (deleting) w.member("deleting", true);
  if (exit) writeExit(w, "exit", *exit);
  w.key("io").beginObject();
  w.member("stderr", io.stderrPath).member("stdin", io.stdinPath).member("stdout", io.stdoutPath);
  w.member("terminal", io.terminal);
  w.endObject();
  w.member("last_seq", lastSeq);
  if (lostExit) writeExit(w, "lost_exit", *lostExit);
  if (lastStatus != Status::Unknown) w.member("pid", lastPid);
  w.member("runtime", runtime);
  if (lastStatus != Status::Unknown) w.member("status", statusName(lastStatus));
  w.endObject();
  return w.take() + "\n";
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
