// Identifier validation (containerd's rule) for namespaces, task ids and exec
// ids. They become path components and runc container ids, so the rule is
// strict: no '/', no leading '.' or '-', bounded length.
#pragma once

#include <string_view>

namespace berth {

// [A-Za-z0-9][A-Za-z0-9_.-]{0,75}
bool isValidIdentifier(std::string_view value);

// Throws invalidArgument("invalid KIND \"VALUE\": must match ...") if invalid.
// KIND names what is checked: "namespace", "id", "exec id".
void checkIdentifier(std::string_view kind, std::string_view value);

// A namespace: an identifier, and not "runc" (STATE/runc holds runc's own
// state, beside STATE/NS for each namespace).
void checkNamespace(std::string_view ns);

}  // namespace berth
