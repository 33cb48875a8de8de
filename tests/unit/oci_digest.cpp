// Unit tests for oci/digest.hpp: SHA-256 vectors (FIPS 180-2) and the digest grammar of
// OCI image-spec descriptor.md (sha256:<64 lowercase hex>).
#include <doctest/doctest.h>

#include "oci/digest.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;

TEST_CASE("oci digest: sha256 of known vectors") {
  CHECK(oci::sha256("").str() == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(oci::sha256("abc").str() ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  oci::Sha256 h;
  h.update("a");
  h.update("bc");
  CHECK(h.finish() == oci::sha256("abc"));
}

TEST_CASE("oci digest: parse accepts only sha256:<64 lowercase hex>") {
  const std::string hex(64, 'a');
  CHECK(oci::Digest::parse("sha256:" + hex).hex() == hex);
  CHECK_FALSE(oci::Digest::try_parse("sha256:" + std::string(63, 'a')));
  CHECK_FALSE(oci::Digest::try_parse("sha256:" + std::string(64, 'A')));
  CHECK_FALSE(oci::Digest::try_parse("sha512:" + hex));
  CHECK_FALSE(oci::Digest::try_parse(hex));
  CHECK_THROWS_AS(oci::Digest::parse("sha256:xyz"), IntegrityError);
}

TEST_CASE("oci digest: sha256_file matches the bytes and reports the size") {
  oci_test::TempDir t;
  std::string data = oci_test::pseudo_random(3 << 20, 1);
  oci_test::write_file(t / "f", data);
  uint64_t size = 0;
  CHECK(oci::sha256_file(t / "f", &size) == oci::sha256(data));
  CHECK(size == data.size());
  CHECK_THROWS_AS(oci::sha256_file(t / "missing"), RuntimeError);
}
