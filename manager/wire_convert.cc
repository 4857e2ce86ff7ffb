#include "manager/wire_convert.h"

namespace berth {

std::string textOf(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::string bytesOf(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

capnp::Data::Reader dataOf(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

Status fromWire(wire::Status status) {
  switch (status) {
    case wire::Status::CREATED: return Status::Created;
    case wire::Status::RUNNING: return Status::Running;
    case wire::Status::STOPPED: return Status::Stopped;
    case wire::Status::DELETED: return Status::Deleted;
    case wire::Status::PAUSED: return Status::Paused;
    case wire::Status::PAUSING: return Status::Pausing;
    case wire::Status::UNKNOWN: break;
  }
  return Status::Unknown;
}

wire::Status toWire(Status status) {
  switch (status) {
    case Status::Created: return wire::Status::CREATED;
    case Status::Running: return wire::Status::RUNNING;
    case Status::Stopped: return wire::Status::STOPPED;
    case Status::Deleted: return wire::Status::DELETED;
    case Status::Paused: return wire::Status::PAUSED;
    case Status::Pausing: return wire::Status::PAUSING;
    case Status::Unknown: break;
  }
  return wire::Status::UNKNOWN;
}

ExitStatus fromWire(wire::ExitStatus::Reader r) {
  switch (r.which()) {
    case wire::ExitStatus::EXITED: return ExitStatus::exited(r.getExited());
    case wire::ExitStatus::SIGNALED: return ExitStatus::signaled(r.getSignaled());
    case wire::ExitStatus::NONE: break;
  }
  return {};
}

void toWire(const ExitStatus& s, wire::ExitStatus::Builder b) {
  switch (s.kind) {
    case ExitStatus::Kind::Exited: b.setExited(s.value); return;
    case ExitStatus::Kind::Signaled: b.setSignaled(s.value); return;
    case ExitStatus::Kind::None: b.setNone(); return;
  }
}

Exit fromWire(wire::Exit::Reader r) {
  Exit e;
  e.pid = r.getPid();
  e.status = fromWire(r.getStatus());
  e.exitedAtNs = r.getExitedAtNs();
  return e;
}

void toWire(const Exit& e, wire::Exit::Builder b) {
  b.setPid(e.pid);
  toWire(e.status, b.initStatus());
  b.setExitedAtNs(e.exitedAtNs);
}

IO fromWire(wire::IO::Reader r) {
  IO io;
  io.stdinPath = textOf(r.getStdin());
  io.stdoutPath = textOf(r.getStdout());
  io.stderrPath = textOf(r.getStderr());
  io.terminal = r.getTerminal();
  return io;
}

void toWire(const IO& io, wire::IO::Builder b) {
  b.setStdin(io.stdinPath);
  b.setStdout(io.stdoutPath);
  b.setStderr(io.stderrPath);
  b.setTerminal(io.terminal);
}

State fromWire(wire::ProcessState::Reader r) {
  State s;
  s.id = textOf(r.getId());
  s.execId = textOf(r.getExecId());
  s.status = fromWire(r.getStatus());
  s.pid = r.getPid();
  s.exit = fromWire(r.getExit());
  s.io = fromWire(r.getIo());
  return s;
}

void toWire(const State& s, wire::ProcessState::Builder b) {
  b.setId(s.id);
  b.setExecId(s.execId);
  b.setStatus(toWire(s.status));
  b.setPid(s.pid);
  toWire(s.exit, b.initExit());
  toWire(s.io, b.initIo());
}

ProcessInfo fromWire(wire::ProcessInfo::Reader r) { return {r.getPid(), textOf(r.getInfo())}; }

void toWire(const ProcessInfo& p, wire::ProcessInfo::Builder b) {
  b.setPid(p.pid);
  b.setInfo(p.info);
}

Mount fromWire(wire::Mount::Reader r) {
  Mount m;
  m.type = textOf(r.getType());
  m.source = textOf(r.getSource());
  m.target = textOf(r.getTarget());
  for (auto o : r.getOptions()) m.options.push_back(textOf(o));
  return m;
}

void toWire(const Mount& m, wire::Mount::Builder b) {
  b.setType(m.type);
  b.setSource(m.source);
  b.setTarget(m.target);
  auto opts = b.initOptions(static_cast<unsigned>(m.options.size()));
  for (unsigned i = 0; i < m.options.size(); ++i) opts.set(i, m.options[i]);
}

CreateOpts fromWire(wire::CreateOpts::Reader r) {
  CreateOpts o;
  o.bundle = textOf(r.getBundle());
  o.spec = bytesOf(r.getSpec());
  for (auto m : r.getRootfs()) o.rootfs.push_back(fromWire(m));
  o.io = fromWire(r.getIo());
  o.checkpoint = textOf(r.getCheckpoint());
  o.options = bytesOf(r.getOptions());
  o.start = r.getStart();
  return o;
}

void toWire(const CreateOpts& o, wire::CreateOpts::Builder b) {
  b.setBundle(o.bundle);
  b.setSpec(dataOf(o.spec));
  auto mounts = b.initRootfs(static_cast<unsigned>(o.rootfs.size()));
  for (unsigned i = 0; i < o.rootfs.size(); ++i) toWire(o.rootfs[i], mounts[i]);
  toWire(o.io, b.initIo());
  b.setCheckpoint(o.checkpoint);
  b.setOptions(dataOf(o.options));
  b.setStart(o.start);
}

ExecOpts fromWire(wire::ExecOpts::Reader r) {
  ExecOpts o;
  o.spec = bytesOf(r.getSpec());
  o.io = fromWire(r.getIo());
  return o;
}

void toWire(const ExecOpts& o, wire::ExecOpts::Builder b) {
  b.setSpec(dataOf(o.spec));
  toWire(o.io, b.initIo());
}

ConsoleSize fromWire(wire::ConsoleSize::Reader r) { return {r.getWidth(), r.getHeight()}; }

void toWire(const ConsoleSize& s, wire::ConsoleSize::Builder b) {
  b.setWidth(s.width);
  b.setHeight(s.height);
}

}  // namespace berth
