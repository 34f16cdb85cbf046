// Which files are recorded: GlobMatch (fnmatch(3) without flags, as
// scope.h and RecordOptions document) and Scope's include/exclude/default
// rules (DESIGN section 5: coverage.py-like).
#include "tracetape/recorder/scope.h"

#include <fnmatch.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tracetape::recorder {
namespace {

TEST(GlobMatchTest, StarMatchesAnyRunIncludingSlashes) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "/home/ann/prog.py"));
  EXPECT_TRUE(GlobMatch("*.py", "/home/ann/prog.py"));
  EXPECT_TRUE(GlobMatch("/home/*", "/home/ann/src/deep/prog.py")) << "no FNM_PATHNAME: '*' crosses '/'";
  EXPECT_TRUE(GlobMatch("/home/*/prog.py", "/home/ann/src/prog.py"));
  EXPECT_FALSE(GlobMatch("*.py", "/home/ann/prog.pyc"));
  EXPECT_FALSE(GlobMatch("/home/*", "/srv/home/x.py"));
}

TEST(GlobMatchTest, StarBacktracks) {
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYbZZc"));
  EXPECT_TRUE(GlobMatch("*tests*test_*.py", "/src/tests/unit/test_scope.py"));
  EXPECT_TRUE(GlobMatch("**", "abc"));
  EXPECT_TRUE(GlobMatch("*a", "aaaa"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYYbZZ"));
  EXPECT_FALSE(GlobMatch("*a*a", "a"));
}

TEST(GlobMatchTest, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_TRUE(GlobMatch("prog?.py", "prog1.py"));
  EXPECT_TRUE(GlobMatch("a?c", "a/c")) << "no FNM_PATHNAME: '?' matches '/'";
  EXPECT_FALSE(GlobMatch("prog?.py", "prog.py"));
  EXPECT_FALSE(GlobMatch("prog?.py", "prog12.py"));
  EXPECT_FALSE(GlobMatch("?", ""));
}

TEST(GlobMatchTest, EmptyPatternMatchesOnlyEmptyText) {
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_FALSE(GlobMatch("a", ""));
}

TEST(GlobMatchTest, LiteralsMustMatchWholeText) {
  EXPECT_TRUE(GlobMatch("/a/b.py", "/a/b.py"));
  EXPECT_FALSE(GlobMatch("/a/b.py", "/a/b.py2"));
  EXPECT_FALSE(GlobMatch("/a/b.py", "x/a/b.py"));
  EXPECT_FALSE(GlobMatch("/a/B.py", "/a/b.py")) << "matching is case-sensitive";
}

TEST(GlobMatchTest, BracketClassesMatchSetsRangesAndNegations) {
  EXPECT_TRUE(GlobMatch("[abc].py", "b.py"));
  EXPECT_FALSE(GlobMatch("[abc].py", "d.py"));
  EXPECT_TRUE(GlobMatch("test_[a-c]*.py", "test_beta.py"));
  EXPECT_FALSE(GlobMatch("test_[a-c]*.py", "test_delta.py"));
  EXPECT_TRUE(GlobMatch("v[0-9][0-9]", "v42"));
  EXPECT_FALSE(GlobMatch("v[0-9][0-9]", "v4x"));
  EXPECT_TRUE(GlobMatch("[!abc].py", "d.py"));
  EXPECT_FALSE(GlobMatch("[!abc].py", "a.py"));
  EXPECT_FALSE(GlobMatch("[!abc].py", ".py")) << "a negated class still consumes one character";
  EXPECT_TRUE(GlobMatch("[a-cx-z]", "y"));
  EXPECT_FALSE(GlobMatch("[a-cx-z]", "m"));
}

TEST(GlobMatchTest, BracketEdgeCasesFollowFnmatch) {
  EXPECT_TRUE(GlobMatch("[]]", "]")) << "']' first in a class is a member";
  EXPECT_TRUE(GlobMatch("[!]]", "a"));
  EXPECT_FALSE(GlobMatch("[!]]", "]"));
  EXPECT_TRUE(GlobMatch("[a-]", "-")) << "'-' last in a class is a member";
  EXPECT_TRUE(GlobMatch("[a-]", "a"));
  EXPECT_TRUE(GlobMatch("[-a]", "-"));
  EXPECT_TRUE(GlobMatch("a[", "a[")) << "an unclosed '[' is a literal";
  EXPECT_FALSE(GlobMatch("a[", "ab"));
  EXPECT_TRUE(GlobMatch("[*]", "*")) << "'*' inside a class is literal";
  EXPECT_FALSE(GlobMatch("[*]", "x"));
  EXPECT_TRUE(GlobMatch("[?]", "?"));
  EXPECT_FALSE(GlobMatch("[?]", "x"));
}

// fnmatch(3) with flags 0 is the specification; GlobMatch must agree with it
// on the syntax it documents (no backslash escapes, no [:classes:]).
TEST(GlobMatchTest, AgreesWithFnmatchOnATableOfCases) {
  const std::vector<std::string> patterns = {
      "*", "?", "*.py", "/src/*", "/src/*/test_*.py", "*/site-packages/*", "[abc]*", "[!abc]*", "[a-z]?[0-9]",
      "*[!.]py", "*[]]*", "*[a-]", "a*a*a", "/x/[!/]*", "*.p?", "[]", "[!]", "x[", "[!a-c][a-c]", "?*?",
      "[z-a]", "*/tracetape/*", "/usr/lib/python3.1[0-4]/*", "[[]x", "[a]]",
  };
  const std::vector<std::string> texts = {
      "",        "a",          "abc",         "/src/prog.py",      "/src/pkg/test_mod.py", "/src/pkg/mod.py",
      "b1",      "z9",         "x",           "x[",                "]",                    "-",
      "aaa",     "a/a/a",      "/x/y",        "/x/y/z",            "prog.pyc",             "[x",
      "[]",      "a]",         "d.py",        ".py",               "/usr/lib/python3.12/os.py",
      "/usr/lib/python3.15/os.py", "/venv/lib/python3.12/site-packages/pkg/m.py", "/opt/tracetape/x.py", "ab",
  };
  for (const auto& p : patterns) {
    for (const auto& t : texts) {
      bool want = ::fnmatch(p.c_str(), t.c_str(), 0) == 0;
      EXPECT_EQ(GlobMatch(p, t), want) << "pattern '" << p << "', text '" << t << "'";
    }
  }
}

TEST(GlobMatchTest, AgreesWithFnmatchOnRandomInputs) {
  std::mt19937 rng(12345);
  const std::string pat_alphabet = "ab/.*?[]!-";
  const std::string txt_alphabet = "ab/.-]![";
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string p, t;
    for (int n = rng() % 8; n > 0; --n) p.push_back(pat_alphabet[rng() % pat_alphabet.size()]);
    for (int n = rng() % 8; n > 0; --n) t.push_back(txt_alphabet[rng() % txt_alphabet.size()]);
    bool want = ::fnmatch(p.c_str(), t.c_str(), 0) == 0;
    ASSERT_EQ(GlobMatch(p, t), want) << "pattern '" << p << "', text '" << t << "'";
    ++checked;
  }
  EXPECT_EQ(checked, 20000);
}

RecordOptions DefaultOptions() {
  RecordOptions o;
  o.default_exclude_dirs = {"/usr/lib/python3.12", "/venv/lib/python3.12/site-packages/",
                            "/venv/lib/python3.12/site-packages/tracetape"};
  return o;
}

TEST(ScopeTest, ByDefaultRecordsUserCodeAndSkipsDefaultExcludedDirectories) {
  Scope scope(DefaultOptions());
  EXPECT_TRUE(scope.Includes("/home/ann/project/prog.py"));
  EXPECT_TRUE(scope.Includes("/tmp/x.py"));
  EXPECT_FALSE(scope.Includes("/usr/lib/python3.12/json/__init__.py"));
  EXPECT_FALSE(scope.Includes("/venv/lib/python3.12/site-packages/requests/api.py"));
  EXPECT_FALSE(scope.Includes("/venv/lib/python3.12/site-packages/tracetape/__init__.py"));
}

TEST(ScopeTest, DefaultExcludedDirectoryMatchesWholePathComponentsOnly) {
  Scope scope(DefaultOptions());
  EXPECT_TRUE(scope.Includes("/usr/lib/python3.12-extra/mine.py"));
  EXPECT_TRUE(scope.Includes("/usr/lib/python3.123/mine.py"));
  EXPECT_FALSE(scope.Includes("/usr/lib/python3.12/os.py"));
}

TEST(ScopeTest, IncludeRestrictsRecordingToMatchingFiles) {
  RecordOptions o = DefaultOptions();
  o.include = {"/home/ann/project/*", "*/vendored/*.py"};
  Scope scope(o);
  EXPECT_TRUE(scope.Includes("/home/ann/project/prog.py"));
  EXPECT_TRUE(scope.Includes("/home/ann/project/pkg/deep/mod.py"));
  EXPECT_TRUE(scope.Includes("/opt/vendored/lib.py"));
  EXPECT_FALSE(scope.Includes("/home/ann/other/prog.py"));
  EXPECT_FALSE(scope.Includes("/tmp/x.py"));
}

TEST(ScopeTest, IncludeOverridesTheDefaultExcludedDirectories) {
  RecordOptions o = DefaultOptions();
  o.include = {"/usr/lib/python3.12/json/*"};
  Scope scope(o);
  EXPECT_TRUE(scope.Includes("/usr/lib/python3.12/json/decoder.py"));
  EXPECT_FALSE(scope.Includes("/usr/lib/python3.12/os.py"));
}

TEST(ScopeTest, ExcludeWinsOverInclude) {
  RecordOptions o = DefaultOptions();
  o.include = {"/home/ann/project/*"};
  o.exclude = {"*/tests/*", "*_pb2.py"};
  Scope scope(o);
  EXPECT_TRUE(scope.Includes("/home/ann/project/app.py"));
  EXPECT_FALSE(scope.Includes("/home/ann/project/tests/test_app.py"));
  EXPECT_FALSE(scope.Includes("/home/ann/project/api_pb2.py"));
}

TEST(ScopeTest, ExcludeAppliesWithoutInclude) {
  RecordOptions o = DefaultOptions();
  o.exclude = {"/home/ann/project/generated/*"};
  Scope scope(o);
  EXPECT_TRUE(scope.Includes("/home/ann/project/app.py"));
  EXPECT_FALSE(scope.Includes("/home/ann/project/generated/models.py"));
}

TEST(ScopeTest, PseudoFilesAreExcludedUnlessListed) {
  Scope scope(DefaultOptions());
  EXPECT_FALSE(scope.Includes("<string>"));
  EXPECT_FALSE(scope.Includes("<frozen importlib._bootstrap>"));
  EXPECT_FALSE(scope.Includes("<stdin>"));
  EXPECT_FALSE(scope.Includes(""));

  RecordOptions o = DefaultOptions();
  o.pseudo_files = {{"<string>", "print(1)\n"}};
  o.include = {"/home/ann/*"};
  Scope listed(o);
  EXPECT_TRUE(listed.Includes("<string>")) << "a listed pseudo-file is recorded even with --include";
  EXPECT_FALSE(listed.Includes("<stdin>"));
  EXPECT_FALSE(listed.Includes("<frozen importlib._bootstrap>"));
}

TEST(ScopeTest, RepeatedQueriesGiveTheSameAnswer) {
  RecordOptions o = DefaultOptions();
  o.exclude = {"*/skip/*"};
  Scope scope(o);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(scope.Includes("/a/keep/x.py"));
    EXPECT_FALSE(scope.Includes("/a/skip/x.py"));
    EXPECT_FALSE(scope.Includes("/usr/lib/python3.12/os.py"));
  }
}

}  // namespace
}  // namespace tracetape::recorder
