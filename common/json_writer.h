// One compact JSON text, written straight into a string, members in the order
// they are written.
//
// For the lines on an exit event's path (berthd's journal, `berthctl events`):
// building a nlohmann::json tree per event and dumping it took ~30 us of cold
// CPU in each process (ftrace); this writes the text with no tree.
// Strings of printable ASCII are copied as they are; any other string is
// escaped by nlohmann::json, invalid UTF-8 replaced with U+FFFD.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace berth {

class JsonWriter {
 public:
  // Containers, at a value's place (after key(), in an array, or at the top).
  JsonWriter& beginObject() { return open('{'); }
  JsonWriter& endObject() { return close('}'); }
  JsonWriter& beginArray() { return open('['); }
  JsonWriter& endArray() { return close(']'); }
  // A member's name; its value comes next.
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  template <std::integral T>
  JsonWriter& value(T n) {
    separate();
    out_ += std::to_string(n);
    return *this;
  }

  // A member: key(name) and its value.
  template <typename T>
  JsonWriter& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  void separate();  // the comma before all but a container's first value
  void appendString(std::string_view s);

  std::string out_;
  bool first_ = true;      // nothing written yet in the current container
  bool afterKey_ = false;  // a key was written; its value comes next
};

// Whether `s` is valid UTF-8, the one thing JsonWriter alters (a record's
// paths must come back as they were given).
bool isUtf8(std::string_view s);

}  // namespace berth
