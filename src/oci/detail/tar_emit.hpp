// Internal: writes a Tree as the canonical tar stream (see layer.hpp for the rules).
#pragma once
#include <cstdint>
#include <functional>
#include <string_view>

#include "oci/detail/spool.hpp"
#include "oci/detail/tree.hpp"

namespace ksimg::oci::detail {

struct Canon {
  int64_t epoch = 0;         // mtimes above this are clamped to it
  bool keep_owners = false;  // else uid/gid 0
  bool keep_names = false;   // else no uname/gname
};

using ByteSink = std::function<void(const char* data, size_t n)>;

// True for the xattrs a layer keeps: user.* and security.* except security.selinux.
bool keep_xattr(std::string_view name);

// Writes every entry of `tree` in order, then the two zero blocks; returns the entry count.
// `spool` may be null when no entry refers to it.
size_t emit_tar(const Tree& tree, const Spool* spool, const Canon& canon, const ByteSink& sink);

}  // namespace ksimg::oci::detail
