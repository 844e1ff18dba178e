#include "auth/strict_json.h"

#include <exception>
#include <vector>

#include "absl/status/status.h"

namespace kv::auth {
namespace {

using json = nlohmann::json;

// Builds the DOM from SAX events, refusing duplicate keys and deep nesting.
class StrictBuilder {
 public:
  explicit StrictBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return Add(json(nullptr)); }
  bool boolean(bool v) { return Add(json(v)); }
  bool number_integer(json::number_integer_t v) { return Add(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Add(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return Add(json(v)); }
  bool string(json::string_t& v) { return Add(json(std::move(v))); }
  bool binary(json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(json::object()); }
  bool start_array(std::size_t) { return Open(json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(json::string_t& k) {
    if (stack_.back()->contains(k)) return Fail("duplicate member name");
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return Fail("not valid JSON");
  }

  json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(const char* reason) {
    if (error_.empty()) error_ = reason;
    return false;
  }
  // Places `v` where the parser is; returns the stored value.
  json* Place(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    json& slot = (*top)[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Add(json v) {
    Place(std::move(v));
    return true;
  }
  bool Open(json container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) return Fail("nested too deeply");
    stack_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  const int max_depth_;
  json root_;
  std::vector<json*> stack_;
  std::string key_;
  std::string error_;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseStrictJson(absl::string_view text,
                                               const StrictJsonOptions& options) {
  StrictBuilder builder(options.max_depth);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                         /*strict=*/true);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok) {
    return absl::InvalidArgumentError(builder.error().empty() ? "not valid JSON" : builder.error());
  }
  if (options.require_object && !builder.root().is_object()) {
    return absl::InvalidArgumentError("JSON value is not an object");
  }
  return std::move(builder.root());
}

}  // namespace kv::auth
