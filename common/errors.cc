#include "common/errors.h"

#include <array>
#include <cstring>
#include <utility>

namespace berth {

namespace {

constexpr std::array<std::pair<Code, std::string_view>, 6> kCodes{{
    {Code::NotFound, "not-found"},
    {Code::AlreadyExists, "already-exists"},
    {Code::FailedPrecondition, "failed-precondition"},
    {Code::InvalidArgument, "invalid-argument"},
    {Code::Unavailable, "unavailable"},
    {Code::Internal, "internal"},
}};

std::string compose(Code code, const std::string& message) {
  std::string s(codeName(code));
  s += ": ";
  s += message;
  return s;
}

// A code only counts at the start of a word, so "xnot-found: " or
// "no-internal: " inside some other text are not mistaken for a code.
bool atWordStart(std::string_view text, size_t pos) {
  if (pos == 0) return true;
  char c = text[pos - 1];
  bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_';
  return !word;
}

}  // namespace

std::string_view codeName(Code code) {
  for (const auto& [c, name] : kCodes)
    if (c == code) return name;
  return "internal";
}

Error::Error(Code code, std::string message)
    : std::runtime_error(compose(code, message)), code_(code), message_(std::move(message)) {}

Error notFound(std::string message) { return Error(Code::NotFound, std::move(message)); }
Error alreadyExists(std::string message) { return Error(Code::AlreadyExists, std::move(message)); }
Error failedPrecondition(std::string message) { return Error(Code::FailedPrecondition, std::move(message)); }
Error invalidArgument(std::string message) { return Error(Code::InvalidArgument, std::move(message)); }
Error unavailable(std::string message) { return Error(Code::Unavailable, std::move(message)); }
Error internal(std::string message) { return Error(Code::Internal, std::move(message)); }

Error systemError(std::string_view what, int err) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  msg += " (errno " + std::to_string(err) + ")";
  return internal(std::move(msg));
}

Error parseError(std::string_view description) {
  // Earliest "CODE: " at a word start wins: prefixes added by capnp
  // ("remote exception: ", "(remote):") come before it, the message after.
  size_t best = std::string_view::npos;
  Code bestCode = Code::Internal;
  size_t bestLen = 0;
  for (const auto& [code, name] : kCodes) {
    std::string needle(name);
    needle += ": ";
    for (size_t pos = description.find(needle); pos != std::string_view::npos && pos < best;
         pos = description.find(needle, pos + 1)) {
      if (atWordStart(description, pos)) {
        best = pos;
        bestCode = code;
        bestLen = needle.size();
        break;
      }
    }
  }
  if (best == std::string_view::npos) return internal(std::string(description));
  return Error(bestCode, std::string(description.substr(best + bestLen)));
}

kj::Exception toKjException(const Error& error) {
  return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::heapString(error.what()));
}

Error fromKjException(const kj::Exception& exception) {
  std::string_view description(exception.getDescription().cStr(), exception.getDescription().size());
  if (exception.getType() == kj::Exception::Type::DISCONNECTED)
    return unavailable("connection lost: " + std::string(description));
  return parseError(description);
}

kj::Exception toKjException(std::exception_ptr exception) {
  try {
    std::rethrow_exception(exception);
  } catch (const kj::Exception& e) {
    return e;  // keeps DISCONNECTED etc. intact
  } catch (const Error& e) {
    return toKjException(e);
  } catch (const std::exception& e) {
    return toKjException(internal(e.what()));
  } catch (...) {
    return toKjException(internal("unknown exception"));
  }
}

}  // namespace berth
