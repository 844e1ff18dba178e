#include "client/kvctl/ranges.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kv::kvctl {

std::string FormatRanges(std::vector<int64_t> numbers) {
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  std::string out;
  size_t i = 0;
  while (i < numbers.size()) {
    size_t j = i;
    while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) ++j;
    if (!out.empty()) out += ",";
    absl::StrAppend(&out, numbers[i]);
    if (j > i) absl::StrAppend(&out, "-", numbers[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace kv::kvctl
