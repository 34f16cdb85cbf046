#include "tracetape/replayer/value.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tracetape::replayer {

Value Value::Opaque(std::string text) {
  Value v;
  v.kind = Kind::kOpaque;
  v.text = std::move(text);
  return v;
}
Value Value::Int(int64_t x) {
  Value v;
  v.kind = Kind::kInt;
  v.integer = x;
  v.text = std::to_string(x);
  return v;
}
Value Value::Real(double x) {
  Value v;
  v.kind = Kind::kFloat;
  v.real = x;
  v.text = FloatRepr(x);
  return v;
}

std::string FloatRepr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  // The shortest digits that read back as x, placed as Python's repr does:
  // positional for exponents -4..15, else scientific, ".0" on integral values.
  char buf[64];
  int precision = 1;
  for (; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*e", precision - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string sci = buf;
  size_t e_pos = sci.find('e');
  int exponent = std::atoi(sci.c_str() + e_pos + 1);
  std::string mantissa = sci.substr(0, e_pos);
  bool negative = !mantissa.empty() && mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exponent) + 1) + "." + digits.substr(static_cast<size_t>(exponent) + 1);
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+', exponent < 0 ? -exponent : exponent);
    out += exp;
  }
  return out;
}
Value Value::Bool(bool x) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = x;
  v.text = x ? "True" : "False";
  return v;
}
Value Value::Str(std::string s) {
  Value v;
  v.kind = Kind::kStr;
  v.str = std::move(s);
  v.text = Repr(v);
  return v;
}
Value Value::None() {
  Value v;
  v.kind = Kind::kNone;
  v.text = "None";
  return v;
}

namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

class Parser {
 public:
  // `cut`: s is a rendering cut at max_total, its "..." removed
  // (docs/RENDERING.md). Then what the cut left open is closed where s ends,
  // marked as cut (a list's, tuple's or set's items end with an ellipsis, a
  // dict or an instance is `truncated`), and what it cut inside (a scalar, a
  // name, a string) is left out: only what was complete before it is read.
  explicit Parser(const std::string& s, bool cut = false) : s_(s), cut_(cut) {}

  bool ParseTop(Value* out) {
    if (!ParseValue(out, 0)) return false;
    Skip();
    return p_ == s_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;

  // In a cut text: the cut is here (nothing follows).
  bool AtCut() const { return cut_ && p_ >= s_.size(); }
  // In a cut text, an item that failed to parse or that reaches the cut is
  // where the cut is: the rest of the text is consumed. A container or
  // instance the cut closed is kept (it is marked cut), anything else that
  // reached it dropped (a number or name may have been cut short).
  bool CutHere(Value* item, bool parsed) {
    p_ = s_.size();
    return parsed && item->cut;
  }
  void MarkCut(Value* v) {
    v->cut = true;
    if (v->kind == Value::Kind::kList || v->kind == Value::Kind::kTuple || v->kind == Value::Kind::kSet) {
      Value e;
      e.kind = Value::Kind::kEllipsis;
      e.text = "...";
      v->items.push_back(std::move(e));
    } else {
      v->truncated = true;
    }
  }

  void Skip() {
    while (p_ < s_.size() && s_[p_] == ' ') ++p_;
  }
  bool Eat(const char* lit) {
    size_t n = std::strlen(lit);
    if (s_.compare(p_, n, lit) == 0) {
      p_ += n;
      return true;
    }
    return false;
  }
  bool Peek(char c) const { return p_ < s_.size() && s_[p_] == c; }

  bool ParseString(Value* v, bool bytes) {
    char quote = s_[p_++];
    std::string content;
    while (p_ < s_.size() && s_[p_] != quote) {
      char c = s_[p_++];
      if (c != '\\') {
        content.push_back(c);
        continue;
      }
      if (p_ >= s_.size()) return false;
      char e = s_[p_++];
      switch (e) {
        case 'n': content.push_back('\n'); break;
        case 't': content.push_back('\t'); break;
        case 'r': content.push_back('\r'); break;
        case '\\': content.push_back('\\'); break;
        case '\'': content.push_back('\''); break;
        case '"': content.push_back('"'); break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (p_ + n > s_.size()) return false;
          uint32_t cp = static_cast<uint32_t>(std::strtoul(s_.substr(p_, n).c_str(), nullptr, 16));
          p_ += n;
          if (bytes) {
            content.push_back(static_cast<char>(cp));
          } else {
            AppendUtf8(cp, &content);
          }
          break;
        }
        default:
          content.push_back('\\');
          content.push_back(e);
      }
    }
    if (p_ >= s_.size()) return false;
    ++p_;
    v->kind = bytes ? Value::Kind::kBytes : Value::Kind::kStr;
    v->str = std::move(content);
    if (Eat("...")) v->truncated = true;
    return true;
  }

  bool ParseNumber(Value* v) {
    size_t start = p_;
    if (Peek('-')) ++p_;
    if (s_.compare(p_, 3, "inf") == 0) {
      p_ += 3;
      v->kind = Value::Kind::kFloat;
      v->real = p_ - start == 4 ? -HUGE_VAL : HUGE_VAL;
      return true;
    }
    bool real = false;
    while (p_ < s_.size()) {
      char c = s_[p_];
      if (c >= '0' && c <= '9') {
        ++p_;
      } else if (c == '.' || c == 'e' || c == 'E' || ((c == '+' || c == '-') && (s_[p_ - 1] == 'e' || s_[p_ - 1] == 'E'))) {
        real = true;
        ++p_;
      } else {
        break;
      }
    }
    std::string num = s_.substr(start, p_ - start);
    if (num.empty() || num == "-") return false;
    if (real) {
      // The whole token must be one float: "1.2.3", "1e" and "1e5e5" are not.
      char* end = nullptr;
      v->kind = Value::Kind::kFloat;
      v->real = std::strtod(num.c_str(), &end);
      if (end != num.c_str() + num.size()) return false;
      size_t e = num.find_first_of("eE");
      if (e != std::string::npos && num.find_first_of("0123456789", e) == std::string::npos) return false;
    } else {
      v->kind = Value::Kind::kInt;
      errno = 0;
      v->integer = std::strtoll(num.c_str(), nullptr, 10);
      if (errno == ERANGE) {
        v->big_int = true;
        v->real = std::strtod(num.c_str(), nullptr);
      }
    }
    return true;
  }

  // Items up to `close`, each a value or the ellipsis.
  // In a cut text, false with *cut set where the cut closed them.
  bool ParseItems(char close, std::vector<Value>* items, int depth, bool* saw_comma, bool* cut = nullptr) {
    Skip();
    while (!Peek(close)) {
      Value item;
      bool parsed = !AtCut() && ParseValue(&item, depth + 1);
      if (parsed) Skip();
      if (cut_ && (!parsed || AtCut())) {
        if (CutHere(&item, parsed)) items->push_back(std::move(item));
        if (cut) *cut = true;
        return cut != nullptr;
      }
      if (!parsed) return false;
      items->push_back(std::move(item));
      if (Eat(",")) {
        if (saw_comma) *saw_comma = true;
        Skip();
        continue;
      }
      if (!Peek(close)) return false;
    }
    ++p_;
    return true;
  }

  bool ParseValue(Value* v, int depth) {
    if (depth > kMaxDepth) return false;
    Skip();
    size_t start = p_;
    if (p_ >= s_.size()) return false;
    char c = s_[p_];
    bool ok = true;
    if (Eat("...")) {
      v->kind = Value::Kind::kEllipsis;
    } else if (c == '\'' || c == '"') {
      ok = ParseString(v, false);
    } else if (c == 'b' && p_ + 1 < s_.size() && (s_[p_ + 1] == '\'' || s_[p_ + 1] == '"')) {
      ++p_;
      ok = ParseString(v, true);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      ok = ParseNumber(v);
    } else if (c == '[' || c == '(') {
      ++p_;
      v->kind = c == '[' ? Value::Kind::kList : Value::Kind::kTuple;
      bool cut = false;
      ok = ParseItems(c == '[' ? ']' : ')', &v->items, depth, nullptr, &cut);
      if (cut) MarkCut(v);
    } else if (c == '{') {
      ++p_;
      ok = ParseBraces(v, depth);
    } else if (c == '<') {
      // <function f>, <class 'x'>, <redacted>, <Foo object>: opaque to the end.
      int level = 0;
      while (p_ < s_.size()) {
        if (s_[p_] == '<') ++level;
        if (s_[p_] == '>' && --level == 0) break;
        ++p_;
      }
      if (p_ >= s_.size()) return false;
      ++p_;
      v->kind = Value::Kind::kOpaque;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t n = p_;
      while (n < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[n])) || s_[n] == '_' || s_[n] == '.')) ++n;
      std::string word = s_.substr(p_, n - p_);
      p_ = n;
      if (word == "None") {
        v->kind = Value::Kind::kNone;
      } else if (word == "True" || word == "False") {
        v->kind = Value::Kind::kBool;
        v->boolean = word == "True";
      } else if (word == "inf" || word == "nan") {
        v->kind = Value::Kind::kFloat;
        v->real = word == "inf" ? HUGE_VAL : std::nan("");
      } else if (word == "set" && Eat("()")) {
        v->kind = Value::Kind::kSet;
      } else if (word == "frozenset" && Peek('(')) {
        ++p_;
        Skip();
        v->kind = Value::Kind::kSet;
        bool cut = false;
        if (Eat("{")) {
          ok = ParseItems('}', &v->items, depth, nullptr, &cut);
        }
        if (cut || AtCut()) {
          MarkCut(v);
        } else {
          ok = ok && Eat(")");
        }
      } else if (Peek('(')) {
        ++p_;
        ok = ParseCall(v, word, depth);
      } else {
        return false;
      }
    } else {
      return false;
    }
    if (!ok) return false;
    v->text = s_.substr(start, p_ - start);
    if (v->cut) v->text += "...";
    return true;
  }

  bool ParseBraces(Value* v, int depth) {
    Skip();
    if (Eat("}")) {
      v->kind = Value::Kind::kDict;
      return true;
    }
    Value first;
    bool parsed = !AtCut() && ParseValue(&first, depth + 1);
    if (parsed) Skip();
    if (cut_ && (!parsed || AtCut())) {
      // Cut before the first item is known to be a key: a dict or a set.
      v->kind = Value::Kind::kDict;
      CutHere(&first, parsed);
      MarkCut(v);
      return true;
    }
    if (!parsed) return false;
    if (first.kind == Value::Kind::kEllipsis && Eat("}")) {
      v->kind = Value::Kind::kDict;  // a cut-off container: {...}
      v->items.push_back(std::move(first));
      return true;
    }
    if (Eat(":")) {
      v->kind = Value::Kind::kDict;
      Value key = std::move(first);
      while (true) {
        // The value of `key` (its ':' eaten). In a cut text, a value cut
        // inside leaves its entry out; a dict or instance the cut closed
        // is kept.
        Skip();
        Value val;
        bool parsed = !AtCut() && ParseValue(&val, depth + 1);
        if (parsed) Skip();
        if (cut_ && (!parsed || AtCut())) {
          if (CutHere(&val, parsed)) v->entries.emplace_back(std::move(key), std::move(val));
          MarkCut(v);
          return true;
        }
        if (!parsed) return false;
        v->entries.emplace_back(std::move(key), std::move(val));
        // Then '}', or ',' and the next key (an ellipsis: the recorder's
        // bound, then '}' again).
        while (true) {
          if (Eat("}")) return true;
          if (!Eat(",")) return false;
          Skip();
          Value k;
          bool key_parsed = !AtCut() && ParseValue(&k, depth + 1);
          if (key_parsed) Skip();
          if (cut_ && (!key_parsed || AtCut())) {
            p_ = s_.size();
            MarkCut(v);
            return true;
          }
          if (!key_parsed) return false;
          if (k.kind == Value::Kind::kEllipsis) {
            v->truncated = true;
            continue;
          }
          if (!Eat(":")) return false;
          key = std::move(k);
          break;
        }
      }
    }
    v->kind = Value::Kind::kSet;
    v->items.push_back(std::move(first));
    Skip();
    if (Eat("}")) return true;
    if (!Eat(",")) return false;
    bool cut = false;
    bool ok = ParseItems('}', &v->items, depth, nullptr, &cut);
    if (cut) MarkCut(v);
    return ok || cut;
  }

  // Name(...): an instance (k=v, ...), a subclass of a builtin Name(base) or
  // an exception Name(a, b).
  bool ParseCall(Value* v, const std::string& name, int depth) {
    v->kind = Value::Kind::kObject;
    v->str = name;
    Skip();
    while (!Peek(')')) {
      size_t save = p_;
      size_t n = p_;
      while (n < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[n])) || s_[n] == '_')) ++n;
      std::string key;
      if (n > p_ && n < s_.size() && s_[n] == '=' && (n + 1 >= s_.size() || s_[n + 1] != '=')) {
        key = s_.substr(p_, n - p_);
        p_ = n + 1;
      } else {
        p_ = save;
      }
      // In a cut text, an attribute or argument cut inside is left out; an
      // instance or container the cut closed is kept.
      Value val;
      bool parsed = !AtCut() && ParseValue(&val, depth + 1);
      if (parsed) Skip();
      if (cut_ && (!parsed || AtCut())) {
        if (CutHere(&val, parsed)) {
          if (key.empty()) {
            v->items.push_back(std::move(val));
          } else {
            v->attrs.emplace_back(std::move(key), std::move(val));
          }
        }
        MarkCut(v);
        return true;
      }
      if (!parsed) return false;
      if (key.empty()) {
        v->items.push_back(std::move(val));
      } else {
        v->attrs.emplace_back(std::move(key), std::move(val));
      }
      if (Eat(",")) {
        Skip();
        continue;
      }
      if (!Peek(')')) return false;
    }
    ++p_;
    return true;
  }

  const std::string& s_;
  const bool cut_;
  size_t p_ = 0;
};

std::string QuoteStr(const std::string& s, bool bytes) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  std::string out = bytes ? "b" : "";
  out.push_back(q);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back(q);
  return out;
}

}  // namespace

Value ParseRendered(const std::string& text) {
  Value v;
  Parser p(text);
  if (p.ParseTop(&v)) {
    v.text = text;
    return v;
  }
  // A rendering longer than max_total is cut there and "..." appended: what
  // was complete before the cut is read (a container or instance, marked
  // cut); anything else stays opaque.
  constexpr size_t kEllipsis = 3;
  if (text.size() > kEllipsis && text.compare(text.size() - kEllipsis, kEllipsis, "...") == 0) {
    const std::string prefix = text.substr(0, text.size() - kEllipsis);
    Value c;
    Parser q(prefix, /*cut=*/true);
    if (q.ParseTop(&c) && c.cut) {
      c.text = text;
      return c;
    }
  }
  return Value::Opaque(text);
}

std::string Repr(const Value& v) {
  if (!v.text.empty()) return v.text;
  switch (v.kind) {
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.boolean ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.integer);
    case Value::Kind::kFloat: return FloatRepr(v.real);
    case Value::Kind::kStr: return QuoteStr(v.str, false);
    case Value::Kind::kBytes: return QuoteStr(v.str, true);
    case Value::Kind::kList:
    case Value::Kind::kTuple: {  // built by evaluation: a display, a slice, a concatenation
      const bool list = v.kind == Value::Kind::kList;
      std::string out = list ? "[" : "(";
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ", ";
        out += v.items[i].kind == Value::Kind::kEllipsis ? "..." : Repr(v.items[i]);
      }
      if (!list && v.items.size() == 1) out += ",";
      return out + (list ? "]" : ")");
    }
    default: return "<value>";
  }
}

bool Truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNone: return false;
    case Value::Kind::kBool: return v.boolean;
    case Value::Kind::kInt: return v.big_int || v.integer != 0;
    case Value::Kind::kFloat: return v.real != 0;
    case Value::Kind::kStr:
    case Value::Kind::kBytes: return !v.str.empty();
    case Value::Kind::kList:
    case Value::Kind::kTuple:
    case Value::Kind::kSet: return !v.items.empty();
    case Value::Kind::kDict: return !v.entries.empty() || !v.items.empty();
    default: return true;
  }
}

bool ValuesEqual(const Value& a, const Value& b) {
  using K = Value::Kind;
  auto numeric = [](const Value& v) { return v.kind == K::kInt || v.kind == K::kFloat || v.kind == K::kBool; };
  if (numeric(a) && numeric(b)) {
    if (a.kind == K::kInt && b.kind == K::kInt) {
      if (!a.big_int && !b.big_int) return a.integer == b.integer;
      if (a.big_int != b.big_int) return false;  // one fits in 64 bits, the other does not
      auto digits = [](const std::string& t) {
        size_t s = t.find_first_not_of(' '), e = t.find_last_not_of(' ');
        return s == std::string::npos ? std::string() : t.substr(s, e - s + 1);
      };
      return digits(a.text) == digits(b.text);  // exact: the same decimal digits
    }
    auto as_double = [](const Value& v) {
      return v.kind == K::kFloat || v.big_int ? v.real : v.kind == K::kBool ? (v.boolean ? 1.0 : 0.0) : double(v.integer);
    };
    return as_double(a) == as_double(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kNone: return true;
    case K::kStr:
    case K::kBytes: return a.str == b.str && !a.truncated && !b.truncated;
    case K::kList:
    case K::kTuple:
      if (a.items.size() != b.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i) {
        if (!ValuesEqual(a.items[i], b.items[i])) return false;
      }
      return true;
    default: return Repr(a) == Repr(b);
  }
}

}  // namespace tracetape::replayer
