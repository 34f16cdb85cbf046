// cli::JsonString: a JSON string literal for any byte string, since a tape's
// strings are untrusted. Checked against RFC 8259 with a strict parser, not
// against the implementation's choice of escapes where JSON allows several.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "json_reader.h"
#include "tracetape/cli/cli.h"

namespace tracetape::cli {
namespace {

const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD in UTF-8

// Parses JsonString(s) back; fails the test if it is not a valid JSON string.
std::string RoundTrip(const std::string& s) {
  std::string json = JsonString(s);
  testing::JsonValue v;
  std::string error;
  EXPECT_TRUE(testing::ParseJson(json, &v, &error)) << error << " in " << json;
  EXPECT_TRUE(v.is_string()) << json;
  EXPECT_TRUE(testing::IsValidUtf8(json)) << "output must be valid UTF-8: " << json;
  return v.string;
}

TEST(JsonStringTest, WrapsPlainTextInQuotes) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("abc"), "\"abc\"");
  EXPECT_EQ(JsonString("x = 1, y = [2]"), "\"x = 1, y = [2]\"");
}

TEST(JsonStringTest, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(JsonString("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(JsonString("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(JsonString("'say \"hi\"'"), "\"'say \\\"hi\\\"'\"");
  EXPECT_EQ(RoundTrip("\"\\\"\\"), "\"\\\"\\");
}

TEST(JsonStringTest, EscapesEveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
    std::string json = JsonString(s);
    for (unsigned char ch : json) ASSERT_GE(ch, 0x20) << "raw control character " << c << " in " << json;
    EXPECT_EQ(RoundTrip(s), s) << "control character " << c;
  }
  EXPECT_EQ(JsonString("\n"), "\"\\n\"");
  EXPECT_EQ(JsonString("\t"), "\"\\t\"");
  EXPECT_EQ(JsonString("\r"), "\"\\r\"");
  EXPECT_EQ(JsonString(std::string(1, '\x01')), "\"\\u0001\"");
  EXPECT_EQ(JsonString("\x1b[31m"), "\"\\u001b[31m\"");
}

TEST(JsonStringTest, DeleteCharacterSurvives) {
  EXPECT_EQ(RoundTrip("a\x7f"), "a\x7f");
}

TEST(JsonStringTest, EmbeddedNulIsKept) {
  const std::string s("a\0b", 3);
  EXPECT_EQ(JsonString(s), "\"a\\u0000b\"");
  EXPECT_EQ(RoundTrip(s), s);
}

TEST(JsonStringTest, KeepsValidMultibyteUtf8AsIs) {
  for (const std::string& s : {
           std::string("caf\xc3\xa9"),               // U+00E9, 2 bytes
           std::string("\xe2\x82\xac"),              // U+20AC, 3 bytes
           std::string("\xf0\x9f\x98\x80"),          // U+1F600, 4 bytes
           std::string("\xc2\x80"),                  // U+0080, smallest 2-byte
           std::string("\xdf\xbf"),                  // U+07FF
           std::string("\xe0\xa0\x80"),              // U+0800, smallest 3-byte
           std::string("\xed\x9f\xbf"),              // U+D7FF, just below the surrogates
           std::string("\xee\x80\x80"),              // U+E000, just above them
           std::string("\xef\xbf\xbf"),              // U+FFFF
           std::string("\xf0\x90\x80\x80"),          // U+10000, smallest 4-byte
           std::string("\xf4\x8f\xbf\xbf"),          // U+10FFFF, the largest
           kReplacement,                             // U+FFFD itself
           std::string("\xe4\xb8\xad\xe6\x96\x87 \xd0\x9f\xd1\x80\xd0\xb8"),
       }) {
    EXPECT_EQ(JsonString(s), "\"" + s + "\"");
    EXPECT_EQ(RoundTrip(s), s);
  }
}

TEST(JsonStringTest, EachStrayByteBecomesOneReplacementCharacter) {
  EXPECT_EQ(JsonString("\xff"), "\"\\ufffd\"");
  EXPECT_EQ(RoundTrip("\x80"), kReplacement) << "a lone continuation byte";
  EXPECT_EQ(RoundTrip("\xfe"), kReplacement);
  EXPECT_EQ(RoundTrip("a\xff" "b"), "a" + kReplacement + "b");
  EXPECT_EQ(RoundTrip("\xc3\xa9\xff\xc3\xa9"), "\xc3\xa9" + kReplacement + "\xc3\xa9");
}

TEST(JsonStringTest, IllFormedSequencesBecomeReplacementCharacters) {
  // Per the Unicode standard's definition of well-formed UTF-8 (table 3-7),
  // none of these is a character.
  for (const std::string& bad : {
           std::string("\xc0\xaf"),              // overlong '/'
           std::string("\xe0\x80\xaf"),          // overlong, 3 bytes
           std::string("\xf0\x80\x80\xaf"),      // overlong, 4 bytes
           std::string("\xed\xa0\x80"),          // U+D800, a surrogate
           std::string("\xed\xbf\xbf"),          // U+DFFF
           std::string("\xf4\x90\x80\x80"),      // past U+10FFFF
           std::string("\xf8\x88\x80\x80\x80"),  // 5-byte form
           std::string("\xe2\x82"),              // cut short at the end
           std::string("\xe2\x82x"),             // cut short by ASCII
           std::string("\xc3"),
       }) {
    std::string back = RoundTrip("<" + bad + ">");
    ASSERT_GE(back.size(), 2u);
    EXPECT_EQ(back.front(), '<');
    EXPECT_EQ(back.back(), '>');
    std::string middle = back.substr(1, back.size() - 2);
    EXPECT_NE(middle.find(kReplacement), std::string::npos) << "no U+FFFD for an ill-formed sequence";
    // Whatever is left besides replacement characters is only the ASCII that
    // was in the input.
    std::string rest;
    for (size_t i = 0; i < middle.size();) {
      if (middle.compare(i, 3, kReplacement) == 0) {
        i += 3;
      } else {
        rest.push_back(middle[i++]);
      }
    }
    for (unsigned char c : rest) EXPECT_LT(c, 0x80) << "a byte of an ill-formed sequence leaked through";
  }
}

TEST(JsonStringTest, RandomBytesAlwaysGiveAValidJsonString) {
  std::mt19937 rng(99);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 24, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() % 0x20 : rng());
    std::string back = RoundTrip(s);
    if (testing::IsValidUtf8(s)) {
      ASSERT_EQ(back, s) << "valid UTF-8 must round-trip exactly";
    }
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace tracetape::cli
