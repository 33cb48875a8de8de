// ksimg_registry_proxy: a fault-injecting HTTP proxy (cpp-httplib) in front of a real registry
// on 127.0.0.1, for the registry integration tests. It forwards every request (keeping Host,
// so the registry's absolute Location URLs point back at the proxy), logs it, and misbehaves
// on demand. Prints its port as the first line on stdout; runs until killed.
//
//   ksimg_registry_proxy UPSTREAM_PORT [--log FILE] [--chunk-min N] [--redirect-to BASE] [--referrers]
//                        [--fault "KIND METHOD COUNT REGEX"]...
//
// A fault applies to requests whose method is METHOD (or *) and whose target (path?query)
// matches REGEX (ECMAScript, searched), COUNT times (0 = always). KIND:
//   500      answer 500 with a distribution error body, not forwarded
//   503      answer 503 with Retry-After: 1, not forwarded
//   drop     not forwarded; the connection closes after the response headers
//   reset    forwarded; the connection closes after the headers and half the body
//   slow     forwarded; the body is sent in 4 KiB pieces 20 ms apart
//   corrupt  forwarded; one byte in the middle of a 200 body is flipped (same length)
//   blobunknown  answer 400 MANIFEST_BLOB_UNKNOWN (what distribution says when a manifest PUT
//            reads a blob link another push is rewriting), not forwarded
//   redirect not forwarded; a 307 to BASE/blobs/ALG/HEX for a .../blobs/ALG:HEX target, so a
//            static server on an OCI layout (another host) serves the blob, like a CDN
// --log appends "METHOD TARGET STATUS REQUEST_BODY_BYTES FAULT" per request.
// --chunk-min N adds OCI-Chunk-Min-Length: N to 202 answers of POST .../blobs/uploads/.
// --referrers adds the OCI 1.1 referrers API the registry lacks: a stored manifest PUT with a
// `subject` is answered with OCI-Subject and listed by GET /v2/<name>/referrers/<digest>
// (filter ?artifactType=), as Harbor >= 2.8 does.
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Fault {
  std::string kind, method;
  int count = 0;  // remaining; 0 = always
  std::regex re;
  std::string text;
};

struct Config {
  int upstream = 0;
  std::string log_file;
  long chunk_min = 0;
  std::string redirect_to;
  std::vector<Fault> faults;
  bool referrers = false;
};

// --referrers: "<name>@<subject digest>" -> descriptors of the manifests that refer to it.
std::map<std::string, std::vector<nlohmann::json>> g_referrers;

std::mutex g_mu;
Config g_cfg;

bool parse_fault(const std::string& spec, Fault& f) {
  std::istringstream in(spec);
  std::string regex;
  if (!(in >> f.kind >> f.method >> f.count)) return false;
  std::getline(in >> std::ws, regex);
  if (regex.empty()) return false;
  f.re = std::regex(regex);
  f.text = spec;
  return true;
}

bool parse_args(int argc, char** argv, Config& c) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--log" || a == "--fault" || a == "--chunk-min" || a == "--redirect-to") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--log") c.log_file = v;
      if (a == "--redirect-to") c.redirect_to = v;
      if (a == "--chunk-min") c.chunk_min = std::stol(v);
      if (a == "--fault") {
        Fault f;
        if (!parse_fault(v, f)) return false;
        c.faults.push_back(std::move(f));
      }
    } else if (a == "--referrers") {
      c.referrers = true;
    } else if (c.upstream == 0 && !a.empty() && a[0] != '-') {
      c.upstream = std::stoi(a);
    } else {
      return false;
    }
  }
  return c.upstream > 0;
}

// The fault kind for this request ("" for none), consuming one use of a counted fault.
std::string take_fault(const httplib::Request& req) {
  std::lock_guard lk(g_mu);
  for (auto& f : g_cfg.faults) {
    if (f.count < 0) continue;
    if ((f.method == "*" || f.method == req.method) && std::regex_search(req.target, f.re)) {
      if (f.count > 0 && --f.count == 0) f.count = -1;  // used up
      return f.kind;
    }
  }
  return "";
}

void log_line(const httplib::Request& req, int status, const std::string& fault) {
  if (g_cfg.log_file.empty()) return;
  std::lock_guard lk(g_mu);
  std::ofstream(g_cfg.log_file, std::ios::app)
      << req.method << " " << req.target << " " << status << " " << req.body.size() << " "
      << (fault.empty() ? "-" : fault) << "\n";
}

void error_body(httplib::Response& res, int status, const std::string& msg) {
  res.status = status;
  res.set_content(R"({"errors":[{"code":"UNKNOWN","message":")" + msg + R"("}]})", "application/json");
}

// Headers first, then `keep` bytes of `body`, then the connection closes mid-body.
void broken_body(httplib::Response& res, std::string body, size_t keep) {
  size_t len = std::max<size_t>(body.size(), 16);
  res.set_content_provider(len, "application/octet-stream",
                           [body = std::move(body), keep](size_t off, size_t, httplib::DataSink& sink) {
                             if (off < keep) sink.write(body.data() + off, keep - off);
                             return off >= keep ? false : true;
                           });
}

void slow_body(httplib::Response& res, std::string body, const std::string& type) {
  size_t len = body.size();
  res.set_content_provider(len, type, [body = std::move(body)](size_t off, size_t, httplib::DataSink& sink) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    sink.write(body.data() + off, std::min<size_t>(4096, body.size() - off));
    return true;
  });
}

httplib::Result forward(const httplib::Request& req) {
  httplib::Client cli("127.0.0.1", g_cfg.upstream);
  cli.set_read_timeout(120, 0);
  cli.set_write_timeout(120, 0);
  httplib::Request up;
  up.method = req.method;
  up.path = req.target;
  for (const auto& [k, v] : req.headers)
    if (k != "Content-Length" && k != "REMOTE_ADDR" && k != "REMOTE_PORT" && k != "LOCAL_ADDR" &&
        k != "LOCAL_PORT")
      up.headers.emplace(k, v);
  up.body = req.body;
  if (!req.body.empty() || req.method == "PUT" || req.method == "POST" || req.method == "PATCH")
    up.headers.emplace("Content-Length", std::to_string(req.body.size()));
  return cli.send(up);
}

void copy_response(const httplib::Response& from, httplib::Response& to, const std::string& method) {
  to.status = from.status;
  for (const auto& [k, v] : from.headers)
    if (k != "Content-Length" && k != "Transfer-Encoding" && k != "Connection" && k != "Content-Type")
      to.headers.emplace(k, v);
  std::string type = from.has_header("Content-Type") ? from.get_header_value("Content-Type") : "";
  if (method == "HEAD" && from.has_header("Content-Length")) {
    to.set_header("Content-Type", type);
    return;  // httplib sends no body for HEAD
  }
  to.set_content(from.body, type.c_str());
}

// 307 to the blob's path in an OCI layout served at --redirect-to.
void redirect_blob(const httplib::Request& req, httplib::Response& res) {
  auto blobs = req.path.rfind("/blobs/");
  auto colon = req.path.find(':', blobs == std::string::npos ? 0 : blobs);
  if (blobs == std::string::npos || colon == std::string::npos)
    return error_body(res, 400, "not a blob path");
  std::string alg = req.path.substr(blobs + 7, colon - blobs - 7);
  res.status = 307;
  res.set_header("Location", g_cfg.redirect_to + "/blobs/" + alg + "/" + req.path.substr(colon + 1));
}

// --referrers: serves GET /v2/<name>/referrers/<digest>; true when it did.
bool serve_referrers(const httplib::Request& req, httplib::Response& res) {
  static const std::regex re("^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$");
  std::smatch m;
  if (!g_cfg.referrers || req.method != "GET" || !std::regex_match(req.path, m, re)) return false;
  auto idx = nlohmann::json{{"schemaVersion", 2},
                            {"mediaType", "application/vnd.oci.image.index.v1+json"},
                            {"manifests", nlohmann::json::array()}};
  std::string type = req.has_param("artifactType") ? req.get_param_value("artifactType") : "";
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (const auto& d : g_referrers[m[1].str() + "@" + m[2].str()])
      if (type.empty() || d.value("artifactType", "") == type) idx["manifests"].push_back(d);
  }
  res.status = 200;
  res.set_content(idx.dump(), "application/vnd.oci.image.index.v1+json");
  log_line(req, 200, "referrers");
  return true;
}

// --referrers: a stored manifest with a subject is recorded and answered with OCI-Subject.
void record_referrer(const httplib::Request& req, const httplib::Response& up, httplib::Response& res) {
  static const std::regex re("^/v2/(.+)/manifests/[^/]+$");
  std::smatch m;
  if (!g_cfg.referrers || req.method != "PUT" || up.status != 201 || !std::regex_match(req.path, m, re))
    return;
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.contains("subject") || !up.has_header("Docker-Content-Digest")) return;
  nlohmann::json d = {{"mediaType", j.value("mediaType", "")},
                      {"digest", up.get_header_value("Docker-Content-Digest")},
                      {"size", req.body.size()}};
  if (j.contains("artifactType")) d["artifactType"] = j["artifactType"];
  std::string subject = j["subject"].value("digest", "");
  std::lock_guard<std::mutex> lock(g_mu);
  g_referrers[m[1].str() + "@" + subject].push_back(d);
  res.set_header("OCI-Subject", subject);
}

void handle(const httplib::Request& req, httplib::Response& res) {
  if (serve_referrers(req, res)) return;
  std::string fault = take_fault(req);
  if (fault == "redirect") {
    redirect_blob(req, res);
    return log_line(req, res.status, fault);
  }
  if (fault == "500") error_body(res, 500, "injected 500");
  if (fault == "503") {
    error_body(res, 503, "injected 503");
    res.set_header("Retry-After", "1");
  }
  if (fault == "drop") broken_body(res, "", 0);
  if (fault == "blobunknown") {
    res.status = 400;
    res.set_content(
        R"({"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"injected"}]})",
        "application/json");
  }
  if (fault == "500" || fault == "503" || fault == "drop" || fault == "blobunknown")
    return log_line(req, res.status, fault);
  auto r = forward(req);
  if (!r) {
    error_body(res, 502, "upstream: " + httplib::to_string(r.error()));
    return log_line(req, 502, fault);
  }
  copy_response(*r, res, req.method);
  record_referrer(req, *r, res);
  if (g_cfg.chunk_min > 0 && req.method == "POST" && r->status == 202)
    res.set_header("OCI-Chunk-Min-Length", std::to_string(g_cfg.chunk_min));
  std::string type =
      r->has_header("Content-Type") ? r->get_header_value("Content-Type") : "application/octet-stream";
  if (fault == "reset") broken_body(res, r->body, r->body.size() / 2);
  if (fault == "slow") slow_body(res, r->body, type);
  if (fault == "corrupt" && r->status == 200 && !r->body.empty()) {
    std::string b = r->body;
    b[b.size() / 2] = static_cast<char>(b[b.size() / 2] ^ 0x5a);
    res.set_content(b, type.c_str());
  }
  log_line(req, r->status, fault);
}

}  // namespace

int main(int argc, char** argv) {
  if (!parse_args(argc, argv, g_cfg)) {
    std::cerr
        << "usage: ksimg_registry_proxy UPSTREAM_PORT [--log FILE] [--chunk-min N] [--redirect-to BASE] "
           "[--referrers] [--fault \"KIND METHOD COUNT REGEX\"]...\n";
    return 2;
  }
  httplib::Server svr;
  svr.new_task_queue = [] { return new httplib::ThreadPool(16); };
  svr.Get(".*", handle);
  svr.Post(".*", handle);
  svr.Put(".*", handle);
  svr.Patch(".*", handle);
  svr.Delete(".*", handle);
  int port = svr.bind_to_any_port("127.0.0.1");
  if (port <= 0) return 1;
  std::cout << port << std::endl;
  svr.listen_after_bind();
  return 0;
}
