// kbuild's .config handling: parsing, fragments, merging, unknown symbols and
// the explanation of an option that did not stick; plus the timeconst.pl patch text.
#include <doctest/doctest.h>

#include "kbuild/kconfig.hpp"
#include "kbuild/patches.hpp"
#include "util/error.hpp"

using namespace ksimg;
using namespace ksimg::kbuild;

TEST_CASE("parse_config reads set, module, string and not-set lines") {
  auto m = parse_config(
      "#\n# comment\nCONFIG_A=y\nCONFIG_B=m\nCONFIG_S=\"x y\"\n# CONFIG_C is not set\nCONFIG_N=0x10\n");
  CHECK(m.at("A") == "y");
  CHECK(m.at("B") == "m");
  CHECK(m.at("S") == "\"x y\"");
  CHECK(m.at("C") == "n");
  CHECK(m.at("N") == "0x10");
  CHECK(m.size() == 5);
}

TEST_CASE("parse_fragment accepts config lines and rejects anything else with FILE:LINE") {
  auto s = parse_fragment("CONFIG_A=y\n\n# a comment\n# CONFIG_B is not set\n", "frag");
  REQUIRE(s.size() == 2);
  CHECK(s[1].symbol == "B");
  CHECK(s[1].value == "n");
  CHECK(s[1].origin == "frag:4");
  CHECK_THROWS_WITH_AS(parse_fragment("CONFIG_A=y\nA=y\n", "f.cfg"), doctest::Contains("f.cfg:2"),
                       UsageError);
}

TEST_CASE("merge_settings replaces earlier lines and the last setting wins") {
  std::string cfg = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n";
  auto out = merge_settings(cfg, {{"B", "y", "x"}, {"A", "n", "x"}, {"D", "\"s\"", "x"}, {"B", "m", "y"}});
  auto m = parse_config(out);
  CHECK(m.at("A") == "n");
  CHECK(m.at("B") == "m");
  CHECK(m.at("C") == "m");
  CHECK(m.at("D") == "\"s\"");
  CHECK(out.find("CONFIG_B=y") == std::string::npos);
}

TEST_CASE("setting_holds: absent counts as not set") {
  ConfigMap f = {{"A", "y"}, {"B", "m"}};
  CHECK(setting_holds({"A", "y", ""}, f));
  CHECK_FALSE(setting_holds({"B", "y", ""}, f));
  CHECK(setting_holds({"Z", "n", ""}, f));
  CHECK_FALSE(setting_holds({"Z", "y", ""}, f));
}

TEST_CASE("Kconfig index: symbols, depends on, unknown symbols, dropped-option explanation") {
  KconfigIndex idx;
  index_kconfig_text(idx,
                     "menu \"x\"\nconfig FOO\n\tbool \"foo\"\n\tdepends on BAR && !BAZ\n\tdepends on NET\n"
                     "\thelp\n\t  text\nmenuconfig BAR\n\tbool \"bar\"\nendmenu\nconfig NET\n\tbool\n"
                     "config BAZ\n\tbool\nif BAR\nconfig QUX\n\tbool\nendif\n");
  CHECK(idx.symbols.count("FOO"));
  CHECK(idx.symbols.count("BAR"));
  CHECK(idx.symbols.count("QUX"));
  REQUIRE(idx.depends.at("FOO").size() == 2);
  CHECK(idx.depends.at("FOO")[0] == "BAR && !BAZ");
  CHECK(idx.depends.at("QUX") == std::vector<std::string>{"BAR"});  // from the enclosing if BAR
  CHECK(unknown_symbols({{"FOO", "y"}, {"NOPE", "y"}}, idx) == std::vector<std::string>{"NOPE"});
  auto why = explain_dropped({"FOO", "y", "--enable FOO"}, {{"NET", "y"}, {"BAR", "n"}}, idx);
  CHECK(why.find("CONFIG_FOO (--enable FOO) asked y, the final .config has no such line") == 0);
  CHECK(why.find("depends on (BAR && !BAZ) && (NET)") != std::string::npos);
  CHECK(why.find("not set: CONFIG_BAR (enable those too)") != std::string::npos);  // !BAZ is satisfied
  CHECK(explain_dropped({"NOPE", "y", "x"}, {}, idx).find("unknown symbol") != std::string::npos);
}

TEST_CASE("Kconfig index: enclosing if and menu conditions reach sourced files") {
  KconfigIndex idx;
  std::vector<std::pair<std::string, std::vector<std::string>>> sourced;
  index_kconfig_text(idx,
                     "config BLOCK\n\tbool\nif BLOCK\nsource \"fs/ext4/Kconfig\"\nendif\nmenu \"Net\"\n"
                     "\tdepends on NET\nconfig TCP\n\tbool\nendmenu\nconfig LATE\n\tbool\n",
                     {}, [&](std::string p, const std::vector<std::string>& c) {
                       sourced.push_back({p, c});
                     });
  REQUIRE(sourced.size() == 1);
  CHECK(sourced[0].first == "fs/ext4/Kconfig");
  CHECK(sourced[0].second == std::vector<std::string>{"BLOCK"});
  CHECK(idx.depends.at("TCP") == std::vector<std::string>{"NET"});
  CHECK_FALSE(idx.depends.count("LATE"));
  index_kconfig_text(idx, "config EXT4_FS\n\ttristate \"ext4\"\n\tselect JBD2\n", sourced[0].second);
  CHECK(idx.depends.at("EXT4_FS") == std::vector<std::string>{"BLOCK"});
  auto why = explain_dropped({"EXT4_FS", "y", "--enable EXT4_FS"}, {{"BLOCK", "n"}}, idx);
  CHECK(why.find("not set: CONFIG_BLOCK") != std::string::npos);
}

TEST_CASE("timeconst.pl: defined(@array) becomes @array, other defined() untouched") {
  CHECK(rewrite_defined_arrays("if (!defined(@val)) {\n") == "if (!@val) {\n");
  CHECK(rewrite_defined_arrays("defined( @a::b )") == "@a::b");
  CHECK(rewrite_defined_arrays("defined($x) defined(%h)") == "defined($x) defined(%h)");
}
