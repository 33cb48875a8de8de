// Reading a .deb's metadata without dpkg (deb(5): an ar archive of debian-binary,
// control.tar[.gz|.xz|.zst] and data.tar.*): the control paragraph and the md5sums list,
// which image scanners read from /var/lib/dpkg/status.d/ in distroless-style images, and
// the names data.tar holds.
// libarchive stays in oci; the data.tar member itself goes through LayerWriter.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ksimg::oci {

struct DebMember {
  std::string path;  // as in data.tar, without "./" ("usr/bin/x"; directories end in '/')
  char type = 'f';   // as TarMember::type: f d l h c b p
  std::string link;  // symlink or hardlink target
};

struct DebControl {
  std::string control;                 // the "control" member (one deb822 paragraph)
  std::optional<std::string> md5sums;  // the "md5sums" member, when the package has one
  std::vector<DebMember> data;         // data.tar's members (read only when asked for)
};

// Reads control.tar.* of `deb` and, with `list_data`, the member list of data.tar.*.
// Throws IntegrityError naming the file when it is not a .deb, is corrupt, or its
// control.tar has no control member.
DebControl read_deb_control(const std::filesystem::path& deb, bool list_data = false);

}  // namespace ksimg::oci
