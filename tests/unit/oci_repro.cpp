// Reproducibility of layers and images: the same tree built
// twice, a copy with newer mtimes, other owners and another creation order, and a canonical tar
// fed back through the archive reader all give identical digests.
#include <doctest/doctest.h>
#include <unistd.h>

#include "oci/layer.hpp"
#include "oci_fixture.hpp"

using namespace ksimg;

TEST_CASE("oci repro: the same tree built twice gives identical digests") {
  oci_test::TempDir t;
  oci_test::make_fixture(t / "tree");
  auto first = oci_test::build_digests(t / "tree", t / "l1");
  auto second = oci_test::build_digests(t / "tree", t / "l2");
  CHECK(first == second);
  auto same_layout = oci_test::build_digests(t / "tree", t / "l1");
  CHECK(first == same_layout);
}

TEST_CASE("oci repro: a copy with newer mtimes, other owners and creation order gives identical digests") {
  oci_test::TempDir t;
  oci_test::make_fixture(t / "a");
  oci_test::FixtureVariant v;
  v.reverse_order = true;
  v.new_mtime = oci_test::kEpoch + 86400 * 400;
  v.chown_all = ::geteuid() == 0;
  if (!v.chown_all) MESSAGE("not root: the copy keeps its owner (mtimes and order still differ)");
  oci_test::make_fixture(t / "b", v);
  auto a = oci_test::build_digests(t / "a", t / "la");
  auto b = oci_test::build_digests(t / "b", t / "lb");
  CHECK(a == b);
  for (auto c : {oci::Compression::gzip, oci::Compression::zstd})
    CHECK(oci_test::build_digests(t / "a", t / "za", c) == oci_test::build_digests(t / "b", t / "zb", c));
}

TEST_CASE("oci repro: a canonical tar read back through libarchive gives the same tar") {
  oci_test::TempDir t;
  oci_test::make_fixture(t / "tree");
  oci::LayerOptions opts;
  opts.source_date_epoch = oci_test::kEpoch;
  opts.spool_dir = t.path;
  oci::LayerWriter direct(opts);
  direct.add_directory(t / "tree");
  std::string tar;
  auto d1 = direct.write_tar([&](const char* p, size_t n) { tar.append(p, n); });
  CHECK(d1 == oci::sha256(tar));
  oci_test::write_file(t / "layer.tar", tar);
  oci::LayerWriter again(opts);
  again.add_archive_file(t / "layer.tar");
  std::string tar2;
  auto d2 = again.write_tar([&](const char* p, size_t n) { tar2.append(p, n); });
  CHECK(d2 == d1);
  CHECK(tar2 == tar);
}

TEST_CASE("oci repro: the tar does not depend on the locale") {
  oci_test::TempDir t;
  oci_test::make_fixture(t / "tree");
  oci::LayerOptions opts;
  opts.source_date_epoch = oci_test::kEpoch;
  auto digest_under = [&](const char* locale) {
    locale_t loc = newlocale(LC_ALL_MASK, locale, static_cast<locale_t>(nullptr));
    REQUIRE(loc != nullptr);
    locale_t old = uselocale(loc);
    oci::LayerWriter w(opts);
    w.add_directory(t / "tree");
    auto d = w.write_tar([](const char*, size_t) {});
    uselocale(old);
    freelocale(loc);
    return d;
  };
  CHECK(digest_under("C") == digest_under("C.UTF-8"));
}
