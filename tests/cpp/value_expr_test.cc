// Parsing renderings back into values (replayer/include/tracetape/replayer/
// value.h, docs/RENDERING.md) and evaluating pdb-like expressions over them
// (expr.h): every form the recorder produces, Python's semantics for what is
// evaluated, pdb-like errors, and no crash on arbitrary input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tracetape/replayer/expr.h"
#include "tracetape/replayer/value.h"

namespace tracetape::replayer {
namespace {

using K = Value::Kind;

// ---------------------------------------------------------------------------
// ParseRendered

TEST(ParseRenderedTest, Ints) {
  for (auto [text, want] : std::vector<std::pair<std::string, int64_t>>{
           {"0", 0}, {"-7", -7}, {"123", 123}, {"9223372036854775807", INT64_MAX}, {"-9223372036854775808", INT64_MIN}}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, K::kInt) << text;
    EXPECT_FALSE(v.big_int) << text;
    EXPECT_EQ(v.integer, want) << text;
    EXPECT_EQ(v.text, text);
    EXPECT_EQ(Repr(v), text);
  }
}

TEST(ParseRenderedTest, BigIntsKeepTheirText) {
  for (std::string text : {"9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
                           "-99999999999999999999999999999999999999999"}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, K::kInt) << text;
    EXPECT_TRUE(v.big_int) << text;
    EXPECT_EQ(Repr(v), text);
    EXPECT_TRUE(Truthy(v));
  }
  Value huge = ParseRendered("<int with 5000 bits>");
  EXPECT_EQ(huge.kind, K::kOpaque);
  EXPECT_EQ(Repr(huge), "<int with 5000 bits>");
}

TEST(ParseRenderedTest, Floats) {
  for (auto [text, want] : std::vector<std::pair<std::string, double>>{{"3.5", 3.5},
                                                                       {"-0.0", -0.0},
                                                                       {"0.1", 0.1},
                                                                       {"1e-05", 1e-05},
                                                                       {"1e+16", 1e16},
                                                                       {"-2.5e-07", -2.5e-07},
                                                                       {"1.7976931348623157e+308", 1.7976931348623157e+308},
                                                                       {"5e-324", 5e-324}}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, K::kFloat) << text;
    EXPECT_EQ(v.real, want) << text;
    EXPECT_EQ(Repr(v), text);
  }
  EXPECT_TRUE(std::signbit(ParseRendered("-0.0").real));
}

TEST(ParseRenderedTest, InfinitiesAndNan) {
  Value inf = ParseRendered("inf");
  EXPECT_EQ(inf.kind, K::kFloat);
  EXPECT_TRUE(std::isinf(inf.real) && inf.real > 0);
  Value nan = ParseRendered("nan");
  EXPECT_EQ(nan.kind, K::kFloat);
  EXPECT_TRUE(std::isnan(nan.real));
  // repr(float('-inf')) is '-inf'.
  Value minf = ParseRendered("-inf");
  EXPECT_EQ(minf.kind, K::kFloat);
  EXPECT_TRUE(std::isinf(minf.real) && minf.real < 0);
  Value list = ParseRendered("[inf, -inf, nan]");
  ASSERT_EQ(list.kind, K::kList);
  ASSERT_EQ(list.items.size(), 3u);
  EXPECT_TRUE(std::isinf(list.items[1].real) && list.items[1].real < 0);
}

TEST(ParseRenderedTest, NoneAndBools) {
  EXPECT_EQ(ParseRendered("None").kind, K::kNone);
  Value t = ParseRendered("True");
  EXPECT_EQ(t.kind, K::kBool);
  EXPECT_TRUE(t.boolean);
  Value f = ParseRendered("False");
  EXPECT_EQ(f.kind, K::kBool);
  EXPECT_FALSE(f.boolean);
  EXPECT_FALSE(Truthy(ParseRendered("None")));
  EXPECT_FALSE(Truthy(f));
}

TEST(ParseRenderedTest, StringsWithEscapesAndQuotes) {
  struct Case {
    std::string text;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"'ann'", "ann"},
           {"''", ""},
           {"\"it's\"", "it's"},
           {"'it\\'s \"x\"'", "it's \"x\""},
           {"'say \"hi\"'", "say \"hi\""},
           {"'tab\\t'", "tab\t"},
           {"'line1\\nline2'", "line1\nline2"},
           {"'cr\\r'", "cr\r"},
           {"'back\\\\slash'", "back\\slash"},
           {"'\\x1b[31mred\\x1b[0m'", "\x1b[31mred\x1b[0m"},
           {"'\\x00'", std::string(1, '\0')},
           {"'caf\\xe9'", "caf\xc3\xa9"},
           {"'\\u2028'", "\xe2\x80\xa8"},
           {"'\\U0001f600'", "\xf0\x9f\x98\x80"},
           {"'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
           {"'a, b: [c]'", "a, b: [c]"},
       }) {
    Value v = ParseRendered(c.text);
    EXPECT_EQ(v.kind, K::kStr) << c.text;
    EXPECT_EQ(v.str, c.want) << c.text;
    EXPECT_FALSE(v.truncated) << c.text;
    EXPECT_EQ(Repr(v), c.text);
  }
}

TEST(ParseRenderedTest, TruncatedStrings) {
  Value v = ParseRendered("'" + std::string(200, 'a') + "'...");
  EXPECT_EQ(v.kind, K::kStr);
  EXPECT_TRUE(v.truncated);
  EXPECT_EQ(v.str, std::string(200, 'a'));
  Value q = ParseRendered("\"it's\"...");
  EXPECT_EQ(q.kind, K::kStr);
  EXPECT_TRUE(q.truncated);
  EXPECT_EQ(q.str, "it's");
  // A truncated string equals nothing: the rest is unknown.
  EXPECT_FALSE(ValuesEqual(q, ParseRendered("\"it's\"")));
  Value in_list = ParseRendered("['abc'..., 'd']");
  ASSERT_EQ(in_list.kind, K::kList);
  ASSERT_EQ(in_list.items.size(), 2u);
  EXPECT_TRUE(in_list.items[0].truncated);
  EXPECT_FALSE(in_list.items[1].truncated);
}

TEST(ParseRenderedTest, Bytes) {
  Value v = ParseRendered("b'\\x00\\xff'");
  EXPECT_EQ(v.kind, K::kBytes);
  EXPECT_EQ(v.str, std::string("\x00\xff", 2));
  EXPECT_EQ(ParseRendered("b''").kind, K::kBytes);
  Value dq = ParseRendered("b\"it's\"");
  EXPECT_EQ(dq.kind, K::kBytes);
  EXPECT_EQ(dq.str, "it's");
  Value cut = ParseRendered("b'abc'...");
  EXPECT_EQ(cut.kind, K::kBytes);
  EXPECT_TRUE(cut.truncated);
  EXPECT_FALSE(ValuesEqual(ParseRendered("b'a'"), ParseRendered("'a'")));
}

TEST(ParseRenderedTest, NestedContainers) {
  Value v = ParseRendered("[1, (2, [3, {'k': (4,)}]), {5}, frozenset({6, 7}), (), {}, set(), frozenset()]");
  ASSERT_EQ(v.kind, K::kList);
  ASSERT_EQ(v.items.size(), 8u);
  const Value& tup = v.items[1];
  ASSERT_EQ(tup.kind, K::kTuple);
  ASSERT_EQ(tup.items.size(), 2u);
  const Value& inner = tup.items[1];
  ASSERT_EQ(inner.kind, K::kList);
  ASSERT_EQ(inner.items.size(), 2u);
  const Value& dict = inner.items[1];
  ASSERT_EQ(dict.kind, K::kDict);
  ASSERT_EQ(dict.entries.size(), 1u);
  EXPECT_EQ(dict.entries[0].first.str, "k");
  ASSERT_EQ(dict.entries[0].second.kind, K::kTuple);
  ASSERT_EQ(dict.entries[0].second.items.size(), 1u);
  EXPECT_EQ(dict.entries[0].second.items[0].integer, 4);
  EXPECT_EQ(dict.entries[0].second.text, "(4,)");
  EXPECT_EQ(v.items[2].kind, K::kSet);
  EXPECT_EQ(v.items[2].items.size(), 1u);
  EXPECT_EQ(v.items[3].kind, K::kSet);
  EXPECT_EQ(v.items[3].items.size(), 2u);
  EXPECT_EQ(v.items[4].kind, K::kTuple);
  EXPECT_TRUE(v.items[4].items.empty());
  EXPECT_EQ(v.items[5].kind, K::kDict);
  EXPECT_TRUE(v.items[5].entries.empty());
  EXPECT_EQ(v.items[6].kind, K::kSet);
  EXPECT_TRUE(v.items[6].items.empty());
  EXPECT_EQ(v.items[7].kind, K::kSet);
  EXPECT_TRUE(v.items[7].items.empty());
  for (const Value& item : v.items) EXPECT_FALSE(item.text.empty());
  EXPECT_EQ(v.items[5].text, "{}");
  EXPECT_EQ(v.items[6].text, "set()");
  EXPECT_FALSE(Truthy(v.items[4]));
  EXPECT_FALSE(Truthy(v.items[5]));
  EXPECT_FALSE(Truthy(v.items[6]));
  EXPECT_TRUE(Truthy(v));
}

TEST(ParseRenderedTest, DictsWithMixedKeys) {
  Value v = ParseRendered("{'a': 1, 2: 'two', (3, 4): [5], None: True, 'caf\xc3\xa9': -1.5}");
  ASSERT_EQ(v.kind, K::kDict);
  ASSERT_EQ(v.entries.size(), 5u);
  EXPECT_EQ(v.entries[1].first.integer, 2);
  EXPECT_EQ(v.entries[1].second.str, "two");
  EXPECT_EQ(v.entries[2].first.kind, K::kTuple);
  EXPECT_EQ(v.entries[3].first.kind, K::kNone);
  EXPECT_EQ(v.entries[4].first.str, "caf\xc3\xa9");
  EXPECT_EQ(v.entries[4].second.real, -1.5);
  EXPECT_FALSE(v.truncated);
}

TEST(ParseRenderedTest, ContainersCutByTheBounds) {
  for (std::string text : {"[...]", "(...)"}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, text[0] == '[' ? K::kList : K::kTuple) << text;
    ASSERT_EQ(v.items.size(), 1u) << text;
    EXPECT_EQ(v.items[0].kind, K::kEllipsis) << text;
  }
  Value braces = ParseRendered("{...}");  // a dict or a set: which is unknown
  EXPECT_NE(braces.kind, K::kOpaque);
  EXPECT_EQ(braces.text, "{...}");
  Value list = ParseRendered("[0, 1, ...]");
  ASSERT_EQ(list.kind, K::kList);
  ASSERT_EQ(list.items.size(), 3u);
  EXPECT_EQ(list.items[2].kind, K::kEllipsis);
  Value tup = ParseRendered("(0, 1, ...)");
  ASSERT_EQ(tup.kind, K::kTuple);
  EXPECT_EQ(tup.items.back().kind, K::kEllipsis);
  Value dict = ParseRendered("{'a': 1, ...}");
  ASSERT_EQ(dict.kind, K::kDict);
  EXPECT_TRUE(dict.truncated);
  ASSERT_EQ(dict.entries.size(), 1u);
  Value set = ParseRendered("{1, 2, ...}");
  ASSERT_EQ(set.kind, K::kSet);
  EXPECT_EQ(set.items.back().kind, K::kEllipsis);
  Value cycle = ParseRendered("[1, [...]]");
  ASSERT_EQ(cycle.kind, K::kList);
  ASSERT_EQ(cycle.items.size(), 2u);
  EXPECT_EQ(cycle.items[1].kind, K::kList);
  Value deep = ParseRendered("{'a': {'b': {'c': {'d': {...}}}}}");
  EXPECT_EQ(deep.kind, K::kDict);
  Value fs = ParseRendered("frozenset({1, ...})");
  EXPECT_EQ(fs.kind, K::kSet);
}

TEST(ParseRenderedTest, Instances) {
  Value a = ParseRendered("Account(owner='ann', balance=70)");
  ASSERT_EQ(a.kind, K::kObject);
  EXPECT_EQ(a.str, "Account");
  ASSERT_EQ(a.attrs.size(), 2u);
  EXPECT_EQ(a.attrs[0].first, "owner");
  EXPECT_EQ(a.attrs[0].second.str, "ann");
  EXPECT_EQ(a.attrs[1].first, "balance");
  EXPECT_EQ(a.attrs[1].second.integer, 70);
  EXPECT_TRUE(a.items.empty());

  Value p = ParseRendered("Point(1, 2)");
  ASSERT_EQ(p.kind, K::kObject);
  EXPECT_EQ(p.str, "Point");
  ASSERT_EQ(p.items.size(), 2u);
  EXPECT_EQ(p.items[1].integer, 2);

  Value e = ParseRendered("KeyError('missing')");
  ASSERT_EQ(e.kind, K::kObject);
  EXPECT_EQ(e.str, "KeyError");
  ASSERT_EQ(e.items.size(), 1u);
  EXPECT_EQ(e.items[0].str, "missing");
  Value empty = ParseRendered("ValueError()");
  ASSERT_EQ(empty.kind, K::kObject);
  EXPECT_TRUE(empty.items.empty() && empty.attrs.empty());

  Value counter = ParseRendered("Counter({'a': 2})");
  ASSERT_EQ(counter.kind, K::kObject);
  ASSERT_EQ(counter.items.size(), 1u);
  EXPECT_EQ(counter.items[0].kind, K::kDict);
  Value color = ParseRendered("Color(1)");
  ASSERT_EQ(color.kind, K::kObject);
  EXPECT_EQ(color.items[0].integer, 1);

  Value cut = ParseRendered("Node(...)");
  ASSERT_EQ(cut.kind, K::kObject);
  ASSERT_EQ(cut.items.size(), 1u);
  EXPECT_EQ(cut.items[0].kind, K::kEllipsis);

  Value nested = ParseRendered("Bank(name='b', accounts={'ann': Account(owner='ann', balance=70)}, "
                               "secret=<redacted>, cb=<function Bank.notify>)");
  ASSERT_EQ(nested.kind, K::kObject);
  ASSERT_EQ(nested.attrs.size(), 4u);
  EXPECT_EQ(nested.attrs[1].second.kind, K::kDict);
  EXPECT_EQ(nested.attrs[1].second.entries[0].second.kind, K::kObject);
  EXPECT_EQ(nested.attrs[2].second.kind, K::kOpaque);
  EXPECT_EQ(nested.attrs[2].second.text, "<redacted>");
  EXPECT_EQ(nested.attrs[3].second.text, "<function Bank.notify>");
  EXPECT_EQ(Repr(nested), nested.text);
}

TEST(ParseRenderedTest, AngleBracketFormsAreOpaqueWithTheirText) {
  for (std::string text : {"<function f>", "<function Worker.run.<locals>.work>", "<class 'mod.Name'>", "<module 'os'>",
                           "<redacted>", "<Foo object>", "<int with 4001 bits>"}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, K::kOpaque) << text;
    EXPECT_EQ(v.text, text);
    EXPECT_EQ(Repr(v), text);
    EXPECT_TRUE(Truthy(v));
  }
  Value d = ParseRendered("{'password': <redacted>, 'f': <function f>}");
  ASSERT_EQ(d.kind, K::kDict);
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(d.entries[0].second.text, "<redacted>");
  EXPECT_EQ(d.entries[1].second.text, "<function f>");
}

TEST(ParseRenderedTest, MalformedTextIsOpaqueWithItsText) {
  for (std::string text : std::vector<std::string>{"", "[1, 2", "[1,, 2]", "{'a' 1}", "{'a': }", "{'a': 1", "Foo(", "Foo(x=)", "Foo(x=1",
        "<function f", "'abc", "'abc\\", "b'abc", "'\\x4", "1 2", "[1] x", "()))", "-", "--1", "Truee", "None None",
        "{1: 2, 3}", "{1, 2: 3}", ",", ":", "...x", "frozenset(", "set(", std::string(1, '\0'), "\xff\xfe",
        "x = 1", "1_000", "0x10", "1j", "[1, 2]]"}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, K::kOpaque) << "'" << text << "'";
    EXPECT_EQ(v.text, text);
  }
}

// A rendering longer than max_total is cut there and "..." appended
// (docs/RENDERING.md): what was complete before the cut is read back, every
// container and instance the cut left open is marked cut, and whatever the
// cut fell inside (a number, a name, a string) is left out.
TEST(ParseRenderedTest, TextCutAtTheTotalBoundReadsWhatWasComplete) {
  Value list = ParseRendered("[1, 2, 3...");
  ASSERT_EQ(list.kind, K::kList);
  EXPECT_TRUE(list.cut);
  ASSERT_EQ(list.items.size(), 3u);  // 3 may have been 345: left out
  EXPECT_EQ(list.items[1].integer, 2);
  EXPECT_EQ(list.items[2].kind, K::kEllipsis);
  EXPECT_EQ(list.text, "[1, 2, 3...");

  Value t = ParseRendered(
      "TestCalc(_testMethodName='test_add', _outcome=_Outcome(expecting_failure=False, "
      "result=Item(keywords={'a': 1, 'b': [1, 2, 'x'], 'c': {'k': (5, 6...");
  ASSERT_EQ(t.kind, K::kObject);
  EXPECT_EQ(t.str, "TestCalc");
  EXPECT_TRUE(t.cut && t.truncated);
  ASSERT_EQ(t.attrs.size(), 2u);
  EXPECT_EQ(t.attrs[0].first, "_testMethodName");
  EXPECT_EQ(t.attrs[0].second.str, "test_add");
  const Value& outcome = t.attrs[1].second;
  ASSERT_EQ(outcome.kind, K::kObject);
  EXPECT_TRUE(outcome.cut);
  ASSERT_EQ(outcome.attrs.size(), 2u);
  EXPECT_FALSE(outcome.attrs[0].second.boolean);
  const Value& keywords = outcome.attrs[1].second.attrs.at(0).second;
  ASSERT_EQ(keywords.kind, K::kDict);
  EXPECT_TRUE(keywords.cut);
  ASSERT_EQ(keywords.entries.size(), 3u);
  EXPECT_FALSE(keywords.entries[1].second.cut);  // closed before the cut: whole
  EXPECT_EQ(keywords.entries[1].second.items.size(), 3u);
  const Value& inner = keywords.entries[2].second;
  ASSERT_EQ(inner.kind, K::kDict);
  ASSERT_EQ(inner.entries.size(), 1u);
  const Value& tuple = inner.entries[0].second;
  ASSERT_EQ(tuple.kind, K::kTuple);
  ASSERT_EQ(tuple.items.size(), 2u);  // 5, then the cut (6 left out)
  EXPECT_EQ(tuple.items[0].integer, 5);
  EXPECT_EQ(tuple.items[1].kind, K::kEllipsis);
  EXPECT_EQ(tuple.text, "(5, 6...");

  Value a = ParseRendered("Foo(a=1, b='xy...");
  ASSERT_EQ(a.kind, K::kObject);
  ASSERT_EQ(a.attrs.size(), 1u);  // b's string was cut inside: left out
  EXPECT_EQ(a.attrs[0].first, "a");
  Value n = ParseRendered("Foo(a=12...");
  ASSERT_EQ(n.kind, K::kObject);
  EXPECT_TRUE(n.attrs.empty() && n.cut);
  Value k = ParseRendered("{'a': 1, 'bc...");
  ASSERT_EQ(k.kind, K::kDict);
  ASSERT_EQ(k.entries.size(), 1u);
  EXPECT_TRUE(k.truncated);
  Value fs = ParseRendered("frozenset({1, 2...");
  ASSERT_EQ(fs.kind, K::kSet);
  EXPECT_EQ(fs.items.back().kind, K::kEllipsis);
  // Not a cut of a structure: opaque, as before.
  for (std::string text : {"abc...", "12...", "'abc...", "<function f...", "[1, 2]..."}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, K::kOpaque) << text;
    EXPECT_EQ(v.text, text);
  }
  // A complete rendering that ends with a cut string is not a cut rendering.
  Value s = ParseRendered("Foo(a='abc'...)");
  ASSERT_EQ(s.kind, K::kObject);
  EXPECT_FALSE(s.cut);
  EXPECT_TRUE(s.attrs[0].second.truncated);
}

TEST(ParseRenderedTest, MalformedNumbersAreOpaque) {
  for (std::string text : {"1.2.3", "1e5e5", "1e", "1.2e-", "1-2", "1e-5-"}) {
    Value v = ParseRendered(text);
    EXPECT_EQ(v.kind, K::kOpaque) << "'" << text << "' parsed as " << static_cast<int>(v.kind);
  }
}

TEST(ParseRenderedTest, DeepNestingIsBoundedNotACrash) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  Value v = ParseRendered(deep);
  EXPECT_EQ(v.kind, K::kOpaque);
  EXPECT_EQ(v.text.size(), deep.size());
  std::string ok = std::string(40, '[') + std::string(40, ']');
  EXPECT_EQ(ParseRendered(ok).kind, K::kList);
  std::string objs;
  for (int i = 0; i < 50000; ++i) objs += "A(x=";
  objs += "1" + std::string(50000, ')');
  EXPECT_EQ(ParseRendered(objs).kind, K::kOpaque);
  std::string angles = std::string(100000, '<') + std::string(100000, '>');
  EXPECT_EQ(ParseRendered(angles).kind, K::kOpaque);
}

// Renderings the recorder produces, to mutate.
const char* const kSamples[] = {
    "0", "-7", "3.5", "1e-05", "None", "True", "'ann'", "[1, 2, 3]", "{'a': 1, 'b': [2, 3]}", "''",
    "'say \"hi\"'", "'back\\\\slash'", "'tab\\t'", "b'\\x00\\xff'", "Account(owner='ann', balance=70)", "(1,)",
    "frozenset()", "frozenset({1, 2})", "set()", "{1, 2, ...}", "[...]", "{...}", "<function f>", "<redacted>",
    "Counter({'a': 2})", "'abc'...", "KeyError('missing')", "[0, 1, ...]", "{'a': 1, ...}", "inf", "nan",
};

void CheckParsed(const Value& v, const std::string& text) {
  ASSERT_EQ(v.text, text);
  if (!text.empty()) ASSERT_EQ(Repr(v), text);
  Truthy(v);
  ValuesEqual(v, v);
}

TEST(ParseRenderedTest, TenThousandRandomStringsNeverCrash) {
  std::mt19937 rng(12345);
  const std::string alphabet = "[](){}<>'\",:.=\\ -+0123456789eExubNTFonesAct_...\n\t";
  for (int i = 0; i < 10000; ++i) {
    std::string s;
    size_t n = rng() % 48;
    for (size_t k = 0; k < n; ++k) {
      if (rng() % 10 == 0) {
        s.push_back(static_cast<char>(rng() % 256));
      } else {
        s.push_back(alphabet[rng() % alphabet.size()]);
      }
    }
    CheckParsed(ParseRendered(s), s);
  }
}

TEST(ParseRenderedTest, TenThousandMutatedRenderingsNeverCrash) {
  std::mt19937 rng(777);
  for (int i = 0; i < 10000; ++i) {
    std::string s = kSamples[rng() % std::size(kSamples)];
    // Splice, cut, duplicate and flip.
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 4) {
        case 0: s.insert(at, kSamples[rng() % std::size(kSamples)]); break;
        case 1: s = s.substr(0, at); break;
        case 2: s.insert(at, 1, "[]{}()'\",:\\."[rng() % 12]); break;
        default:
          if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng() % 256);
      }
    }
    CheckParsed(ParseRendered(s), s);
  }
}

// ---------------------------------------------------------------------------
// Evaluate

class EvaluateTest : public ::testing::Test {
 protected:
  EvaluateTest() {
    vars_ = {
        {"n", "7"},
        {"neg", "-7"},
        {"f", "2.5"},
        {"s", "'caf\xc3\xa9'"},
        {"name", "'ann'"},
        {"lst", "[1, 2, 3]"},
        {"tup", "(4, 5)"},
        {"d", "{'a': 1, 'b': [2, 3], 3: 'three'}"},
        {"empty_d", "{}"},
        {"st", "{1, 2}"},
        {"acct", "Account(owner='ann', balance=70)"},
        {"bank", "Bank(accounts={'ann': Account(owner='ann', balance=70)}, owners=['ann', 'bob'])"},
        {"cut_list", "[0, 1, ...]"},
        {"cut_dict", "{'a': 1, ...}"},
        {"cut_str", "'abc'..."},
        {"cut_obj", "Case(name='t', calc=Calc(total=5), outcome=Outcome(result=[1, 2, 3..."},
        {"opaque", "<Foo object>"},
        {"big", "123456789012345678901234567890"},
        {"big2", "123456789012345678901234567891"},
        {"redacted", "<redacted>"},
        {"cfg", "{'api_key': <redacted>, 'port': 80}"},
        {"dq", "deque([1, 2, 3])"},
        {"rng", "range(2, 11, 3)"},
        {"none", "None"},
        {"flag", "True"},
        {"fn", "<function f>"},
        {"counter", "Counter({'a': 2})"},
        {"empty", "[]"},
        {"zero", "0"},
    };
  }

  StatusOr<Value> Eval(const std::string& expr) {
    return Evaluate(expr, [this](const std::string& name) -> std::optional<Value> {
      auto it = vars_.find(name);
      if (it == vars_.end()) return std::nullopt;
      return ParseRendered(it->second);
    });
  }
  // The repr of the result, or the error message.
  std::string R(const std::string& expr) {
    auto v = Eval(expr);
    if (!v.ok()) return "error: " + v.status().message();
    return Repr(*v);
  }
  // The error's type prefix ("NameError"), or "ok".
  std::string ErrorType(const std::string& expr) {
    auto v = Eval(expr);
    if (v.ok()) return "ok: " + Repr(*v);
    EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument) << expr;
    const std::string& m = v.status().message();
    auto colon = m.find(':');
    return colon == std::string::npos ? m : m.substr(0, colon);
  }

  std::map<std::string, std::string> vars_;
};

TEST_F(EvaluateTest, NamesAndLiterals) {
  EXPECT_EQ(R("n"), "7");
  EXPECT_EQ(R("name"), "'ann'");
  EXPECT_EQ(R("acct"), "Account(owner='ann', balance=70)");
  EXPECT_EQ(R("fn"), "<function f>");
  EXPECT_EQ(R("None"), "None");
  EXPECT_EQ(R("True"), "True");
  EXPECT_EQ(R("42"), "42");
  EXPECT_EQ(R("'x'"), "'x'");
  EXPECT_EQ(R("\"it's\""), "\"it's\"");
  EXPECT_EQ(R("  n  "), "7");
  EXPECT_EQ(ErrorType("nosuch"), "NameError");
  EXPECT_NE(R("nosuch").find("nosuch"), std::string::npos);
}

TEST_F(EvaluateTest, IntsPast64BitsAreComparedExactlyAndNotComputedWith) {
  // Known by their digits only: never through a double, which would make
  // big == big2 true and big + 1 a float.
  EXPECT_EQ(R("big == big2"), "False");
  EXPECT_EQ(R("big == big"), "True");
  EXPECT_EQ(R("big < big2"), "True");
  EXPECT_EQ(R("-big < big"), "True");
  EXPECT_EQ(R("-big2 < -big"), "True");
  EXPECT_EQ(R("big > 7"), "True");
  EXPECT_EQ(R("-big"), "-123456789012345678901234567890");
  EXPECT_EQ(ErrorType("big + 1"), "OverflowError");
  EXPECT_EQ(ErrorType("big * 2"), "OverflowError");
  EXPECT_EQ(ErrorType("big - big"), "OverflowError");
  EXPECT_EQ(R("big + 0.5"), "1.2345678901234568e+29");  // Python converts an int to float here too
}

TEST_F(EvaluateTest, ARedactedValueIsNeitherComparedNorComputedWith) {
  for (const char* expr : {"redacted == 'zzz'", "redacted != 'zzz'", "cfg['api_key'] == 'x'", "'x' in [redacted]",
                           "redacted in ['x']", "redacted + 'x'", "redacted < 3"}) {
    EXPECT_NE(R(expr).find("redacted when it was recorded"), std::string::npos) << expr << ": " << R(expr);
  }
  EXPECT_EQ(R("cfg['port'] == 80"), "True");
  EXPECT_EQ(R("redacted"), "<redacted>");
}

TEST_F(EvaluateTest, SlicesAsPython) {
  EXPECT_EQ(R("lst[0:2]"), "[1, 2]");
  EXPECT_EQ(R("lst[1:]"), "[2, 3]");
  EXPECT_EQ(R("lst[:-1]"), "[1, 2]");
  EXPECT_EQ(R("lst[::-1]"), "[3, 2, 1]");
  EXPECT_EQ(R("lst[::2]"), "[1, 3]");
  EXPECT_EQ(R("lst[5:9]"), "[]");
  EXPECT_EQ(R("lst[-10:1]"), "[1]");
  EXPECT_EQ(R("tup[:1]"), "(4,)");
  EXPECT_EQ(R("s[1:3]"), "'af'");
  EXPECT_EQ(R("s[::-1]"), "'\xc3\xa9" "fac'");
  EXPECT_EQ(R("d['b'][1:]"), "[3]");
  EXPECT_EQ(ErrorType("lst[::0]"), "ValueError");
  EXPECT_EQ(ErrorType("lst['a':]"), "TypeError");
  EXPECT_EQ(ErrorType("n[1:2]"), "TypeError");
  // A cut value is sliced only where what was captured decides it.
  EXPECT_EQ(R("cut_list[0:2]"), "[0, 1]");
  EXPECT_EQ(R("cut_str[0:2]"), "'ab'");
  EXPECT_EQ(ErrorType("cut_list[1:]"), "IndexError");
  EXPECT_EQ(ErrorType("cut_list[-1:]"), "IndexError");
  EXPECT_EQ(ErrorType("cut_list[0:5]"), "IndexError");
  EXPECT_EQ(ErrorType("cut_str[::-1]"), "IndexError");
}

TEST_F(EvaluateTest, DisplaysPowersConditionalsAndNumberBases) {
  EXPECT_EQ(R("(n, name)"), "(7, 'ann')");
  EXPECT_EQ(R("n, name"), "(7, 'ann')");
  EXPECT_EQ(R("(n,)"), "(7,)");
  EXPECT_EQ(R("()"), "()");
  EXPECT_EQ(R("[n, [1]]"), "[7, [1]]");
  EXPECT_EQ(R("[]"), "[]");
  EXPECT_EQ(R("lst == [1, 2, 3]"), "True");
  EXPECT_EQ(R("tup == (4, 5)"), "True");
  EXPECT_EQ(R("lst == (1, 2, 3)"), "False");
  EXPECT_EQ(R("d[3] if n > 5 else nosuch"), "'three'");  // the branch not taken is not evaluated
  EXPECT_EQ(R("nosuch if n < 5 else 'no'"), "'no'");
  EXPECT_EQ(ErrorType("n if else 1"), "SyntaxError");
  EXPECT_EQ(ErrorType("n if n"), "SyntaxError");
  EXPECT_EQ(R("2 ** 10"), "1024");
  EXPECT_EQ(R("-2 ** 2"), "-4");
  EXPECT_EQ(R("2 ** -1"), "0.5");
  EXPECT_EQ(R("2 ** 3 ** 2"), "512");
  EXPECT_EQ(R("(-1) ** 7"), "-1");
  EXPECT_EQ(R("f ** 2"), "6.25");
  EXPECT_EQ(ErrorType("2 ** 64"), "OverflowError");
  EXPECT_EQ(ErrorType("0 ** -1"), "ZeroDivisionError");
  EXPECT_EQ(R("0x10 + 0o10 + 0b10"), "26");
  EXPECT_EQ(R("1_000"), "1000");
  EXPECT_EQ(ErrorType("0x"), "SyntaxError");
  EXPECT_EQ(ErrorType("0xfffffffffffffffff"), "OverflowError");
  EXPECT_EQ(R("+n"), "7");
}

TEST_F(EvaluateTest, SequencesConcatenateAndRepeat) {
  EXPECT_EQ(R("'ab' * 3"), "'ababab'");
  EXPECT_EQ(R("2 * 'ab'"), "'abab'");
  EXPECT_EQ(R("'ab' * -1"), "''");
  EXPECT_EQ(R("lst + [4]"), "[1, 2, 3, 4]");
  EXPECT_EQ(R("tup * 2"), "(4, 5, 4, 5)");
  EXPECT_EQ(ErrorType("lst + tup"), "TypeError");
  EXPECT_EQ(ErrorType("cut_list + [1]"), "ValueError");
  EXPECT_EQ(ErrorType("'a' * 10000000"), "MemoryError");
}

TEST_F(EvaluateTest, EdgesOfTheNewOperationsStayBoundedAndExact) {
  // A step past int64 stops at the end instead of wrapping around.
  EXPECT_EQ(R("'abcdef'[1::9223372036854775807]"), "'b'");
  EXPECT_EQ(R("[1, 2, 3, 4][2::9223372036854775807]"), "[3]");
  EXPECT_EQ(R("[1, 2, 3, 4][-1::-9223372036854775807]"), "[4]");
  // Repetition: empty whatever the count; nested repetitions bounded as a whole.
  EXPECT_EQ(R("'' * 9223372036854775807"), "''");
  EXPECT_EQ(R("[] * 9223372036854775807"), "[]");
  EXPECT_EQ(ErrorType("['a' * 1000] * 2000"), "MemoryError");
  EXPECT_EQ(ErrorType("[['a' * 1000] * 1000] * 1000"), "MemoryError");
  // The smallest int64 is one, however it is written.
  EXPECT_EQ(R("-9223372036854775808 == -9223372036854775807 - 1"), "True");
  EXPECT_EQ(R("-9223372036854775808 + 0"), "-9223372036854775808");
  EXPECT_EQ(R("-(-9223372036854775808)"), "9223372036854775808");
  EXPECT_EQ(R("-(-9223372036854775808) == big"), "False");
  // A branch not taken is not evaluated, literals included.
  EXPECT_EQ(R("1 if True else 0xffffffffffffffffffff"), "1");
  // The syntax of the whole expression is checked first.
  EXPECT_EQ(ErrorType("lst[0] = 1"), "SyntaxError");
  EXPECT_EQ(ErrorType("nosuch[0] = 1"), "SyntaxError");
}

TEST_F(EvaluateTest, DeeplyNestedExpressionsParseInLinearTime) {
  // Each nesting level used to parse its contents twice: 2^60 parses here,
  // a test that would not finish.
  std::string expr = "n";
  for (int k = 0; k < 60; ++k) expr = "(" + expr + ")";
  EXPECT_EQ(R(expr), "7");
  EXPECT_EQ(R("[" + expr + ", " + expr + "][1]"), "7");
  std::string conditionals = "1";
  for (int k = 0; k < 17; ++k) conditionals = "(" + conditionals + " if n else 0)";
  EXPECT_EQ(ErrorType(conditionals), "SyntaxError");
  // The bound counts conditionals, not the parses of a chosen body again.
  std::string six = "1";
  for (int k = 0; k < 6; ++k) six = "(" + six + " if n else 0)";
  EXPECT_EQ(R(six), "1");
  std::string items = "[";
  for (int k = 0; k < 6; ++k) items += "(1 if n else 2) if n else 3, ";
  EXPECT_EQ(R(items + "]"), "[1, 1, 1, 1, 1, 1]");
}

TEST_F(EvaluateTest, LenOfDequesAndRangesAndMethodCallsSayCallsAreUnavailable) {
  EXPECT_EQ(R("len(dq)"), "3");
  EXPECT_EQ(R("len(rng)"), "3");
  EXPECT_EQ(ErrorType("len(acct)"), "TypeError");
  EXPECT_EQ(R("d.keys()").rfind("error: calls are not available", 0), 0u) << R("d.keys()");
}

TEST(EvaluateWithoutNamesTest, AnEmptyLookupGivesNameErrors) {
  auto v = Evaluate("1 + 1", nullptr);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Repr(*v), "2");
  // Errors are values: an empty lookup must not throw std::bad_function_call.
  EXPECT_NO_THROW({
    auto x = Evaluate("x", nullptr);
    ASSERT_FALSE(x.ok());
    EXPECT_EQ(x.status().message().rfind("NameError", 0), 0u) << x.status().message();
  });
}

TEST_F(EvaluateTest, FloatLiterals) {
  EXPECT_EQ(R("2.5"), "2.5");
  EXPECT_EQ(R("2.5e3"), "2500.0");
  EXPECT_EQ(R("1e-05"), "1e-05");
  EXPECT_EQ(R("1e+16"), "1e+16");
  EXPECT_EQ(R("f < 1e-05"), "False");
  EXPECT_EQ(ErrorType("1.2.3"), "SyntaxError");
}

TEST_F(EvaluateTest, AttributesOfAValueCutAtTheTotalBound) {
  // What the cut left whole reads as usual; what it cut off says so.
  EXPECT_EQ(R("cut_obj.name"), "'t'");
  EXPECT_EQ(R("cut_obj.calc.total"), "5");
  EXPECT_EQ(R("cut_obj.outcome.result[1]"), "2");
  EXPECT_EQ(ErrorType("cut_obj.outcome.result[2]"), "IndexError");
  EXPECT_NE(R("cut_obj.outcome.result[2]").find("past the recorder's bounds"), std::string::npos);
  EXPECT_EQ(ErrorType("len(cut_obj.outcome.result)"), "ValueError");
  EXPECT_EQ(R("cut_obj.later"),
            "error: AttributeError: 'Case' object's attribute 'later' was past the recorder's bounds (its "
            "rendering was cut, not captured)");
  EXPECT_EQ(R("opaque.x"), "error: AttributeError: no captured attribute 'x': the value was recorded as <Foo object>");
}

TEST_F(EvaluateTest, ItemAccessThroughParsedValues) {
  EXPECT_EQ(R("lst[0]"), "1");
  EXPECT_EQ(R("lst[2]"), "3");
  EXPECT_EQ(R("lst[-1]"), "3");
  EXPECT_EQ(R("lst[-3]"), "1");
  EXPECT_EQ(R("tup[1]"), "5");
  EXPECT_EQ(R("tup[-2]"), "4");
  EXPECT_EQ(R("d['a']"), "1");
  EXPECT_EQ(R("d['b'][-1]"), "3");
  EXPECT_EQ(R("d[3]"), "'three'");
  EXPECT_EQ(R("d[1 + 2]"), "'three'");
  EXPECT_EQ(R("name[0]"), "'a'");
  EXPECT_EQ(R("name[-1]"), "'n'");
  EXPECT_EQ(R("counter['a']"), "2");
  EXPECT_EQ(R("cut_list[1]"), "1");
  EXPECT_EQ(R("cut_dict['a']"), "1");
  EXPECT_EQ(R("bank.accounts['ann'].balance"), "70");
  EXPECT_EQ(R("bank.owners[-1]"), "'bob'");
  EXPECT_EQ(R("bank.owners[-1][0]"), "'b'");
}

TEST_F(EvaluateTest, StringsIndexAndCountCharactersNotBytes) {
  // s is 'café': four characters, five UTF-8 bytes.
  EXPECT_EQ(R("len(s)"), "4");
  EXPECT_EQ(R("s[3]"), "'\xc3\xa9'");
  EXPECT_EQ(R("s[-1]"), "'\xc3\xa9'");
  EXPECT_EQ(ErrorType("s[4]"), "IndexError");
}

TEST_F(EvaluateTest, ItemAccessErrors) {
  EXPECT_EQ(ErrorType("lst[3]"), "IndexError");
  EXPECT_EQ(ErrorType("lst[-4]"), "IndexError");
  EXPECT_EQ(ErrorType("empty[0]"), "IndexError");
  EXPECT_EQ(ErrorType("name[3]"), "IndexError");
  EXPECT_EQ(ErrorType("cut_list[2]"), "IndexError");   // past the recorder's bounds
  EXPECT_EQ(ErrorType("cut_list[-1]"), "IndexError");  // the last item is unknown
  EXPECT_NE(R("cut_list[5]").find("bounds"), std::string::npos);
  EXPECT_EQ(ErrorType("d['zz']"), "KeyError");
  EXPECT_EQ(R("d['zz']"), "error: KeyError: 'zz'");
  EXPECT_EQ(ErrorType("empty_d[0]"), "KeyError");
  EXPECT_EQ(ErrorType("cut_dict['x']"), "KeyError");
  EXPECT_NE(R("cut_dict['x']").find("bounds"), std::string::npos);
  EXPECT_EQ(ErrorType("lst['a']"), "TypeError");
  EXPECT_EQ(ErrorType("lst[1.0]"), "TypeError");
  EXPECT_EQ(ErrorType("n[0]"), "TypeError");
  EXPECT_EQ(ErrorType("none[0]"), "TypeError");
  EXPECT_EQ(ErrorType("fn[0]"), "TypeError");
}

TEST_F(EvaluateTest, TruncatedStringsHaveUnknownEnds) {
  // Only the first three characters were kept: the length and the last
  // character are unknown (the first ones may be given, or refused).
  std::string first = R("cut_str[0]");
  EXPECT_TRUE(first == "'a'" || first.rfind("error: IndexError", 0) == 0) << first;
  EXPECT_EQ(ErrorType("len(cut_str)"), "ValueError");
  EXPECT_EQ(ErrorType("cut_str[-1]"), "IndexError");
  EXPECT_EQ(ErrorType("cut_str[5]"), "IndexError");
}

TEST_F(EvaluateTest, AttributeAccess) {
  EXPECT_EQ(R("acct.balance"), "70");
  EXPECT_EQ(R("acct.owner"), "'ann'");
  EXPECT_EQ(R("acct.balance + 5"), "75");
  EXPECT_EQ(R("acct.nope"), "error: AttributeError: 'Account' object has no captured attribute 'nope'");
  EXPECT_EQ(ErrorType("n.real"), "AttributeError");
  EXPECT_EQ(ErrorType("lst.append"), "AttributeError");
  EXPECT_EQ(ErrorType("acct."), "SyntaxError");
  EXPECT_EQ(ErrorType("acct.1"), "SyntaxError");
}

TEST_F(EvaluateTest, Len) {
  EXPECT_EQ(R("len(lst)"), "3");
  EXPECT_EQ(R("len(tup)"), "2");
  EXPECT_EQ(R("len(d)"), "3");
  EXPECT_EQ(R("len(st)"), "2");
  EXPECT_EQ(R("len(name)"), "3");
  EXPECT_EQ(R("len(empty)"), "0");
  EXPECT_EQ(R("len(d['b']) + 1"), "3");
  EXPECT_EQ(R("len('')"), "0");
  EXPECT_EQ(ErrorType("len(cut_list)"), "ValueError");
  EXPECT_EQ(ErrorType("len(cut_dict)"), "ValueError");
  EXPECT_EQ(ErrorType("len(n)"), "TypeError");
  EXPECT_EQ(ErrorType("len(none)"), "TypeError");
  EXPECT_EQ(ErrorType("len(lst"), "SyntaxError");
  EXPECT_EQ(ErrorType("len()"), "SyntaxError");
}

TEST_F(EvaluateTest, ArithmeticFollowsPython) {
  EXPECT_EQ(R("2 + 3 * 4"), "14");
  EXPECT_EQ(R("(2 + 3) * 4"), "20");
  EXPECT_EQ(R("2 - 3 - 4"), "-5");
  EXPECT_EQ(R("-n"), "-7");
  EXPECT_EQ(R("n - -1"), "8");
  EXPECT_EQ(R("--n"), "7");
  EXPECT_EQ(R("True + 1"), "2");
  EXPECT_EQ(R("'a' + 'b'"), "'ab'");
  EXPECT_EQ(R("name + '!'"), "'ann!'");
  // Floor division and modulo round toward negative infinity.
  EXPECT_EQ(R("7 // 2"), "3");
  EXPECT_EQ(R("-7 // 2"), "-4");
  EXPECT_EQ(R("7 // -2"), "-4");
  EXPECT_EQ(R("-7 // -2"), "3");
  EXPECT_EQ(R("neg // 2"), "-4");
  EXPECT_EQ(R("7 % 3"), "1");
  EXPECT_EQ(R("-7 % 3"), "2");
  EXPECT_EQ(R("7 % -3"), "-2");
  EXPECT_EQ(R("-7 % -3"), "-1");
  EXPECT_EQ(R("6 % 3"), "0");
  EXPECT_EQ(R("-6 // 3"), "-2");
  auto real = [this](const std::string& e) {
    auto v = Eval(e);
    EXPECT_TRUE(v.ok()) << e << ": " << v.status().ToString();
    EXPECT_TRUE(!v.ok() || v->kind == K::kFloat) << e;
    return v.ok() ? v->real : std::nan("");
  };
  EXPECT_EQ(real("7 / 2"), 3.5);
  EXPECT_EQ(real("-7.5 // 2"), -4.0);
  EXPECT_EQ(real("-7.5 % 2"), 0.5);
  EXPECT_EQ(real("7.5 % -2"), -0.5);
  EXPECT_EQ(real("f * 2"), 5.0);
  EXPECT_EQ(real("100 / 8 / 5"), 2.5);
  EXPECT_EQ(real("6 / 3"), 2.0);
}

TEST_F(EvaluateTest, FloatResultsPrintAsPython) {
  EXPECT_EQ(R("7 / 2"), "3.5");
  EXPECT_EQ(R("0.1 + 0.2"), "0.30000000000000004");
  EXPECT_EQ(R("6 / 3"), "2.0");
  EXPECT_EQ(R("f * 2"), "5.0");
  EXPECT_EQ(R("1 / 3"), "0.3333333333333333");
  EXPECT_EQ(R("-7.5 // 2"), "-4.0");
}

TEST_F(EvaluateTest, ArithmeticErrors) {
  EXPECT_EQ(ErrorType("1 // 0"), "ZeroDivisionError");
  EXPECT_EQ(ErrorType("1 % 0"), "ZeroDivisionError");
  EXPECT_EQ(ErrorType("1 / 0"), "ZeroDivisionError");
  EXPECT_EQ(ErrorType("n / zero"), "ZeroDivisionError");
  EXPECT_EQ(ErrorType("1.5 // 0"), "ZeroDivisionError");
  EXPECT_EQ(ErrorType("1.5 % 0.0"), "ZeroDivisionError");
  EXPECT_EQ(ErrorType("'a' + 1"), "TypeError");
  EXPECT_EQ(ErrorType("n + none"), "TypeError");
  EXPECT_EQ(ErrorType("lst + 1"), "TypeError");
  EXPECT_EQ(ErrorType("-name"), "TypeError");
  EXPECT_EQ(ErrorType("acct * 2"), "TypeError");
}

TEST_F(EvaluateTest, IntegerOverflowIsNeverSilentlyWrong) {
  // Python ints do not overflow: the exact result, or an error, never a wrapped value.
  for (auto [expr, want] : std::vector<std::pair<std::string, std::string>>{
           {"9223372036854775807 + 1", "9223372036854775808"},
           {"-9223372036854775807 - 2", "-9223372036854775809"},
           {"4294967296 * 4294967296", "18446744073709551616"},
           {"-(-9223372036854775807 - 1)", "9223372036854775808"}}) {
    auto v = Eval(expr);
    if (v.ok()) EXPECT_EQ(Repr(*v), want) << expr;
  }
}

TEST_F(EvaluateTest, MinIntDividedByMinusOneDoesNotCrash) {
  // INT64_MIN / -1 traps on x86: run it in a child process.
  for (std::string expr : {"(-9223372036854775807 - 1) // -1", "(-9223372036854775807 - 1) % -1"}) {
    EXPECT_EXIT(
        {
          auto v = Eval(expr);
          bool right = !v.ok() || Repr(*v) == (expr.find("//") != std::string::npos ? "9223372036854775808" : "0");
          std::exit(right ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "")
        << expr;
  }
}

TEST_F(EvaluateTest, Comparisons) {
  EXPECT_EQ(R("1 < 2"), "True");
  EXPECT_EQ(R("n == 7"), "True");
  EXPECT_EQ(R("n != 7"), "False");
  EXPECT_EQ(R("1 == 1.0"), "True");
  EXPECT_EQ(R("True == 1"), "True");
  EXPECT_EQ(R("f >= 2.5"), "True");
  EXPECT_EQ(R("'a' < 'b'"), "True");
  EXPECT_EQ(R("name == 'ann'"), "True");
  EXPECT_EQ(R("name != 'bob'"), "True");
  EXPECT_EQ(R("none is None"), "True");
  EXPECT_EQ(R("n is not None"), "True");
  EXPECT_EQ(R("big > n"), "True");
  EXPECT_EQ(R("acct.balance >= 70"), "True");
  EXPECT_EQ(ErrorType("1 < 'a'"), "TypeError");
  EXPECT_EQ(ErrorType("none < 1"), "TypeError");
}

TEST_F(EvaluateTest, ChainedComparisons) {
  EXPECT_EQ(R("1 < 2 < 3"), "True");
  EXPECT_EQ(R("1 < 3 < 2"), "False");
  EXPECT_EQ(R("3 > 2 > 1"), "True");
  EXPECT_EQ(R("1 < n <= 7"), "True");
  EXPECT_EQ(R("1 < n < 7"), "False");
  EXPECT_EQ(R("1 == 1 == 1"), "True");
  EXPECT_EQ(R("0 < 1 == 1 < 2"), "True");
  EXPECT_EQ(R("2 < 1 < 3"), "False");  // not (2 < 1) < 3
  // Python stops at the first false comparison: the rest is not evaluated.
  EXPECT_EQ(R("1 > 2 < 'a'"), "False");
}

TEST_F(EvaluateTest, Membership) {
  EXPECT_EQ(R("2 in lst"), "True");
  EXPECT_EQ(R("5 not in lst"), "True");
  EXPECT_EQ(R("5 in tup"), "True");
  EXPECT_EQ(R("1 in st"), "True");
  EXPECT_EQ(R("'a' in d"), "True");
  EXPECT_EQ(R("3 in d"), "True");
  EXPECT_EQ(R("'zz' not in d"), "True");
  EXPECT_EQ(R("'nn' in name"), "True");
  EXPECT_EQ(R("'x' in name"), "False");
  EXPECT_EQ(R("'ann' in bank.owners"), "True");
  EXPECT_EQ(R("1.0 in lst"), "True");
  EXPECT_EQ(ErrorType("1 in n"), "TypeError");
  EXPECT_EQ(ErrorType("1 in name"), "TypeError");
  EXPECT_EQ(ErrorType("1 in none"), "TypeError");
}

TEST_F(EvaluateTest, BooleanOperatorsReturnOperands) {
  EXPECT_EQ(R("0 or 5"), "5");
  EXPECT_EQ(R("3 or 5"), "3");
  EXPECT_EQ(R("3 and 4"), "4");
  EXPECT_EQ(R("0 and 4"), "0");
  EXPECT_EQ(R("empty or 'x'"), "'x'");
  EXPECT_EQ(R("not 0"), "True");
  EXPECT_EQ(R("not lst"), "False");
  EXPECT_EQ(R("not not n"), "True");
  EXPECT_EQ(R("not 1 == 2"), "True");
  EXPECT_EQ(R("1 == 1 and 2 == 2 or 0"), "True");
  EXPECT_EQ(R("0 or 0 and 1"), "0");  // and binds tighter
  EXPECT_EQ(R("not n in lst"), "True");
  EXPECT_EQ(R("none or flag"), "True");
}

TEST_F(EvaluateTest, BooleanOperatorsShortCircuit) {
  // The usual guards of breakpoint conditions: the right side is not evaluated.
  EXPECT_EQ(R("True or nosuch"), "True");
  EXPECT_EQ(R("0 and 1 // 0"), "0");
  EXPECT_EQ(R("'k' in d and d['k'] > 0"), "False");
  EXPECT_EQ(R("len(lst) > 5 and lst[5] == 1"), "False");
  EXPECT_EQ(R("none is None or none.x"), "True");
  // Errors on the evaluated side still surface.
  EXPECT_EQ(ErrorType("False or nosuch"), "NameError");
  EXPECT_EQ(ErrorType("1 and 1 // 0"), "ZeroDivisionError");
  // And syntax errors on either side.
  EXPECT_EQ(ErrorType("True or (1"), "SyntaxError");
}

TEST_F(EvaluateTest, SyntaxErrors) {
  for (std::string expr : {"", "   ", "1 +", "(1", "1)", "lst[", "lst[0", "lst]", "1 2", "n n", "@", "$x", "a = 1",
                           "'unterminated", "\"x", "lambda: 0", "not", "1 <", "in lst", "and", "or 1", "is",
                           ",", "n !", "len", "d[]"}) {
    auto v = Eval(expr);
    ASSERT_FALSE(v.ok()) << "'" << expr << "' gave " << Repr(*v);
    EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument) << expr;
    if (expr == "len") continue;  // a name like any other: NameError
    EXPECT_EQ(v.status().message().rfind("SyntaxError", 0), 0u) << "'" << expr << "': " << v.status().message();
  }
  EXPECT_EQ(ErrorType("len"), "NameError");
  EXPECT_FALSE(CheckSyntax("1 +").ok());
  EXPECT_TRUE(CheckSyntax("nosuch.attr[3] > 1 and x").ok());
  EXPECT_TRUE(CheckSyntax("1 // 0").ok());
}

TEST_F(EvaluateTest, CallsAreRefused) {
  auto v = Eval("f(1)");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("not running"), std::string::npos) << v.status().message();
  EXPECT_FALSE(Eval("acct.deposit(5)").ok());
}

TEST_F(EvaluateTest, DeepNestingIsAnErrorNotACrash) {
  // Python refuses past 200 nested parentheses; the evaluator must not run
  // out of stack.
  for (std::string expr : std::vector<std::string>{std::string(100000, '(') + "1" + std::string(100000, ')'), std::string(100000, '-') + "1",
                           [] {
                             std::string s;
                             for (int i = 0; i < 100000; ++i) s += "not ";
                             return s + "1";
                           }(),
                           "lst" + [] {
                             std::string s;
                             for (int i = 0; i < 100000; ++i) s += "[0";
                             return s;
                           }() + std::string(100000, ']')}) {
    EXPECT_EXIT(
        {
          auto v = Eval(expr);
          (void)v;
          std::exit(0);
        },
        ::testing::ExitedWithCode(0), "")
        << expr.substr(0, 20) << "...";
  }
}

TEST_F(EvaluateTest, TenThousandRandomExpressionsNeverCrash) {
  std::mt19937 rng(4242);
  const std::vector<std::string> tokens = {
      "n", "neg", "f", "s", "name", "lst", "tup", "d", "st", "acct", "bank", "cut_list", "cut_dict", "cut_str", "big",
      "none", "flag", "fn", "counter", "empty", "zero", "nosuch", "len", "0", "1", "2", "-1", "3.5", "1e3", "'a'",
      "'ann'", "\"q\"", "None", "True", "False", "+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=",
      "in", "not", "is", "and", "or", "(", ")", "[", "]", ".", ",", "balance", "owner", "accounts", "'", "\\", "@",
      "**", ":", "if", "else", "0x1f", "redacted"};
  const std::vector<std::string> prefixes = {"NameError", "KeyError",  "IndexError", "AttributeError",
                                             "TypeError", "ZeroDivisionError", "SyntaxError", "ValueError",
                                             "OverflowError", "MemoryError", "calls are not available"};
  for (int i = 0; i < 10000; ++i) {
    std::string expr;
    size_t n = 1 + rng() % 14;
    for (size_t k = 0; k < n; ++k) {
      if (rng() % 3 != 0) expr += " ";
      expr += tokens[rng() % tokens.size()];
    }
    auto v = Eval(expr);
    if (v.ok()) {
      Repr(*v);
      Truthy(*v);
      continue;
    }
    EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument) << expr;
    const std::string& m = v.status().message();
    bool known = false;
    for (const auto& p : prefixes) known = known || m.rfind(p, 0) == 0;
    EXPECT_TRUE(known) << "'" << expr << "': " << m;
    CheckSyntax(expr);
  }
}

TEST_F(EvaluateTest, TenThousandRandomCharacterStringsNeverCrash) {
  std::mt19937 rng(99);
  const std::string alphabet = "nlstdacfx_0123456789.e+-*/%<>=!()[]{},:'\"\\ @#$\t";
  for (int i = 0; i < 10000; ++i) {
    std::string expr;
    size_t n = rng() % 32;
    for (size_t k = 0; k < n; ++k) {
      expr.push_back(rng() % 16 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()]);
    }
    auto v = Eval(expr);
    if (v.ok()) Repr(*v);
    CheckSyntax(expr);
  }
}

// ---------------------------------------------------------------------------
// Equality and truth

TEST(ValuesTest, EqualityAcrossNumericKindsAndContainers) {
  EXPECT_TRUE(ValuesEqual(ParseRendered("1"), ParseRendered("1.0")));
  EXPECT_TRUE(ValuesEqual(ParseRendered("True"), ParseRendered("1")));
  EXPECT_FALSE(ValuesEqual(ParseRendered("1"), ParseRendered("'1'")));
  EXPECT_TRUE(ValuesEqual(ParseRendered("[1, (2, 'x')]"), ParseRendered("[1, (2, 'x')]")));
  EXPECT_FALSE(ValuesEqual(ParseRendered("[1, 2]"), ParseRendered("[1, 2, 3]")));
  EXPECT_FALSE(ValuesEqual(ParseRendered("[1]"), ParseRendered("(1,)")));
  EXPECT_TRUE(ValuesEqual(ParseRendered("None"), Value::None()));
  EXPECT_TRUE(ValuesEqual(ParseRendered("'a'"), Value::Str("a")));
  EXPECT_FALSE(ValuesEqual(ParseRendered("nan"), ParseRendered("nan")));
  EXPECT_TRUE(ValuesEqual(ParseRendered("123456789012345678901234567890"),
                          ParseRendered("123456789012345678901234567890")));
}

TEST(ValuesTest, ConstructorsRepr) {
  EXPECT_EQ(Repr(Value::Int(-3)), "-3");
  EXPECT_EQ(Repr(Value::Bool(false)), "False");
  EXPECT_EQ(Repr(Value::None()), "None");
  EXPECT_EQ(Repr(Value::Str("it's")), "\"it's\"");
  EXPECT_EQ(Repr(Value::Str("a'b\"c")), "'a\\'b\"c'");
  EXPECT_EQ(Repr(Value::Str("tab\tnew\nline\\")), "'tab\\tnew\\nline\\\\'");
  EXPECT_EQ(Repr(Value::Str("\x1b")), "'\\x1b'");
  EXPECT_EQ(Repr(Value::Str("caf\xc3\xa9")), "'caf\xc3\xa9'");
  EXPECT_EQ(Repr(Value::Real(2.5)), "2.5");
  EXPECT_EQ(Repr(Value::Real(2.0)), "2.0");
  EXPECT_EQ(Repr(Value::Real(0.1)), "0.1");
  EXPECT_EQ(Repr(Value::Real(1e-05)), "1e-05");
  EXPECT_EQ(Repr(Value::Real(1e16)), "1e+16");
  EXPECT_EQ(Repr(Value::Real(HUGE_VAL)), "inf");
  EXPECT_EQ(Repr(Value::Real(-HUGE_VAL)), "-inf");
  EXPECT_EQ(Repr(Value::Real(std::nan(""))), "nan");
  EXPECT_EQ(Repr(Value::Opaque("<x>")), "<x>");
}

}  // namespace
}  // namespace tracetape::replayer
