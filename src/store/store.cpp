// The store (store.hpp): opening or creating the bare-user-only repo, and importing a layer.
// The layer tar is unpacked by oci::extract_archive (libarchive stays in oci, with its checks
// for hostile members) into a locked temp dir on the store's filesystem, then committed with
// ostree_repo_write_dfd_to_mtree (CANONICAL_PERMISSIONS: uid/gid 0, modes 0755/0644, no setuid;
// not CONSUME: ostree would rename an adopted file over an existing object, cutting it off from
// the checkouts hardlinked to it) inside one transaction that also sets the ref. A
// killed import leaves a staging dir that the next transaction discards and an unlocked temp
// dir that the next open sweeps; the ref only ever points at a complete commit.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>

#include "oci/extract.hpp"
#include "store/repo.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::store {

namespace detail {

void check(gboolean ok, GError* err, const std::string& what) {
  if (ok) return;
  std::string msg = err ? err->message : "unknown error";
  if (err) g_error_free(err);
  throw RuntimeError(what + ": " + msg);
}

std::string layer_ref(const std::string& diff_id) {
  if (diff_id.rfind("sha256:", 0) != 0 || diff_id.size() != 71 ||
      diff_id.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
    throw UsageError("not a layer diff_id: '" + diff_id + "' (want sha256:<64 hex>)");
  return "ksimg/layer/" + diff_id.substr(7);
}

std::string resolve(OstreeRepo* repo, const std::string& ref) {
  char* rev = nullptr;
  GError* err = nullptr;
  check(ostree_repo_resolve_rev(repo, ref.c_str(), TRUE, &rev, &err), err, "cannot read ref " + ref);
  std::string s = rev ? rev : "";
  g_free(rev);
  return s;
}

}  // namespace detail

Store::Impl::~Impl() {
  if (repo) g_object_unref(repo);
}

fs::path default_root() {
  if (const char* e = std::getenv("KSIMG_STORE"); e && *e) return e;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "ksimg/store";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : ".") / ".local/share/ksimg/store";
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
const fs::path& Store::root() const {
  return impl_->root;
}

namespace {

// Creates the repo at `repo_dir` atomically: ostree_repo_create writes `config` before
// `objects/`, so a kill in between would leave a repo that every later open and fsck refuses.
// It is made in a locked temp dir and renamed into place; a half-made repo from before (config
// but no objects dir: nothing can have been imported into it) is replaced.
void create_repo(const fs::path& root, const fs::path& repo_dir) {
  std::error_code ec;
  if (fs::exists(repo_dir / "config", ec) && fs::is_directory(repo_dir / "objects", ec)) return;
  detail::Scratch scratch(root, "repo-create");
  fs::path staging = scratch.path() / "repo";
  GFile* path = g_file_new_for_path(staging.c_str());
  OstreeRepo* repo = ostree_repo_new(path);
  g_object_unref(path);
  GError* err = nullptr;
  gboolean ok = ostree_repo_create(repo, OSTREE_REPO_MODE_BARE_USER_ONLY, nullptr, &err);
  g_object_unref(repo);
  detail::check(ok, err, "cannot create the store's repo " + repo_dir.string());
  fs::remove_all(repo_dir);
  fs::rename(staging, repo_dir);
}

}  // namespace

Store Store::open(const fs::path& root) {
  auto impl = std::make_unique<Impl>();
  impl->root = fs::absolute(root);
  fs::create_directories(impl->root / "images");
  fs::path repo_dir = impl->root / "repo";
  GError* err = nullptr;
  {
    files::FileLock lock(impl->root / "create.lock");  // two first runs: one creates, one opens
    create_repo(impl->root, repo_dir);
    GFile* path = g_file_new_for_path(repo_dir.c_str());
    impl->repo = ostree_repo_new(path);
    g_object_unref(path);
    detail::check(ostree_repo_open(impl->repo, nullptr, &err), err,
                  "cannot open the store's repo " + repo_dir.string());
  }
  detail::sweep(impl->root);
  return Store(std::move(impl));
}

bool Store::has_layer(const std::string& diff_id) const {
  return !detail::resolve(impl_->repo, detail::layer_ref(diff_id)).empty();
}

namespace {

// The commit of the tree at `dir` (consumed), with the diff_id and unpacked size as metadata.
std::string commit_tree(OstreeRepo* repo, const fs::path& dir, const std::string& diff_id, uint64_t bytes) {
  GError* err = nullptr;
  OstreeMutableTree* mtree = ostree_mutable_tree_new();
  auto flags =
      static_cast<OstreeRepoCommitModifierFlags>(OSTREE_REPO_COMMIT_MODIFIER_FLAGS_CANONICAL_PERMISSIONS);
  OstreeRepoCommitModifier* mod = ostree_repo_commit_modifier_new(flags, nullptr, nullptr, nullptr);
  gboolean ok = ostree_repo_write_dfd_to_mtree(repo, AT_FDCWD, dir.c_str(), mtree, mod, nullptr, &err);
  ostree_repo_commit_modifier_unref(mod);
  GFile* root = nullptr;
  if (ok) ok = ostree_repo_write_mtree(repo, mtree, &root, nullptr, &err);
  g_object_unref(mtree);
  detail::check(ok, err, "cannot write layer " + diff_id + " into the store");
  GVariantBuilder md;
  g_variant_builder_init(&md, G_VARIANT_TYPE("a{sv}"));
  g_variant_builder_add(&md, "{sv}", "ksimg.diff_id", g_variant_new_string(diff_id.c_str()));
  g_variant_builder_add(&md, "{sv}", "ksimg.unpacked-bytes", g_variant_new_uint64(bytes));
  char* commit = nullptr;
  ok = ostree_repo_write_commit_with_time(repo, nullptr, diff_id.c_str(), nullptr, g_variant_builder_end(&md),
                                          OSTREE_REPO_FILE(root), 0, &commit, nullptr, &err);
  g_object_unref(root);
  detail::check(ok, err, "cannot commit layer " + diff_id);
  std::string c = commit;
  g_free(commit);
  return c;
}

}  // namespace

std::string Store::import_layer(const fs::path& blob, const std::string& diff_id, uint64_t) {
  std::string ref = detail::layer_ref(diff_id);
  if (auto c = detail::resolve(impl_->repo, ref); !c.empty()) return c;
  detail::Scratch s(impl_->root, "import");
  fs::path tree = s.path() / "tree";
  fs::create_directory(tree);
  oci::ExtractOptions eo;
  eo.skip_devices = true;  // a layer's /dev entries: every runtime mounts its own /dev
  oci::extract_archive(blob, tree, eo);
  std::set<std::pair<dev_t, ino_t>> seen;
  uint64_t bytes = detail::disk_bytes(tree, seen);
  GError* err = nullptr;
  detail::check(ostree_repo_prepare_transaction(impl_->repo, nullptr, nullptr, &err), err,
                "cannot start a store transaction");
  try {
    std::string commit = commit_tree(impl_->repo, tree, diff_id, bytes);
    ostree_repo_transaction_set_ref(impl_->repo, nullptr, ref.c_str(), commit.c_str());
    detail::check(ostree_repo_commit_transaction(impl_->repo, nullptr, nullptr, &err), err,
                  "cannot finish the store transaction for " + diff_id);
    log::debug("store: layer " + diff_id.substr(7, 12) + " is commit " + commit.substr(0, 12));
    return commit;
  } catch (...) {
    ostree_repo_abort_transaction(impl_->repo, nullptr, nullptr);
    throw;
  }
}

}  // namespace ksimg::store
