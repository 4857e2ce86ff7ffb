#include "shim/bundle.h"

#include "common/errors.h"
#include "common/fsutil.h"

namespace berth::shim {

namespace {
std::string absoluteIn(const std::string& base, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  return base + "/" + path;
}
}  // namespace

PreparedBundle prepareBundle(const std::string& userBundle, const std::string& stateDir,
                             const std::string& cgroupPath, bool terminal) {
  // (a FIFO there would block the shim's loop in its open)
  const std::string text = readBundleConfig(userBundle);
  nlohmann::json spec;
  try {
    spec = nlohmann::json::parse(text);
  } catch (nlohmann::json::exception&) {
    return {userBundle, userBundle + "/rootfs", true};
  }
  if (!spec.is_object()) return {userBundle, userBundle + "/rootfs", true};
  auto& root = spec["root"];
  if (!root.is_object()) root = nlohmann::json::object();
  std::string rootfs = absoluteIn(userBundle, root.value("path", std::string("rootfs")));
  root["path"] = rootfs;
  auto& process = spec["process"];
  if (process.is_object()) process["terminal"] = terminal;
  auto& linux = spec["linux"];
  if (!linux.is_object()) linux = nlohmann::json::object();
  if (!linux.contains("cgroupsPath") || !linux["cgroupsPath"].is_string() ||
      linux["cgroupsPath"].get<std::string>().empty()) {
    linux["cgroupsPath"] = cgroupPath;
  }
  if (spec.contains("mounts") && spec["mounts"].is_array()) {
    for (auto& m : spec["mounts"]) {
      // A relative bind source is relative to the user's bundle, not ours.
      if (m.is_object() && m.contains("source") && m["source"].is_string()) {
        auto src = m["source"].get<std::string>();
        auto type = m.value("type", std::string());
        if (type == "bind" && !src.empty() && src[0] != '/') m["source"] = absoluteIn(userBundle, src);
      }
    }
  }
  bool startHooks = false;
  if (spec.contains("hooks") && spec["hooks"].is_object()) {
    const auto& hooks = spec["hooks"];
    startHooks = hooks.contains("poststart") && !hooks["poststart"].empty();
  }
  std::string dir = stateDir + "/bundle";
  makeDirs(dir, 0700);
  replaceFile(dir + "/config.json", spec.dump(), 0600);
  return {dir, rootfs, startHooks};
}

nlohmann::json bundleProcess(const std::string& bundleDir) {
  auto text = readFile(bundleDir + "/config.json");
  if (!text) throw failedPrecondition("bundle " + bundleDir + " has no config.json");
  auto spec = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!spec.is_object()) throw failedPrecondition("config.json of " + bundleDir + " is not JSON");
  return spec.value("process", nlohmann::json::object());
}

}  // namespace berth::shim
