// An image of an OCI layout made runnable from the store: its layers imported (each once) and
// its checkout, plus what a runtime needs from its config (Env, WorkingDir, Entrypoint, Cmd).
#pragma once
#include <string>
#include <vector>

#include "oci/layout.hpp"
#include "store/store.hpp"

namespace ksimg::store {

struct PreparedImage {
  std::string digest;  // manifest digest
  fs::path root;       // the checkout (read-only for runtimes)
  std::vector<std::string> env, entrypoint, cmd;
  std::string workdir;
};

// Imports the missing layers of `tag` and checks the image out (cached per manifest digest).
// IntegrityError for a hostile layer (nothing of it is kept), RuntimeError for I/O.
PreparedImage prepare_image(Store& s, const oci::Layout& layout, const std::string& tag);

}  // namespace ksimg::store
