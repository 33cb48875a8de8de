// Internal: small RAII helpers around libarchive (included only by src/oci/*.cpp).
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <memory>
#include <string>

namespace ksimg::oci::detail {

struct ReadFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ReadPtr = std::unique_ptr<struct archive, ReadFree>;
using WritePtr = std::unique_ptr<struct archive, WriteFree>;
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

inline std::string archive_error(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "the data ends early or is corrupt (no detail from libarchive)";
}

// Pins the calling thread's LC_CTYPE to C.UTF-8 while alive. libarchive converts member
// names between the locale's charset and the UTF-8 of pax records; pinning the charset
// makes the bytes written independent of the user's LANG/LC_ALL.
class Utf8Locale {
 public:
  Utf8Locale() {
    loc_ = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (!loc_) loc_ = newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(nullptr));
    if (loc_) old_ = uselocale(loc_);
  }
  ~Utf8Locale() {
    if (loc_) {
      uselocale(old_);
      freelocale(loc_);
    }
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;
  bool active() const { return loc_ != nullptr; }

 private:
  locale_t loc_ = nullptr;
  locale_t old_ = nullptr;
};

}  // namespace ksimg::oci::detail
