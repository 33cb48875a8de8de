// Looking after the store (store.hpp): listing layers and image checkouts, bytes on disk,
// garbage collection (checkouts not kept, then layer refs no kept image uses, then
// ostree_repo_prune of unreachable objects) and fsck (ostree_repo_fsck_object on every
// object, and every layer ref resolving to a commit that carries its diff_id).
#include <nlohmann/json.hpp>

#include "store/repo.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ksimg::store {

namespace {

std::map<std::string, std::string> layer_refs(OstreeRepo* repo) {
  GHashTable* refs = nullptr;
  GError* err = nullptr;
  detail::check(
      ostree_repo_list_refs_ext(repo, "ksimg/layer", &refs, OSTREE_REPO_LIST_REFS_EXT_NONE, nullptr, &err),
      err, "cannot list the store's refs");
  std::map<std::string, std::string> out;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, refs);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    std::string ref = static_cast<const char*>(k);
    out["sha256:" + ref.substr(ref.rfind('/') + 1)] = static_cast<const char*>(v);
  }
  g_hash_table_unref(refs);
  return out;
}

// A metadata value of commit `commit`: its diff_id string and unpacked bytes.
std::pair<std::string, uint64_t> commit_meta(OstreeRepo* repo, const std::string& commit) {
  GVariant* v = nullptr;
  GError* err = nullptr;
  detail::check(ostree_repo_load_variant(repo, OSTREE_OBJECT_TYPE_COMMIT, commit.c_str(), &v, &err), err,
                "cannot load commit " + commit);
  GVariant* md = g_variant_get_child_value(v, 0);
  const char* diff = nullptr;
  guint64 bytes = 0;
  g_variant_lookup(md, "ksimg.diff_id", "&s", &diff);
  g_variant_lookup(md, "ksimg.unpacked-bytes", "t", &bytes);
  std::pair<std::string, uint64_t> r{diff ? diff : "", bytes};
  g_variant_unref(md);
  g_variant_unref(v);
  return r;
}

}  // namespace

std::vector<LayerEntry> Store::layers() const {
  std::vector<LayerEntry> out;
  for (const auto& [diff, commit] : layer_refs(impl_->repo)) out.push_back({diff, commit});
  return out;
}

std::vector<ImageEntry> Store::images() const {
  std::vector<ImageEntry> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(impl_->root / "images", ec)) {
    auto text = files::read_if_exists(e.path() / "image.json");
    if (!text) continue;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) continue;
    out.push_back({j.value("digest", ""), j.value("tag", ""), j.value("layers", std::vector<std::string>{}),
                   e.path() / "root"});
  }
  return out;
}

Usage Store::usage() const {
  Usage u;
  std::set<std::pair<dev_t, ino_t>> seen;
  u.objects = detail::disk_bytes(impl_->root / "repo", seen);
  for (const auto& img : images()) u.checkouts += detail::disk_bytes(img.root.parent_path(), seen);
  for (const auto& [diff, commit] : layer_refs(impl_->repo))
    u.layer_bytes += commit_meta(impl_->repo, commit).second;
  return u;
}

GcResult Store::gc(const std::set<std::string>& keep) {
  files::FileLock lock(impl_->root / "gc.lock");
  GcResult r;
  std::set<std::string> used;
  for (const auto& img : images()) {
    if (keep.count(img.digest)) {
      used.insert(img.diff_ids.begin(), img.diff_ids.end());
      continue;
    }
    std::error_code ec;
    fs::remove_all(img.root.parent_path(), ec);
    ++r.images_removed;
  }
  GError* err = nullptr;
  for (const auto& [diff, commit] : layer_refs(impl_->repo)) {
    if (used.count(diff)) continue;
    detail::check(ostree_repo_set_ref_immediate(impl_->repo, nullptr, detail::layer_ref(diff).c_str(),
                                                nullptr, nullptr, &err),
                  err, "cannot delete the ref of layer " + diff);
    ++r.layers_removed;
  }
  gint total = 0, pruned = 0;
  guint64 freed = 0;
  detail::check(ostree_repo_prune(impl_->repo, OSTREE_REPO_PRUNE_FLAGS_REFS_ONLY, -1, &total, &pruned, &freed,
                                  nullptr, &err),
                err, "cannot prune the store");
  r.bytes_freed = freed;
  return r;
}

std::vector<std::string> Store::fsck() const {
  std::vector<std::string> problems;
  GHashTable* objects = nullptr;
  GError* err = nullptr;
  detail::check(ostree_repo_list_objects(impl_->repo, OSTREE_REPO_LIST_OBJECTS_ALL, &objects, nullptr, &err),
                err, "cannot list the store's objects");
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, objects);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const char* csum = nullptr;
    OstreeObjectType type;
    ostree_object_name_deserialize(static_cast<GVariant*>(k), &csum, &type);
    if (!ostree_repo_fsck_object(impl_->repo, type, csum, nullptr, &err)) {
      problems.push_back(std::string(ostree_object_type_to_string(type)) + " " + csum + ": " + err->message);
      g_clear_error(&err);
    }
  }
  g_hash_table_unref(objects);
  for (const auto& [diff, commit] : layer_refs(impl_->repo)) try {
      if (commit_meta(impl_->repo, commit).first != diff)
        problems.push_back("layer ref " + diff + ": wrong commit");
    } catch (const Error& e) {
      problems.push_back("layer ref " + diff + ": " + e.what());
    }
  return problems;
}

}  // namespace ksimg::store
