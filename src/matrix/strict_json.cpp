// Strict JSON reading (see strict_json.hpp): nlohmann's parser callback tracks the keys
// seen in each open object so a repeated key is reported instead of silently overwritten.
#include "matrix/strict_json.hpp"

#include <set>

#include "util/error.hpp"

namespace ksimg::matrix::sj {

json parse(const std::string& text, const std::string& file) {
  std::vector<std::set<std::string>> open;
  std::string dup;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) open.emplace_back();
    if (ev == json::parse_event_t::object_end && !open.empty()) open.pop_back();
    if (ev == json::parse_event_t::key && !open.empty() &&
        !open.back().insert(parsed.get<std::string>()).second && dup.empty())
      dup = parsed.get<std::string>();
    return true;
  };
  json j;
  try {
    j = json::parse(text, cb);
  } catch (const json::parse_error& e) {
    throw DataError(file + ": invalid JSON: " + e.what());
  }
  if (!dup.empty()) throw DataError(file + ": key \"" + dup + "\" appears twice in one object; keep one");
  return j;
}

void Node::fail(const std::string& msg) const {
  throw DataError(where_ + ": " + msg);
}

void Node::keys(std::initializer_list<std::string_view> allowed) const {
  if (!j_.is_object()) fail("expected an object");
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == it.key();
    if (ok) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail("unknown key \"" + it.key() + "\" (allowed: " + list + ")");
  }
}

bool Node::has(const std::string& k) const {
  return j_.is_object() && j_.contains(k);
}

Node Node::at(const std::string& k) const {
  if (!has(k)) fail("missing key \"" + k + "\"");
  return Node(j_.at(k), where_ + "." + k);
}

std::string Node::str(const std::string& k) const {
  Node n = at(k);
  if (!n.j_.is_string()) n.fail("expected a string");
  return n.j_.get<std::string>();
}

std::optional<std::string> Node::opt_str(const std::string& k) const {
  if (!has(k) || j_.at(k).is_null()) return std::nullopt;
  return str(k);
}

int Node::integer(const std::string& k) const {
  Node n = at(k);
  if (!n.j_.is_number_integer()) n.fail("expected an integer");
  return n.j_.get<int>();
}

bool Node::boolean(const std::string& k, bool dflt) const {
  if (!has(k)) return dflt;
  Node n = at(k);
  if (!n.j_.is_boolean()) n.fail("expected true or false");
  return n.j_.get<bool>();
}

std::vector<std::string> Node::strs(const std::string& k) const {
  std::vector<std::string> out;
  if (!has(k)) return out;
  for (const auto& item : at(k).items()) {
    if (!item.raw().is_string()) item.fail("expected a string");
    out.push_back(item.raw().get<std::string>());
  }
  return out;
}

std::vector<std::pair<std::string, Node>> Node::members() const {
  if (!j_.is_object()) fail("expected an object");
  std::vector<std::pair<std::string, Node>> out;
  for (auto it = j_.begin(); it != j_.end(); ++it)
    out.emplace_back(it.key(), Node(it.value(), where_ + "." + it.key()));
  return out;
}

std::vector<Node> Node::items() const {
  if (!j_.is_array()) fail("expected an array");
  std::vector<Node> out;
  for (size_t i = 0; i < j_.size(); ++i) out.emplace_back(j_[i], where_ + "[" + std::to_string(i) + "]");
  return out;
}

}  // namespace ksimg::matrix::sj
