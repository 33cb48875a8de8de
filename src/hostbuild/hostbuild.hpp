// `ksimg kbuild` on the host after the flags are parsed and the cell resolved: the image to run
// (--image, the images.lock.json pin, the layout's tag, or built from the lock), the kernel
// source on the host, and the in-image kbuild run by a run::Runtime (podman or builtin). Its
// own module because building a missing cell image needs layers, which itself uses run.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "hostbuild/kbuild_host.hpp"
#include "layers/cache.hpp"
#include "layers/toolchain.hpp"
#include "matrix/resolver.hpp"
#include "run/runtime.hpp"

namespace ksimg::hostbuild {

// What the host side needs beyond the kbuild flags (the cli's global and build options).
struct Host {
  std::string data_dir;                                                 // --data-dir ("": built in)
  std::string cache;                                                    // --cache ("": the default)
  std::shared_ptr<layers::SourceMirror> source_mirror;                  // --source-mirror, or null
  std::function<layers::BuildContext(http::Transport&)> build_context;  // for a missing cell image
};

// The request, the host settings and the runtime's kind, as the image choice sees them.
struct Ctx {
  const Request& req;
  const Host& host;
  bool builtin = false;
};

// --image, else the pin, else the layout's tag (rebuilt when another ksimg built it), else
// built from the lock into the layout.
ImageChoice choose_image(const Ctx& o, const matrix::Resolution& res);

// Refuses an image whose cell label names another cell (unless --force).
void check_image_cell(const Ctx& o, const ImageChoice& img, const matrix::Resolution& res);

// The kernel source: --source, else downloaded into the download cache: with --sha256, from
// the source mirror first (--source-mirror), then from the kernel mirror.
SourcePlan host_source(const Ctx& o, const matrix::Version& v);

// Chooses the image, prepares it in `rt`, gets the source, runs kbuild; returns the output
// dir when kbuild succeeded, else throws ksimg's error carrying kbuild's exit status.
fs::path kbuild_on_host(const Request& r, const Host& host, run::Runtime& rt, const matrix::Version& v,
                        const matrix::Resolution& res);

}  // namespace ksimg::hostbuild
