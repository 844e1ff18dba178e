#pragma once
// Splits an inline command line ("SET key \"a b\"\r\n" typed into telnet) into arguments the way
// Redis does (sdssplitargs): blanks separate arguments; "double quotes" take the escapes \n \r
// \t \b \a \\ \" and \xHH; 'single quotes' take \'; a closing quote must be followed by a blank
// or the end. A NUL byte ends the line.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace kv::server::resp {

// Appends the arguments of `line` (without its line ending) to `out`. False when quotes are
// unbalanced or a closing quote is followed by something other than a blank; `out` then holds
// an unspecified prefix.
bool SplitInlineArgs(absl::string_view line, std::vector<std::string>* out);

}  // namespace kv::server::resp
