// The one-RPC commands.
#include "tools/berthctl/commands.h"

#include "tools/berthctl/json_out.h"
#include "tools/berthctl/signals.h"

#include "common/fsutil.h"
#include "common/ids.h"
#include "common/unique_fd.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

namespace berthctl {

using nlohmann::ordered_json;

void checkTaskArgs(const Globals& g, const std::string& id, const std::string& execId) {
  berth::checkNamespace(g.ns);
  berth::checkIdentifier("id", id);
  if (!execId.empty()) berth::checkIdentifier("exec id", execId);
}

namespace {

std::string text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

MountSpec parseMount(const std::string& spec) {
  MountSpec m;
  bool haveTarget = false;
  for (const auto& field : split(spec, ',')) {
    if (field.empty()) continue;
    auto eq = field.find('=');
    if (eq == std::string::npos)
      throw berth::invalidArgument("invalid mount \"" + spec + "\": \"" + field + "\" is not KEY=VALUE");
    std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "type") {
      m.type = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
      haveTarget = true;
    } else if (key == "options") {
      // Options are separated by ':', but a path list inside an option
      // (overlay's lowerdir=/a:/b) uses ':' too: a piece that is a path (no
      // '=', starts with '/') continues the KEY=VALUE option before it.
      for (auto& o : split(value, ':')) {
        if (o.empty()) continue;
        if (o[0] == '/' && o.find('=') == std::string::npos && !m.options.empty() &&
            m.options.back().find('=') != std::string::npos) {
          m.options.back() += ":" + o;
        } else {
          m.options.push_back(o);
        }
      }
    } else {
      throw berth::invalidArgument("invalid mount \"" + spec + "\": unknown key \"" + key + "\"");
    }
  }
  if (m.type.empty()) throw berth::invalidArgument("invalid mount \"" + spec + "\": no type");
  (void)haveTarget;  // the target may be empty: the mount goes on BUNDLE/rootfs itself
  return m;
}

int cmdCreate(const Globals& g, const CreateArgs& a) {
  checkTaskArgs(g, a.id);
  std::string bundle = resolvePath("bundle", a.bundle);
  std::vector<MountSpec> mounts;
  for (const auto& spec : a.mounts) mounts.push_back(parseMount(spec));
  std::string checkpoint = a.checkpoint.empty() ? "" : resolvePath("checkpoint", a.checkpoint);

  Client c(g);
  auto req = c.api().createRequest();
  auto opts = req.initOpts();
  opts.setBundle(bundle);
  auto rootfs = opts.initRootfs(static_cast<unsigned>(mounts.size()));
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto m = rootfs[static_cast<unsigned>(i)];
    m.setType(mounts[i].type);
    m.setSource(mounts[i].source);
    m.setTarget(mounts[i].target);
    auto opt = m.initOptions(static_cast<unsigned>(mounts[i].options.size()));
    for (size_t k = 0; k < mounts[i].options.size(); ++k) opt.set(static_cast<unsigned>(k), mounts[i].options[k]);
  }
  auto io = opts.initIo();
  io.setStdin(absolutePath(a.stdinPath));
  io.setStdout(absolutePath(a.stdoutPath));
  io.setStderr(absolutePath(a.stderrPath));
  io.setTerminal(a.tty);
  opts.setCheckpoint(checkpoint);
  c.call(kj::mv(req), a.id);
  return 0;
}

int cmdStart(const Globals& g, const TaskArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  Client c(g);
  auto req = c.api().startRequest();
  req.setExecId(a.execId);
  c.call(kj::mv(req), a.id);
  return 0;
}

int cmdState(const Globals& g, const TaskArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  Client c(g);
  auto req = c.api().stateRequest();
  req.setExecId(a.execId);
  auto resp = c.call(kj::mv(req), a.id);
  printJson(stateJson(resp.getState()));
  return 0;
}

int cmdList(const Globals& g, bool json) {
  berth::checkNamespace(g.ns);
  Client c(g);
  auto req = c.api().listRequest();
  req.setNamespace(g.ns);
  auto resp = c.wait(req.send());
  auto tasks = resp.getTasks();
  if (json) {
    ordered_json arr = ordered_json::array();
    for (auto t : tasks) arr.push_back(listEntryJson(t));
    printJson(arr);
    return 0;
  }
  struct Row {
    std::string id, pid, status;
  };
  std::vector<Row> rows{{"ID", "PID", "STATUS"}};
  for (auto t : tasks) rows.push_back({text(t.getId()), std::to_string(t.getPid()), statusName(t.getStatus())});
  size_t w0 = 0, w1 = 0;
  for (auto& r : rows) {
    w0 = std::max(w0, r.id.size());
    w1 = std::max(w1, r.pid.size());
  }
  std::string out;
  for (auto& r : rows) {
    out += r.id + std::string(w0 - r.id.size() + 4, ' ');
    out += r.pid + std::string(w1 - r.pid.size() + 4, ' ');
    out += r.status + "\n";
  }
  printStdout(out);
  return 0;
}

int cmdKill(const Globals& g, const KillArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  int sig = parseSignal(a.signal);
  Client c(g);
  auto req = c.api().killRequest();
  req.setExecId(a.execId);
  req.setSignal(static_cast<uint32_t>(sig));
  req.setAll(a.all);
  c.call(kj::mv(req), a.id);
  return 0;
}

int cmdWait(const Globals& g, const TaskArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  Client c(g);
  // Through a restart of berthd, as run and exec wait: the exit is kept.
  c.callReconnecting([&] {
    auto req = c.api().waitRequest();
    req.setExecId(a.execId);
    printJson(exitJson(c.call(kj::mv(req), a.id).getExit(), false));
  });
  return 0;
}

int cmdDelete(const Globals& g, const TaskArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  Client c(g);
  auto req = c.api().deleteRequest();
  req.setExecId(a.execId);
  auto resp = c.call(kj::mv(req), a.id);
  printJson(exitJson(resp.getExit(), true));
  return 0;
}

int cmdPause(const Globals& g, const std::string& id) {
  checkTaskArgs(g, id);
  Client c(g);
  c.call(c.api().pauseRequest(), id);
  return 0;
}

int cmdResume(const Globals& g, const std::string& id) {
  checkTaskArgs(g, id);
  Client c(g);
  c.call(c.api().resumeRequest(), id);
  return 0;
}

int cmdPids(const Globals& g, const std::string& id) {
  checkTaskArgs(g, id);
  Client c(g);
  auto req = c.api().pidsRequest();
  auto resp = c.call(kj::mv(req), id);
  ordered_json arr = ordered_json::array();
  for (auto p : resp.getProcesses()) {
    ordered_json j;
    j["pid"] = p.getPid();
    j["info"] = text(p.getInfo());
    arr.push_back(j);
  }
  printJson(arr);
  return 0;
}

namespace {
// A user's input file: a regular file, or what a shell hands over as one
// (/dev/stdin, a pipe from <(...), a FIFO, read as a CLI reads them: waiting
// for the writer), up to maxBytes (/dev/zero is refused, not read for ever).
std::optional<std::string> readInputFile(const std::string& path, size_t maxBytes) {
  berth::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw berth::systemError("open " + path, errno);
  }
  return berth::readAll(fd.fd, path, maxBytes);
}
}  // namespace

int cmdUpdate(const Globals& g, const UpdateArgs& a) {
  checkTaskArgs(g, a.id);
  auto data = [&]() {
    try {
      return readInputFile(a.resources, berth::kMaxSpecBytes);
    } catch (const berth::Error& e) {
      throw berth::invalidArgument("cannot read resources file \"" + a.resources + "\": " + e.message());
    }
  }();
  if (!data) throw berth::invalidArgument("resources file \"" + a.resources + "\" does not exist");
  try {
    auto parsed = nlohmann::json::parse(*data);
    if (!parsed.is_object())
      throw berth::invalidArgument("resources file \"" + a.resources + "\" is not a JSON object");
  } catch (const nlohmann::json::exception& e) {
    throw berth::invalidArgument("resources file \"" + a.resources + "\" is not valid JSON: " + e.what());
  }
  Client c(g);
  auto req = c.api().updateRequest();
  req.setResources(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data->data()), data->size()));
  c.call(kj::mv(req), a.id);
  return 0;
}

int cmdMetrics(const Globals& g, const std::string& id) {
  checkTaskArgs(g, id);
  Client c(g);
  auto req = c.api().metricsRequest();
  auto resp = c.call(kj::mv(req), id);
  printJson(metricsJson(resp.getMetrics()));
  return 0;
}

int cmdCheckpoint(const Globals& g, const CheckpointArgs& a) {
  checkTaskArgs(g, a.id);
  if (a.imagePath.empty()) throw berth::invalidArgument("--image-path must not be empty");
  Client c(g);
  auto req = c.api().checkpointRequest();
  req.setImagePath(absolutePath(a.imagePath));
  req.setExit(a.exit);
  c.call(kj::mv(req), a.id);
  return 0;
}

int cmdResize(const Globals& g, const ResizeArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  Client c(g);
  auto req = c.api().resizePtyRequest();
  req.setExecId(a.execId);
  auto size = req.initSize();
  size.setWidth(a.width);
  size.setHeight(a.height);
  c.call(kj::mv(req), a.id);
  return 0;
}

int cmdCloseStdin(const Globals& g, const TaskArgs& a) {
  checkTaskArgs(g, a.id, a.execId);
  Client c(g);
  auto req = c.api().closeIORequest();
  req.setExecId(a.execId);
  c.call(kj::mv(req), a.id);
  return 0;
}

int cmdVersion(const Globals& g) {
  ordered_json j;
  j["client"] = BERTH_VERSION;
  Client c(g);
  auto resp = c.wait(c.api().versionRequest().send());
  j["server"] = text(resp.getVersion());
  j["server_pid"] = resp.getPid();
  printJson(j);
  return 0;
}

}  // namespace berthctl
