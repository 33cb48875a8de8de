// Image checkouts (store.hpp): the layers' commits checked out by hardlinks, bottom first, into
// one locked temp dir with ostree's UNION_FILES and process_whiteouts (`.wh.NAME` deletes NAME;
// whiteout files are never created), then renamed to images/<hex> with its image.json. Before
// each upper layer, a pass over that layer's tree makes the checkout safe to lay it on: an
// opaque dir (`.wh..wh..opq`) empties the dir below, a directory replaces a lower non-directory
// (a symlink, perhaps to /, is unlinked, never followed: ostree would open it as a directory),
// and a non-directory replaces a lower directory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "store/repo.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::store {

namespace {

struct Child {
  std::string name;
  bool dir;
};

std::vector<Child> children(GFile* dir) {
  GError* err = nullptr;
  GFileEnumerator* en = g_file_enumerate_children(dir, "standard::name,standard::type",
                                                  G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, nullptr, &err);
  detail::check(en != nullptr, err, "cannot list a layer's tree");
  std::vector<Child> out;
  GFileInfo* info = nullptr;
  while ((info = g_file_enumerator_next_file(en, nullptr, &err)) != nullptr) {
    out.push_back({g_file_info_get_name(info), g_file_info_get_file_type(info) == G_FILE_TYPE_DIRECTORY});
    g_object_unref(info);
  }
  g_object_unref(en);
  detail::check(err == nullptr, err, "cannot list a layer's tree");
  return out;
}

void empty_dir(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
}

// Makes `dest` (a real directory of the checkout) ready for the layer directory `dir`.
void prepare(GFile* dir, const fs::path& dest) {
  auto kids = children(dir);
  for (const auto& c : kids)
    if (c.name == ".wh..wh..opq") empty_dir(dest);
  for (const auto& c : kids) {
    if (c.name.rfind(".wh.", 0) == 0) continue;
    fs::path target = dest / c.name;
    struct stat st = {};
    bool exists = lstat(target.c_str(), &st) == 0;
    if (exists && c.dir && !S_ISDIR(st.st_mode)) {
      fs::remove(target);
      exists = false;
    } else if (exists && !c.dir && S_ISDIR(st.st_mode)) {
      fs::remove_all(target);
    }
    if (c.dir && exists) {
      GFile* sub = g_file_get_child(dir, c.name.c_str());
      prepare(sub, target);
      g_object_unref(sub);
    }
  }
}

void lay(OstreeRepo* repo, const std::string& commit, const fs::path& dest, bool first) {
  GError* err = nullptr;
  if (!first) {
    GFile* root = nullptr;
    detail::check(ostree_repo_read_commit(repo, commit.c_str(), &root, nullptr, nullptr, &err), err,
                  "cannot read commit " + commit);
    prepare(root, dest);
    g_object_unref(root);
  }
  OstreeRepoCheckoutAtOptions o = {};
  o.mode = OSTREE_REPO_CHECKOUT_MODE_USER;
  o.overwrite_mode = OSTREE_REPO_CHECKOUT_OVERWRITE_UNION_FILES;
  o.process_whiteouts = TRUE;
  o.no_copy_fallback = TRUE;
  detail::check(ostree_repo_checkout_at(repo, &o, AT_FDCWD, dest.c_str(), commit.c_str(), nullptr, &err), err,
                "cannot check out commit " + commit);
}

}  // namespace

fs::path Store::checkout(const std::string& digest, const std::string& tag,
                         const std::vector<std::string>& diff_ids) {
  detail::layer_ref(digest);  // the same shape: sha256:<hex>
  fs::path done = impl_->root / "images" / digest.substr(7);
  if (fs::exists(done / "image.json")) return done / "root";
  std::vector<std::string> commits;
  for (const auto& d : diff_ids) {
    auto c = detail::resolve(impl_->repo, detail::layer_ref(d));
    if (c.empty())
      throw RuntimeError("layer " + d + " of " + digest + " is not in the store; import it first");
    commits.push_back(c);
  }
  detail::Scratch s(impl_->root, "checkout");
  for (size_t i = 0; i < commits.size(); ++i) lay(impl_->repo, commits[i], s.path() / "root", i == 0);
  if (commits.empty()) fs::create_directory(s.path() / "root");
  nlohmann::json j = {{"digest", digest}, {"tag", tag}, {"layers", diff_ids}};
  files::write_atomic(s.path() / "image.json", j.dump(2) + "\n");
  std::error_code ec;
  fs::rename(s.path(), done, ec);
  if (!ec) {
    s.released();
    files::sync_dir(done.parent_path());
  } else if (!fs::exists(done / "image.json")) {
    throw RuntimeError("cannot move the checkout of " + digest + " into " + done.string() + ": " +
                       ec.message());
  }
  log::debug("store: image " + digest.substr(7, 12) + " checked out at " + done.string());
  return done / "root";
}

}  // namespace ksimg::store
