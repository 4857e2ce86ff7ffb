// Copies between the Cap'n Proto wire types (schema/types.capnp) and the plain
// runtime values (runtime.h). Used only at the edges: the client API service
// and the shim client.
#pragma once

#include "manager/runtime.h"
#include "types.capnp.h"

namespace berth {

Status fromWire(wire::Status status);
wire::Status toWire(Status status);

ExitStatus fromWire(wire::ExitStatus::Reader r);
void toWire(const ExitStatus& s, wire::ExitStatus::Builder b);

Exit fromWire(wire::Exit::Reader r);
void toWire(const Exit& e, wire::Exit::Builder b);

IO fromWire(wire::IO::Reader r);
void toWire(const IO& io, wire::IO::Builder b);

State fromWire(wire::ProcessState::Reader r);
void toWire(const State& s, wire::ProcessState::Builder b);

ProcessInfo fromWire(wire::ProcessInfo::Reader r);
void toWire(const ProcessInfo& p, wire::ProcessInfo::Builder b);

Mount fromWire(wire::Mount::Reader r);
void toWire(const Mount& m, wire::Mount::Builder b);

CreateOpts fromWire(wire::CreateOpts::Reader r);
void toWire(const CreateOpts& o, wire::CreateOpts::Builder b);

ExecOpts fromWire(wire::ExecOpts::Reader r);
void toWire(const ExecOpts& o, wire::ExecOpts::Builder b);

ConsoleSize fromWire(wire::ConsoleSize::Reader r);
void toWire(const ConsoleSize& s, wire::ConsoleSize::Builder b);

// Metrics: common/task_metrics.h.

std::string textOf(capnp::Text::Reader t);
std::string bytesOf(capnp::Data::Reader d);
capnp::Data::Reader dataOf(const std::string& s);

}  // namespace berth
