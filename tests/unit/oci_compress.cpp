// Layer compression (oci/layer.hpp profiles): the gzip header carries no name and no time
// (RFC 1952 with FLG 0, MTIME 0, XFL 0, OS 3), block-parallel output is one valid stream that
// decompresses to the tar (diff_id), and zstd gives tar+zstd with the same diff_id.
#include <doctest/doctest.h>

#include "oci/layer.hpp"
#include "oci/tar_read.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

struct Layer {
  oci_test::TempDir dir;
  oci::LayerResult result;
  std::string blob;
};

void build(Layer& l, oci::Compression c, size_t big_bytes) {
  oci_test::write_file(l.dir / "tree/big", oci_test::pseudo_random(big_bytes, 3));
  oci_test::write_file(l.dir / "tree/small", "small\n");
  auto layout = oci::Layout::create(l.dir / "L");
  oci::LayerOptions o;
  o.compression = c;
  oci::LayerWriter w(o);
  w.add_directory(l.dir / "tree");
  l.result = w.write(layout);
  l.blob = oci_test::read_file(layout.blob_path(l.result.descriptor.digest));
}

oci::Digest uncompressed_digest(const fs::path& blob, uint64_t& size) {
  oci::Sha256 h;
  size = 0;
  oci::decompress(blob, [&](const char* p, size_t n) {
    h.update(p, n);
    size += n;
  });
  return h.finish();
}

}  // namespace

TEST_CASE("oci gzip: header has no name, zero mtime, XFL 0 and OS 3") {
  Layer l;
  build(l, oci::Compression::gzip, 1000);
  REQUIRE(l.blob.size() > 18);
  const std::string expected("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  CHECK(l.blob.substr(0, 10) == expected);
  CHECK(l.result.descriptor.media_type == "application/vnd.oci.image.layer.v1.tar+gzip");
  CHECK(oci::sha256(l.blob) == l.result.descriptor.digest);
  CHECK(static_cast<int64_t>(l.blob.size()) == l.result.descriptor.size);
}

TEST_CASE("oci gzip: a multi-block layer is one valid stream that decompresses to the diff_id") {
  Layer l;
  build(l, oci::Compression::gzip, 3 * 1024 * 1024 + 12345);  // about 13 blocks of 256 KiB
  uint64_t size = 0;
  CHECK(uncompressed_digest(l.dir / "L/blobs/sha256" / l.result.descriptor.digest.hex(), size) ==
        l.result.diff_id);
  CHECK(size == l.result.tar_size);
  // gzip trailer: ISIZE is the uncompressed size modulo 2^32
  const auto* t = reinterpret_cast<const unsigned char*>(l.blob.data() + l.blob.size() - 4);
  CHECK((t[0] | t[1] << 8 | t[2] << 16 | static_cast<uint32_t>(t[3]) << 24) == (size & 0xffffffffu));
}

TEST_CASE("oci zstd: the option gives tar+zstd with zstd magic and the gzip layer's diff_id") {
  Layer z, g;
  build(z, oci::Compression::zstd, 2 * 1024 * 1024);
  build(g, oci::Compression::gzip, 2 * 1024 * 1024);
  CHECK(z.result.descriptor.media_type == "application/vnd.oci.image.layer.v1.tar+zstd");
  CHECK(z.blob.substr(0, 4) == std::string("\x28\xb5\x2f\xfd", 4));
  CHECK(z.result.diff_id == g.result.diff_id);
  CHECK(z.result.descriptor.digest != g.result.descriptor.digest);
  uint64_t size = 0;
  CHECK(uncompressed_digest(z.dir / "L/blobs/sha256" / z.result.descriptor.digest.hex(), size) ==
        z.result.diff_id);
  CHECK(oci::sha256(z.blob) == z.result.descriptor.digest);
}

TEST_CASE("oci compress: an empty layer is a valid gzip and zstd blob") {
  for (auto c : {oci::Compression::gzip, oci::Compression::zstd}) {
    oci_test::TempDir t;
    auto layout = oci::Layout::create(t / "L");
    oci::LayerOptions o;
    o.compression = c;
    oci::LayerWriter w(o);
    auto r = w.write(layout);
    CHECK(r.tar_size == 1024);  // just the end-of-archive blocks
    uint64_t size = 0;
    CHECK(uncompressed_digest(layout.blob_path(r.descriptor.digest), size) == r.diff_id);
    CHECK(r.diff_id == oci::sha256(std::string(1024, '\0')));
  }
}

TEST_CASE("oci compress: parse_compression and profiles") {
  CHECK(oci::parse_compression("gzip") == oci::Compression::gzip);
  CHECK(oci::parse_compression("zstd") == oci::Compression::zstd);
  CHECK_THROWS_AS(oci::parse_compression("xz"), ksimg::UsageError);
  CHECK(oci::compression_profile(oci::Compression::gzip).find("level 6") != std::string::npos);
  CHECK(oci::compression_profile(oci::Compression::zstd).find("level 3") != std::string::npos);
}

TEST_CASE("oci compress: a failure mid-layer stops the pipeline and leaves no temp file") {
  for (auto c : {oci::Compression::gzip, oci::Compression::zstd}) {
    oci_test::TempDir t;
    oci_test::write_file(t / "tree/a-big", oci_test::pseudo_random(3 << 20, 9));
    oci_test::write_file(t / "tree/z-last", "z");
    auto layout = oci::Layout::create(t / "L");
    oci::LayerOptions o;
    o.compression = c;
    oci::LayerWriter w(o);
    w.add_directory(t / "tree");
    fs::remove(t / "tree/z-last");  // vanishes after the walk, while the big file is being compressed
    CHECK_THROWS_AS(w.write(layout), RuntimeError);
    CHECK(fs::is_empty(layout.temp_dir()));
    CHECK(fs::is_empty(t / "L/blobs/sha256"));
  }
}
