// ksimg_static_server: a static-file HTTP server for integration tests (cpp-httplib), with
// fault injection for what real mirrors do on bad days. Serves DIR on 127.0.0.1 at an
// ephemeral port and prints the port as the first line on stdout.
//
//   ksimg_static_server DIR [--fault URLPATH=KIND]... [--log FILE] [--header-log FILE] [--bind ADDR]
//
// KIND: 404 | 500 (every time) | 500once (first request only) | corrupt (one byte flipped,
// same length) | short (first half of the body only). --log appends "METHOD PATH STATUS"
// per request; --header-log appends "METHOD PATH" and then every request header as
// "  Name: value" (the redirect test checks no Authorization arrives). --bind picks the
// address (default 127.0.0.1; e.g. 127.0.0.2 to be another host). Runs until killed.
#include <httplib.h>

#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

namespace {

struct Config {
  std::string root;
  std::map<std::string, std::string> faults;  // URL path -> kind
  std::string log_file;
  std::string header_log;
  std::string bind = "127.0.0.1";
};

std::mutex g_mu;
std::map<std::string, int> g_hits;

bool parse_args(int argc, char** argv, Config& c) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--fault" || a == "--log" || a == "--header-log" || a == "--bind") && i + 1 < argc) {
      std::string v = argv[++i];
      if (a != "--fault") {
        (a == "--log" ? c.log_file : a == "--bind" ? c.bind : c.header_log) = v;
        continue;
      }
      auto eq = v.rfind('=');
      if (eq == std::string::npos) return false;
      c.faults[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (c.root.empty() && a.rfind("--", 0) != 0) {
      c.root = a;
    } else {
      return false;
    }
  }
  return !c.root.empty();
}

bool read_file(const Config& c, const std::string& path, std::string& out) {
  if (path.empty() || path[0] != '/' || path.find("..") != std::string::npos) return false;
  std::ifstream in(c.root + path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Applies the fault for `path`, if any; true when the response is complete.
bool apply_fault(const Config& c, const std::string& path, std::string& body, httplib::Response& res) {
  auto it = c.faults.find(path);
  if (it == c.faults.end()) return false;
  int hit;
  {
    std::lock_guard lk(g_mu);
    hit = ++g_hits[path];
  }
  const std::string& kind = it->second;
  if (kind == "404") res.status = 404;
  if (kind == "500" || (kind == "500once" && hit == 1)) res.status = 500;
  if (res.status == 404 || res.status == 500) {
    res.set_content("injected fault\n", "text/plain");
    return true;
  }
  if (kind == "corrupt" && !body.empty())
    body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x55);
  if (kind == "short") body.resize(body.size() / 2);
  return false;
}

void log_request(const Config& c, const httplib::Request& req, const httplib::Response& res) {
  std::lock_guard lk(g_mu);
  if (!c.log_file.empty())
    std::ofstream(c.log_file, std::ios::app) << req.method << " " << req.path << " " << res.status << "\n";
  if (c.header_log.empty()) return;
  std::ofstream out(c.header_log, std::ios::app);
  out << req.method << " " << req.path << "\n";
  for (const auto& [k, v] : req.headers) out << "  " << k << ": " << v << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (!parse_args(argc, argv, c)) {
    std::cerr
        << "usage: ksimg_static_server DIR [--fault URLPATH=404|500|500once|corrupt|short]... [--log FILE] "
           "[--header-log FILE] [--bind ADDR]\n";
    return 2;
  }
  httplib::Server svr;
  svr.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::string body;
    bool found = read_file(c, req.path, body);
    if (apply_fault(c, req.path, body, res)) return;
    if (!found) {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
      return;
    }
    res.set_content(body, "application/octet-stream");
  });
  svr.set_logger(
      [&](const httplib::Request& req, const httplib::Response& res) { log_request(c, req, res); });
  int port = svr.bind_to_any_port(c.bind);
  if (port <= 0) {
    std::cerr << "ksimg_static_server: cannot bind " << c.bind << "\n";
    return 1;
  }
  std::cout << port << std::endl;
  return svr.listen_after_bind() ? 0 : 1;
}
