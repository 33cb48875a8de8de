// `ksimg kbuild` on the host after the cli's checks (hostbuild.hpp): the image chosen and
// prepared in the runtime, the kernel source on the host (given or downloaded and verified),
// the output and ccache dirs, then the in-image kbuild run by run::Runtime; a failure becomes
// ksimg's error carrying kbuild's exit status (the runtime's own statuses explained).
#include <unistd.h>

#include "hostbuild/hostbuild.hpp"
#include "http/transport.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::hostbuild {

namespace {

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs kbuild in the prepared image and turns a failure into ksimg's error (kbuild's status).
void run_in_image(run::Runtime& rt, const Invocation& inv, const fs::path& out) {
  log::debug("running: " + joined(rt.argv(inv.argv, inv.opts)));
  int status = rt.run(inv.argv, inv.opts);
  if (status == 0) return;
  if (auto why = rt.describe_failure(status); !why.empty()) throw RuntimeError(why);
  if (status > 128)
    throw Error(static_cast<Exit>(status), "the build was stopped by signal " + std::to_string(status - 128) +
                                               "; " + (out / "metadata.json").string() +
                                               " records how far it got");
  throw Error(static_cast<Exit>(status), "kbuild failed with exit status " + std::to_string(status) +
                                             " (its message is above; the log is " +
                                             (out / "build.log").string() + ")");
}

}  // namespace

SourcePlan host_source(const Ctx& o, const matrix::Version& v) {
  if (!o.req.source.empty()) return given_source(o.req.source);
  layers::DownloadCache cache(layers::default_cache_root(o.host.cache));
  cache.mirror = o.host.source_mirror.get();
  auto transport = http::make_transport();
  return download_source(*transport, cache, kernel_mirror(o.req.mirror), v, o.req.sha256);
}

fs::path kbuild_on_host(const Request& r, const Host& host, run::Runtime& rt, const matrix::Version& v,
                        const matrix::Resolution& res) {
  Ctx o{r, host, rt.name() == "builtin"};
  auto img = choose_image(o, res);
  check_image_cell(o, img, res);
  log::info("image " + img.name + " (" + img.how + ")");
  auto where = rt.prepare(r.layout, img.name);
  if (o.builtin) log::info("runtime builtin: " + where);
  SourcePlan src = host_source(o, v);
  fs::path out = out_dir(r.out, v, r.arch);
  fs::create_directories(out);
  std::optional<fs::path> ccache;  // none with --no-ccache: nothing mounted, kbuild compiles without
  if (!r.no_ccache) {
    ccache = ccache_dir(r.ccache_dir, res.image_tag);
    fs::create_directories(*ccache);
  }
  run_in_image(rt, plan_invocation(r, v, src, out, ccache, img, static_cast<unsigned>(geteuid())), out);
  return out;
}

}  // namespace ksimg::hostbuild
