// Typed errors carrying the contract's stable error codes (contract/CLI.md).
// The code travels over Cap'n Proto as the prefix of the exception description
// ("not-found: task does not exist") so every process can map it back.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include <kj/exception.h>

namespace berth {

enum class Code { NotFound, AlreadyExists, FailedPrecondition, InvalidArgument, Unavailable, Internal };

// "not-found", "already-exists", "failed-precondition", "invalid-argument",
// "unavailable", "internal".
std::string_view codeName(Code code);

class Error : public std::runtime_error {
public:
  Error(Code code, std::string message);
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // what() returns "CODE: message".

private:
  Code code_;
  std::string message_;
};

Error notFound(std::string message);
Error alreadyExists(std::string message);
Error failedPrecondition(std::string message);
Error invalidArgument(std::string message);
Error unavailable(std::string message);
Error internal(std::string message);

// Internal error "WHAT: strerror (errno N)"; WHAT should name the syscall and path.
Error systemError(std::string_view what, int err);

// Parses "CODE: message", tolerating prefixes such as capnp's
// "remote exception: ". Unknown code -> Internal with the whole text.
Error parseError(std::string_view description);

// kj bridge: errors cross RPC as FAILED exceptions whose description is what().
kj::Exception toKjException(const Error& error);
// DISCONNECTED -> Unavailable; otherwise the code is parsed from the description.
Error fromKjException(const kj::Exception& exception);
// Any in-flight exception: kj::Exception passes through unchanged, berth::Error
// keeps its code, other std::exception -> internal.
kj::Exception toKjException(std::exception_ptr exception);

}  // namespace berth
