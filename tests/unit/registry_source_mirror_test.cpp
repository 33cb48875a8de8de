// Unit tests for registry/source_mirror (docs/mirror.md): readable tags from file names, and
// the artifact manifest of a source (artifactType, empty config, one layer whose digest is
// the pin, annotations with the name, URLs and pins), byte-identical for the same source.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "matrix/data.hpp"
#include "oci/digest.hpp"
#include "recipes/sources.hpp"
#include "registry/source_mirror.hpp"

using namespace ksimg;

TEST_CASE("source mirror: tags are the file names, made valid") {
  CHECK(registry::source_tag("gcc-13.3.0.tar.xz") == "gcc-13.3.0.tar.xz");
  CHECK(registry::source_tag("libstdc++-1.tar.gz") == "libstdc__-1.tar.gz");
  CHECK(registry::source_tag(".hidden") == "_.hidden");
  CHECK(registry::source_tag(std::string(300, 'a')).size() == 128);
}

TEST_CASE("source mirror: the artifact manifest of a source") {
  auto blob = oci::sha256("bytes");
  registry::SourceEntry e{"mcm.tar.gz",
                          {"https://a.test/x.tar.gz", "https://b.test/x.tar.gz"},
                          "",
                          "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="};
  std::string text = registry::source_manifest(e, blob, 5);
  CHECK(text == registry::source_manifest(e, blob, 5));
  auto j = nlohmann::json::parse(text);
  CHECK(j["artifactType"] == "application/vnd.ksimg.source.v1");
  CHECK(j["config"]["mediaType"] == "application/vnd.oci.empty.v1+json");
  CHECK(j["config"]["digest"] == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  CHECK(j["layers"].size() == 1);
  CHECK(j["layers"][0]["digest"] == blob.str());
  CHECK(j["layers"][0]["size"] == 5);
  CHECK(j["annotations"]["dev.ksimg.source.urls"] == "https://a.test/x.tar.gz https://b.test/x.tar.gz");
  CHECK(j["annotations"]["dev.ksimg.source.nar_sha256"] == e.nar_sha256);
  CHECK_FALSE(j["annotations"].contains("dev.ksimg.source.sha256"));
}

TEST_CASE("source mirror: the sources of the project's cells, each once") {
  auto specs = recipes::load_specs(matrix::data_files(KSIMG_SRC_DIR));
  auto names = recipes::cells_recipes(KSIMG_SRC_DIR, {"k4/mips64el", "k4/mips64eb"});
  auto srcs = recipes::pinned_sources(specs, names);
  size_t mcm = 0;
  for (const auto& s : srcs) {
    CHECK_MESSAGE((!s.sha256.empty() || !s.nar_sha256.empty()), s.name);
    if (s.name.rfind("musl-cross-make-", 0) == 0) {
      ++mcm;
      CHECK(s.nar_sha256 == "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=");
      CHECK(s.recipes.size() >= 2);  // shared by the cells' recipes, listed once
    }
  }
  CHECK(mcm == 1);
}
