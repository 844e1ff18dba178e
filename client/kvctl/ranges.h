#pragma once
// Line-number ranges for bulk-put's report: {1,2,3,5,7,8} -> "1-3,5,7-8".

#include <cstdint>
#include <string>
#include <vector>

namespace kv::kvctl {

// Sorts and de-duplicates a copy of `numbers` and joins consecutive runs; "" when empty.
std::string FormatRanges(std::vector<int64_t> numbers);

}  // namespace kv::kvctl
