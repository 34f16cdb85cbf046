// Default redaction (DESIGN section 5): names matching, case-insensitively and
// as a substring, passw|pwd|secret|token|api_?key|auth|credential|private_?key|
// session|cookie, or a user's --redact pattern.
#include "tracetape/recorder/redactor.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace tracetape::recorder {
namespace {

Redactor Default() {
  auto r = Redactor::Create({});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

TEST(RedactorTest, DefaultPatternRedactsEachListedWordAsASubstring) {
  Redactor r = Default();
  for (const char* name : {"password", "db_password", "passwd", "user_pwd", "secret", "client_secret_value", "token",
                           "access_token", "api_key", "apikey", "my_api_key_2", "auth", "oauth_state", "author",
                           "credential", "credentials", "private_key", "privatekey", "session", "sessionid",
                           "cookie", "set_cookie_header"}) {
    EXPECT_TRUE(r.ShouldRedact(name)) << name;
  }
}

TEST(RedactorTest, DefaultPatternIsCaseInsensitive) {
  Redactor r = Default();
  for (const char* name : {"PASSWORD", "Password", "apiKey", "API_KEY", "ApiKey", "AUTH_HEADER", "SessionId",
                           "Cookie", "SECRET", "PrivateKey", "dbPwd", "xToken"}) {
    EXPECT_TRUE(r.ShouldRedact(name)) << name;
  }
}

TEST(RedactorTest, DefaultPatternLeavesOrdinaryNamesAlone) {
  Redactor r = Default();
  for (const char* name : {"x", "i", "count", "name", "user", "balance", "passport", "pass_count", "api",
                           "key", "private", "sess", "tok", "cred", "data", "self", ""}) {
    EXPECT_FALSE(r.ShouldRedact(name)) << name;
  }
}

TEST(RedactorTest, ExtraPatternsAddToTheDefault) {
  auto made = Redactor::Create({"^ssn$", "card_?number"});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Redactor r = std::move(made).value();
  EXPECT_TRUE(r.ShouldRedact("ssn"));
  EXPECT_TRUE(r.ShouldRedact("SSN")) << "extra patterns are case-insensitive too";
  EXPECT_FALSE(r.ShouldRedact("ssn_count")) << "anchors in a user pattern are honoured";
  EXPECT_TRUE(r.ShouldRedact("cardnumber"));
  EXPECT_TRUE(r.ShouldRedact("customer_Card_Number"));
  EXPECT_TRUE(r.ShouldRedact("password")) << "the default still applies";
  EXPECT_FALSE(r.ShouldRedact("cards"));
}

TEST(RedactorTest, InvalidPatternIsInvalidArgumentNamingIt) {
  for (const std::string& bad : {std::string("("), std::string("[a-"), std::string("a{2,1}"), std::string("*x")}) {
    auto made = Redactor::Create({"fine", bad});
    ASSERT_FALSE(made.ok()) << bad;
    EXPECT_EQ(made.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(made.status().message().find(bad), std::string::npos) << made.status().message();
  }
}

TEST(RedactorTest, RepeatedQueriesGiveTheSameAnswer) {
  Redactor r = Default();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(r.ShouldRedact("token"));
    EXPECT_FALSE(r.ShouldRedact("total"));
  }
}

// Patterns that are alternations of words are searched as literals, the
// rest with std::regex: both must answer as the regex would, on any name.
TEST(RedactorTest, EveryPatternAnswersAsItsRegexWould) {
  const std::vector<std::string> patterns = {
      kDefaultRedactPattern, "card_?number", "a?b?c?", "x_?y_?z|Q", "^ssn$", "pin[0-9]", "(ab)+|cd",
      "key$", "a|", "to?k?en", "Auth", "t.k", "ab??c", "z{2}"};
  std::mt19937 rng(1234);
  // Names made of fragments of the patterns' words, in both cases, and
  // other bytes: many match some pattern, many almost do.
  const std::vector<std::string> pieces = {"tok", "en", "T", "oK", "au", "TH", "api", "_", "key", "KEY", "card",
                                           "Number", "ssn", "pin", "7", "a", "b", "c", "z", "Z", "\xc3\xa9", "pass",
                                           "W", "sess", "ion", "x", "y", "q", "-", "Pw", "d", "t", "k"};
  std::vector<std::string> names = {"", "a", "ssn", "SSN", "ssn_x", "pin7", "PIN", "ababcd", "monkey", "Key",
                                    "tken", "toen", "ten", "token", "ac", "abc", "zz", "ZZ", "t_k", "\xc3\x89T"};
  for (int i = 0; i < 4000; ++i) {
    std::string n;
    size_t len = rng() % 6;
    for (size_t k = 0; k < len; ++k) n += pieces[rng() % pieces.size()];
    names.push_back(n);
  }
  for (const std::string& p : patterns) {
    auto made = Redactor::Create({p});
    ASSERT_TRUE(made.ok()) << p;
    Redactor r = std::move(made).value();
    std::regex defaults(kDefaultRedactPattern, std::regex::ECMAScript | std::regex::icase);
    std::regex re(p, std::regex::ECMAScript | std::regex::icase);
    size_t hits = 0;
    for (const std::string& n : names) {
      bool want = std::regex_search(n, defaults) || std::regex_search(n, re);
      hits += want;
      EXPECT_EQ(r.ShouldRedact(n), want) << "pattern '" << p << "', name '" << n << "'";
    }
    // Not a vacuous comparison: each pattern matches some names, and misses
    // some unless it matches the empty string.
    EXPECT_GE(hits, 20u) << p;
    if (!std::regex_search("", re)) EXPECT_LT(hits, names.size()) << p;
  }
}

}  // namespace
}  // namespace tracetape::recorder
