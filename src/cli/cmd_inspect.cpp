// `ksimg inspect LAYOUT[:TAG]`: shows an image of an OCI layout (tag, manifest, platform,
// layers with sizes, digests and diff_ids, env, cmd, labels, annotations); --json for tools.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "oci/index.hpp"
#include "oci/inspect.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"
#include "util/error.hpp"

namespace ksimg::cli {

namespace {

struct InspectOpts {
  std::string target, platform;
  bool json = false;
};

// LAYOUT[:TAG]: the whole argument when it is a layout, else split at the last ':'.
std::pair<std::string, std::string> split_target(const std::string& t) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(t) / "oci-layout")) return {t, ""};
  auto colon = t.rfind(':');
  if (colon != std::string::npos && colon > 0 && fs::exists(fs::path(t.substr(0, colon)) / "oci-layout"))
    return {t.substr(0, colon), t.substr(colon + 1)};
  throw UsageError("no OCI image layout at '" + t +
                   "': give LAYOUT or LAYOUT:TAG, where LAYOUT holds an oci-layout file");
}

std::string quoted_list(const std::vector<std::string>& v) {
  return nlohmann::json(v).dump();
}

void print_map(const char* title, const std::map<std::string, std::string>& m) {
  std::cout << title << ":" << (m.empty() ? " (none)" : "") << "\n";
  for (const auto& [k, v] : m) std::cout << "  " << k << "=" << v << "\n";
}

void print_text(const oci::ImageInfo& i) {
  std::cout << "tag:       " << i.tag << "\n";
  if (i.index)
    std::cout << "index:     " << i.index->digest.str() << " (" << i.index->size << " bytes; "
              << oci::platform_names(i.index_manifests) << ")\n";
  std::cout << "manifest:  " << i.manifest.digest.str() << " (" << i.manifest.size << " bytes)\n"
            << "config:    " << i.config.digest.str() << " (" << i.config.size << " bytes)\n"
            << "platform:  " << i.platform.str() << "\n"
            << "created:   " << i.created << "\n"
            << "layers:\n";
  for (size_t n = 0; n < i.layers.size(); ++n) {
    const auto& l = i.layers[n];
    std::cout << "  " << n + 1 << ". " << l.descriptor.media_type << "  " << l.descriptor.size << " bytes\n"
              << "     digest:  " << l.descriptor.digest.str() << "\n"
              << "     diff_id: " << l.diff_id << "\n";
    auto c = l.descriptor.annotations.find(std::string(oci::compressor_annotation));
    if (c != l.descriptor.annotations.end()) std::cout << "     compressor: " << c->second << "\n";
  }
  std::cout << "env:" << (i.env.empty() ? " (none)" : "") << "\n";
  for (const auto& e : i.env) std::cout << "  " << e << "\n";
  if (!i.entrypoint.empty()) std::cout << "entrypoint: " << quoted_list(i.entrypoint) << "\n";
  std::cout << "cmd:       " << (i.cmd.empty() ? "(none)" : quoted_list(i.cmd)) << "\n";
  print_map("labels", i.labels);
  print_map("annotations", i.annotations);
}

void run_inspect(const InspectOpts& o) {
  auto [dir, tag] = split_target(o.target);
  auto layout = oci::Layout::open(dir);
  std::optional<oci::Platform> platform;
  if (!o.platform.empty()) platform = oci::parse_supported_platform(o.platform);
  auto info = oci::inspect_image(layout, tag, platform);
  if (o.json)
    std::cout << oci::to_json(info).dump(2) << "\n";
  else
    print_text(info);
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto o = std::make_shared<InspectOpts>();
  auto* c =
      app.add_subcommand("inspect", "Show an image of an OCI layout: layers, sizes, digests, env, labels");
  c->add_option("target", o->target, "LAYOUT or LAYOUT:TAG (TAG may be left out when the layout has one tag)")
      ->required();
  c->add_flag("--json", o->json, "Print one JSON object instead of text");
  c->add_option("--platform", o->platform,
                "For a multi-platform image (an index): the entry to show, linux/amd64 or linux/arm64 "
                "(default: this machine's)");
  c->footer(
      "Examples:\n  ksimg inspect out/oci:k3-mipsel\n  ksimg inspect out/oci --json | jq -r "
      "'.layers[].digest'\n  ksimg inspect out/oci:k4-mipsel --platform linux/arm64");
  c->callback([o] { run_inspect(*o); });
}

}  // namespace ksimg::cli
