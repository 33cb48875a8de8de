// Layer compression (oci/layer.hpp profiles): gzip is one member per 1 MiB slice of the tar,
// each header without name or time (RFC 1952 with FLG 0, MTIME 0, XFL 0, OS 255: libdeflate's);
// the members read back as one stream to the tar (diff_id); the blob is the same for 1, 2
// and 8 threads; zstd gives tar+zstd with the same diff_id.
#include <doctest/doctest.h>

#include "oci/extract.hpp"
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

void build(Layer& l, oci::Compression c, size_t big_bytes, unsigned threads = 0) {
  oci_test::write_file(l.dir / "tree/big", oci_test::pseudo_random(big_bytes, 3));
  oci_test::write_file(l.dir / "tree/small", "small\n");
  auto layout = oci::Layout::create(l.dir / "L");
  oci::LayerOptions o;
  o.compression = c;
  o.threads = threads;
  oci::LayerWriter w(o);
  w.add_directory(l.dir / "tree");
  l.result = w.write(layout);
  l.blob = oci_test::read_file(layout.blob_path(l.result.descriptor.digest));
}

fs::path layout_blob(const Layer& l) {
  return l.dir / "L/blobs/sha256" / l.result.descriptor.digest.hex();
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

// Offsets of the gzip members in `blob`, found by their fixed 10-byte header (each member
// ends with CRC32 + ISIZE). Only for incompressible data, whose bodies never repeat it.
std::vector<size_t> member_starts(const std::string& blob) {
  const std::string header("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  std::vector<size_t> at;
  for (size_t p = blob.find(header); p != std::string::npos; p = blob.find(header, p + 1)) at.push_back(p);
  return at;
}

uint32_t le32(const std::string& s, size_t at) {
  const auto* t = reinterpret_cast<const unsigned char*>(s.data() + at);
  return t[0] | t[1] << 8 | t[2] << 16 | static_cast<uint32_t>(t[3]) << 24;
}

}  // namespace

TEST_CASE("oci gzip: header has no name, zero mtime, XFL 0 and OS 255 (libdeflate's)") {
  Layer l;
  build(l, oci::Compression::gzip, 1000);
  REQUIRE(l.blob.size() > 18);
  const std::string expected("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  CHECK(l.blob.substr(0, 10) == expected);
  CHECK(l.result.descriptor.media_type == "application/vnd.oci.image.layer.v1.tar+gzip");
  CHECK(l.result.descriptor.annotations.at("org.kernelsmith.compressor") ==
        oci::compression_profile(oci::Compression::gzip));
  CHECK(oci::sha256(l.blob) == l.result.descriptor.digest);
  CHECK(static_cast<int64_t>(l.blob.size()) == l.result.descriptor.size);
}

TEST_CASE("oci gzip: a multi-slice layer is one gzip member per 1 MiB and reads back to the diff_id") {
  Layer l;
  build(l, oci::Compression::gzip, 3 * 1024 * 1024 + 12345);  // 4 slices of the tar
  uint64_t size = 0;
  CHECK(uncompressed_digest(l.dir / "L/blobs/sha256" / l.result.descriptor.digest.hex(), size) ==
        l.result.diff_id);
  CHECK(size == l.result.tar_size);
  // pseudo-random data does not compress, so no member's body repeats the header by chance
  auto starts = member_starts(l.blob);
  CHECK(starts.size() == (size + (1 << 20) - 1) / (1 << 20));
  CHECK(starts.front() == 0);
  // every member but the last ends with ISIZE = the slice size; the last with the rest
  for (size_t i = 1; i < starts.size(); ++i) CHECK(le32(l.blob, starts[i] - 4) == (1u << 20));
  CHECK(le32(l.blob, l.blob.size() - 4) == (size % (1 << 20) ? size % (1 << 20) : 1 << 20));
}

TEST_CASE("oci gzip: the blob is the same with 1, 2 and 8 threads") {
  Layer one, two, eight;
  build(one, oci::Compression::gzip, 5 * 1024 * 1024 + 777, 1);
  build(two, oci::Compression::gzip, 5 * 1024 * 1024 + 777, 2);
  build(eight, oci::Compression::gzip, 5 * 1024 * 1024 + 777, 8);
  CHECK(one.result.descriptor.digest == two.result.descriptor.digest);
  CHECK(one.result.descriptor.digest == eight.result.descriptor.digest);
  CHECK(one.blob == eight.blob);
  CHECK(one.result.diff_id == eight.result.diff_id);
}

TEST_CASE("oci zstd: the blob is the same with 1, 2 and 8 threads") {
  Layer one, two, eight;
  build(one, oci::Compression::zstd, 5 * 1024 * 1024 + 777, 1);
  build(two, oci::Compression::zstd, 5 * 1024 * 1024 + 777, 2);
  build(eight, oci::Compression::zstd, 5 * 1024 * 1024 + 777, 8);
  CHECK(one.result.descriptor.digest == two.result.descriptor.digest);
  CHECK(one.result.descriptor.digest == eight.result.descriptor.digest);
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
  CHECK(oci::compression_profile(oci::Compression::gzip) ==
        "gzip libdeflate-" + oci::libdeflate_version() + " level-6 slice-1MiB");
  CHECK(oci::compression_profile(oci::Compression::zstd).find("level-3") != std::string::npos);
  CHECK(oci::libdeflate_version_of("gzip libdeflate-1.14 level-6 slice-1MiB") == "1.14");
  CHECK(oci::libdeflate_version_of("zstd libzstd-1.5.4 level-3 checksum mt").empty());
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

TEST_CASE("oci gzip: extract_archive reads every member of a multi-slice layer") {
  Layer l;
  build(l, oci::Compression::gzip, 3 * 1024 * 1024 + 999);  // "big" spans 4 slices; "small" is in the last
  fs::create_directories(l.dir / "out");
  auto r = oci::extract_archive(layout_blob(l), l.dir / "out");
  CHECK(r.entries == 2);
  CHECK(oci_test::read_file(l.dir / "out/big") == oci_test::read_file(l.dir / "tree/big"));
  CHECK(oci_test::read_file(l.dir / "out/small") == "small\n");
}
