// Strict JSON reading for the project's data files: duplicate keys and unknown keys are
// errors, and every error names the file and the JSON path.
#pragma once
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::matrix::sj {

using json = nlohmann::ordered_json;  // keeps document order (arch order, band order)

// Parses `text`; throws DataError("<file>: ...") on syntax errors and duplicate keys.
json parse(const std::string& text, const std::string& file);

// A cursor into a parsed document that knows where it is, for messages.
class Node {
 public:
  Node(const json& j, std::string where) : j_(j), where_(std::move(where)) {}
  const json& raw() const { return j_; }
  const std::string& where() const { return where_; }

  // Object checks.
  void keys(std::initializer_list<std::string_view> allowed) const;
  bool has(const std::string& k) const;
  Node at(const std::string& k) const;  // required
  std::string str(const std::string& k) const;
  std::optional<std::string> opt_str(const std::string& k) const;  // absent or null -> nullopt
  int integer(const std::string& k) const;
  bool boolean(const std::string& k, bool dflt) const;
  std::vector<std::string> strs(const std::string& k) const;  // absent -> empty

  // Iteration over an object's members or an array's items, in document order.
  std::vector<std::pair<std::string, Node>> members() const;
  std::vector<Node> items() const;

  [[noreturn]] void fail(const std::string& msg) const;

 private:
  const json& j_;
  std::string where_;
};

}  // namespace ksimg::matrix::sj
