#include "tracetape/replayer/expr.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

namespace tracetape::replayer {
namespace {

using K = Value::Kind;

// Offsets where the code points of a UTF-8 string begin: str values are
// indexed and measured in characters, as in Python.
std::vector<size_t> CodePointStarts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) starts.push_back(i);
  }
  return starts;
}

struct Token {
  enum Type { kEnd, kName, kNumber, kString, kOp } type = kEnd;
  std::string text;
};

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}
  Status Run(std::vector<Token>* out) {
    while (true) {
      while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
      if (p_ >= s_.size()) {
        out->push_back(Token{Token::kEnd, ""});
        return Status::Ok();
      }
      char c = s_[p_];
      size_t start = p_;
      // Python identifiers may be any Unicode letters: take every non-ASCII
      // byte as part of a name.
      auto name_char = [](unsigned char b) { return std::isalnum(b) || b == '_' || b >= 0x80; };
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80) {
        while (p_ < s_.size() && name_char(static_cast<unsigned char>(s_[p_]))) ++p_;
        out->push_back(Token{Token::kName, s_.substr(start, p_ - start)});
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '.' || s_[p_] == '_' ||
                                  ((s_[p_] == '+' || s_[p_] == '-') && (s_[p_ - 1] == 'e' || s_[p_ - 1] == 'E') &&
                                   !(s_.size() > 1 && s_[start] == '0' && (s_[start + 1] == 'x' || s_[start + 1] == 'X'))))) {
          ++p_;
        }
        out->push_back(Token{Token::kNumber, s_.substr(start, p_ - start)});
      } else if (c == '\'' || c == '"') {
        ++p_;
        while (p_ < s_.size() && s_[p_] != c) {
          if (s_[p_] == '\\') ++p_;
          ++p_;
        }
        if (p_ >= s_.size()) return Status::InvalidArgument("SyntaxError: unterminated string literal");
        ++p_;
        out->push_back(Token{Token::kString, s_.substr(start, p_ - start)});
      } else {
        static const char* kOps[] = {"==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%",
                                     "(", ")", "[", "]", ".", ",", ":", "="};
        bool found = false;
        for (const char* op : kOps) {
          size_t n = std::char_traits<char>::length(op);
          if (s_.compare(p_, n, op) == 0) {
            out->push_back(Token{Token::kOp, op});
            p_ += n;
            found = true;
            break;
          }
        }
        if (!found) return Status::InvalidArgument(std::string("SyntaxError: unexpected character '") + c + "'");
      }
    }
  }

 private:
  const std::string& s_;
  size_t p_ = 0;
};

class Evaluator {
 public:
  Evaluator(std::vector<Token> tokens, const NameLookup* lookup, bool syntax_only = false)
      : skip_(syntax_only ? 1 : 0), t_(std::move(tokens)), lookup_(lookup) {}

  StatusOr<Value> Top() {
    auto v = Conditional();
    if (!v.ok()) return v;
    if (IsOp(",")) {  // `p a, b`: a tuple, as pdb prints it
      Value t;
      t.kind = K::kTuple;
      t.items.push_back(*v);
      Status rest = DisplayItems(nullptr, &t.items);
      if (!rest.ok()) return rest;
      v = t;
    }
    if (t_[i_].type != Token::kEnd) return Syntax("unexpected '" + t_[i_].text + "'");
    return v;
  }

 private:
  static Status Syntax(const std::string& m) { return Status::InvalidArgument("SyntaxError: " + m); }
  static Status Type(const std::string& m) { return Status::InvalidArgument("TypeError: " + m); }
  bool IsOp(const char* op) const { return t_[i_].type == Token::kOp && t_[i_].text == op; }

  // While skip_ > 0 the parser still checks syntax but evaluates nothing that
  // could fail: the right side of a decided and/or, the rest of a decided
  // comparison chain. Python would not evaluate them either.
  int skip_ = 0;
  int depth_ = 0;
  struct Nest {
    explicit Nest(int* d) : d(d) { ++*d; }
    ~Nest() { --*d; }
    int* d;
  };
  static constexpr int kMaxNesting = 200;
  StatusOr<Value> Skipped(StatusOr<Value> v) {
    if (!skip_ || v.ok() || v.status().message().rfind("SyntaxError", 0) == 0) return v;
    return Value::None();
  }
  bool IsWord(const char* w) const { return t_[i_].type == Token::kName && t_[i_].text == w; }

  // `A if C else B`: C first, then only the branch taken is evaluated (the
  // other is parsed for its syntax only, as Python compiles it).
  // True if an `if` follows at this bracket level before what ends this
  // expression (a comma, a colon, a closing bracket, the end): only then is
  // the body parsed twice (for its syntax, then evaluated if chosen).
  bool IfFollows() const {
    int level = 0;
    for (size_t k = i_; t_[k].type != Token::kEnd; ++k) {
      const Token& t = t_[k];
      if (t.type == Token::kOp) {
        if (t.text == "(" || t.text == "[") ++level;
        if (t.text == ")" || t.text == "]") {
          if (level == 0) return false;
          --level;
        }
        if (level == 0 && (t.text == "," || t.text == ":")) return false;
      } else if (level == 0 && t.type == Token::kName && (t.text == "if" || t.text == "else")) {
        return t.text == "if";
      }
    }
    return false;
  }
  static constexpr int kMaxConditionals = 16;  // each one's body is parsed twice
  std::vector<size_t> conditionals_;            // where each one starts (counted once)

  StatusOr<Value> Conditional() {
    Nest nest(&depth_);
    if (depth_ > kMaxNesting) return Syntax("too many nested parentheses");
    if (!IfFollows()) return Or();
    if (std::find(conditionals_.begin(), conditionals_.end(), i_) == conditionals_.end()) {
      conditionals_.push_back(i_);  // a body parsed again is not another conditional
      if (conditionals_.size() > kMaxConditionals) return Syntax("too many conditional expressions");
    }
    const size_t body = i_;
    ++skip_;
    auto a = Or();
    --skip_;
    if (!a.ok()) return a;
    if (!IsWord("if")) return Syntax("unexpected '" + t_[i_].text + "'");
    ++i_;
    auto cond = Or();
    if (!cond.ok()) return cond;
    if (!IsWord("else")) return Syntax("expected 'else'");
    ++i_;
    if (skip_ || !Truthy(*cond)) return Conditional();
    ++skip_;
    auto rest = Conditional();
    --skip_;
    if (!rest.ok()) return rest;
    const size_t end = i_;
    i_ = body;
    auto v = Or();
    i_ = end;
    return v;
  }
  // The items after a display's first one (the cursor on its comma), up to
  // `close` (nullptr: the end of a bare tuple); a trailing comma is allowed.
  Status DisplayItems(const char* close, std::vector<Value>* items) {
    while (IsOp(",")) {
      ++i_;
      if ((close && IsOp(close)) || (!close && t_[i_].type == Token::kEnd)) break;
      auto v = Conditional();
      if (!v.ok()) return v.status();
      items->push_back(*v);
    }
    return Status::Ok();
  }
  // A value the recorder redacted cannot be compared or computed with: its
  // text says nothing of what it was.
  static Status IfRedacted(const Value& v) {
    if (v.kind == K::kOpaque && v.text == "<redacted>") {
      return Status::InvalidArgument("ValueError: the value was redacted when it was recorded: it cannot be compared "
                                     "or computed with");
    }
    return Status::Ok();
  }

  StatusOr<Value> Or() {
    auto a = And();
    while (a.ok() && IsWord("or")) {
      ++i_;
      bool decided = Truthy(*a);
      if (decided) ++skip_;
      auto b = And();
      if (decided) --skip_;
      if (!b.ok()) return b;
      if (!decided) a = b;
    }
    return a;
  }
  StatusOr<Value> And() {
    auto a = Not();
    while (a.ok() && IsWord("and")) {
      ++i_;
      bool decided = !Truthy(*a);
      if (decided) ++skip_;
      auto b = Not();
      if (decided) --skip_;
      if (!b.ok()) return b;
      if (!decided) a = b;
    }
    return a;
  }
  StatusOr<Value> Not() {
    Nest nest(&depth_);
    if (depth_ > kMaxNesting) return Syntax("too many nested parentheses");
    if (IsWord("not")) {
      ++i_;
      auto a = Not();
      if (!a.ok()) return a;
      return Value::Bool(!Truthy(*a));
    }
    return Compare();
  }

  StatusOr<bool> Contains(const Value& container, const Value& item) {
    TRACETAPE_RETURN_IF_ERROR(IfRedacted(item));
    switch (container.kind) {
      case K::kList:
      case K::kTuple:
      case K::kSet: {
        bool redacted = false;
        for (const auto& x : container.items) {
          if (ValuesEqual(x, item)) return true;
          redacted |= !IfRedacted(x).ok();
        }
        if (redacted) return IfRedacted(Value::Opaque("<redacted>"));  // it may be the one
        return false;
      }
      case K::kDict:
        for (const auto& [k, v] : container.entries) {
          if (ValuesEqual(k, item)) return true;
        }
        return false;
      case K::kStr:
        if (item.kind != K::kStr) return Status(Type("'in <string>' requires string as left operand"));
        return container.str.find(item.str) != std::string::npos;
      default:
        return Status(Type("argument of type '" + KindName(container) + "' is not iterable"));
    }
  }

  static std::string KindName(const Value& v) {
    switch (v.kind) {
      case K::kNone: return "NoneType";
      case K::kBool: return "bool";
      case K::kInt: return "int";
      case K::kFloat: return "float";
      case K::kStr: return "str";
      case K::kBytes: return "bytes";
      case K::kList: return "list";
      case K::kTuple: return "tuple";
      case K::kDict: return "dict";
      case K::kSet: return "set";
      case K::kObject: return v.str;
      default: return "opaque value";
    }
  }

  // A value's text for a message: at most 60 bytes, never inside a character.
  static std::string Shortened(const std::string& text) {
    constexpr size_t kMax = 60;
    if (text.size() <= kMax) return text;
    size_t n = kMax;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
    return text.substr(0, n) + "...";
  }

  // Exact order of two ints, either past 64 bits (known by its digits).
  static int CompareInts(const Value& a, const Value& b) {
    auto digits = [](const Value& v) {
      if (!v.big_int) return std::to_string(v.integer);
      size_t s = v.text.find_first_not_of(" ");
      size_t e = v.text.find_last_not_of(" ");
      return s == std::string::npos ? std::string("0") : v.text.substr(s, e - s + 1);
    };
    std::string x = digits(a), y = digits(b);
    const bool nx = !x.empty() && x[0] == '-', ny = !y.empty() && y[0] == '-';
    if (nx != ny) return nx ? -1 : 1;
    if (nx) {
      x.erase(0, 1);
      y.erase(0, 1);
    }
    int c = x.size() != y.size() ? (x.size() < y.size() ? -1 : 1) : x.compare(y) < 0 ? -1 : x.compare(y) > 0 ? 1 : 0;
    return nx ? -c : c;
  }

  static bool Numeric(const Value& v) { return v.kind == K::kInt || v.kind == K::kFloat || v.kind == K::kBool; }
  static double AsDouble(const Value& v) {
    if (v.kind == K::kBool) return v.boolean ? 1 : 0;
    if (v.kind == K::kInt) return v.big_int ? v.real : static_cast<double>(v.integer);
    return v.real;
  }

  StatusOr<Value> Compare() {
    auto a = Sum();
    if (!a.ok()) return a;
    Value result = Value::Bool(true);
    bool chained = false;
    Value left = *a;
    while (true) {
      std::string op;
      if (t_[i_].type == Token::kOp &&
          (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp("<=") || IsOp(">") || IsOp(">="))) {
        op = t_[i_++].text;
      } else if (IsWord("in")) {
        op = "in";
        ++i_;
      } else if (IsWord("not") && t_[i_ + 1].type == Token::kName && t_[i_ + 1].text == "in") {
        op = "not in";
        i_ += 2;
      } else if (IsWord("is")) {
        ++i_;
        op = "==";
        if (IsWord("not")) {
          ++i_;
          op = "!=";
        }
      } else {
        break;
      }
      bool decided = !Truthy(result);
      if (decided) ++skip_;
      auto b = Sum();
      if (decided) --skip_;
      if (!b.ok()) return b;
      if (decided || skip_) {
        left = *b;
        chained = true;
        continue;
      }
      TRACETAPE_RETURN_IF_ERROR(IfRedacted(left));
      TRACETAPE_RETURN_IF_ERROR(IfRedacted(*b));
      bool r;
      if (op == "==" || op == "!=") {
        r = ValuesEqual(left, *b) == (op == "==");
      } else if (op == "in" || op == "not in") {
        auto c = Contains(*b, left);
        if (!c.ok()) return c.status();
        r = *c == (op == "in");
      } else if (left.kind == K::kInt && b->kind == K::kInt && (left.big_int || b->big_int)) {
        int c = CompareInts(left, *b);
        r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
      } else if (Numeric(left) && Numeric(*b)) {
        double x = AsDouble(left), y = AsDouble(*b);
        r = op == "<" ? x < y : op == "<=" ? x <= y : op == ">" ? x > y : x >= y;
      } else if (left.kind == K::kStr && b->kind == K::kStr) {
        int c = left.str.compare(b->str);
        r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
      } else {
        return Status(Type("'" + op + "' not supported between instances of '" + KindName(left) + "' and '" +
                           KindName(*b) + "'"));
      }
      if (!r) result = Value::Bool(false);
      chained = true;
      left = *b;
    }
    return chained ? result : *a;
  }

  // 1 + the bytes and items a value holds, all levels down; stops counting
  // past `cap`.
  static size_t Weight(const Value& v, size_t cap) {
    size_t w = 1 + v.str.size();
    for (const auto& item : v.items) {
      if (w > cap) return w;
      w += Weight(item, cap);
    }
    for (const auto& [k, val] : v.entries) {
      if (w > cap) return w;
      w += Weight(k, cap) + Weight(val, cap);
    }
    for (const auto& [k, val] : v.attrs) {
      if (w > cap) return w;
      w += k.size() + Weight(val, cap);
    }
    return w;
  }

  // Sequences: concatenation and repetition of str, bytes, lists and tuples.
  StatusOr<std::optional<Value>> SequenceArith(const std::string& op, const Value& a, const Value& b) {
    auto sequence = [](const Value& v) {
      return v.kind == K::kStr || v.kind == K::kBytes || v.kind == K::kList || v.kind == K::kTuple;
    };
    auto cut = [](const Value& v) {
      return v.truncated || v.cut || (!v.items.empty() && v.items.back().kind == K::kEllipsis);
    };
    const Status was_cut = Status::InvalidArgument("ValueError: the value was cut by the recorder's bounds: the "
                                                   "result is not known");
    constexpr size_t kMaxResult = 1 << 20;
    if (op == "+" && sequence(a) && a.kind == b.kind) {
      if (cut(a) || cut(b)) return was_cut;
      Value r = a;
      r.text.clear();
      r.str += b.str;
      r.items.insert(r.items.end(), b.items.begin(), b.items.end());
      return std::optional<Value>(r);
    }
    if (op == "*" && (sequence(a) || sequence(b))) {
      const Value& seq = sequence(a) ? a : b;
      const Value& count = sequence(a) ? b : a;
      if ((count.kind != K::kInt && count.kind != K::kBool) || count.big_int) return std::optional<Value>();
      if (cut(seq)) return was_cut;
      int64_t n = count.kind == K::kBool ? count.boolean : count.integer;
      if (n < 0) n = 0;
      // The whole weight of an item (nested items and bytes too), so that a
      // repetition of repetitions stays bounded.
      const size_t unit = Weight(seq, kMaxResult) - 1;
      if (n > 0 && unit > 0 && static_cast<uint64_t>(n) > kMaxResult / unit) {
        return Status::InvalidArgument("MemoryError: the result would be over a million items or bytes");
      }
      if (unit == 0) n = 0;  // '' * n, [] * n: empty whatever n
      Value r = seq;
      r.text.clear();
      r.str.clear();
      r.items.clear();
      for (int64_t k = 0; k < n; ++k) {
        r.str += seq.str;
        r.items.insert(r.items.end(), seq.items.begin(), seq.items.end());
      }
      return std::optional<Value>(r);
    }
    return std::optional<Value>();
  }

  StatusOr<Value> Power(const Value& a, const Value& b) {
    if (a.kind == K::kFloat || b.kind == K::kFloat || (b.kind == K::kInt && b.integer < 0)) {
      double x = AsDouble(a), y = AsDouble(b);
      if (x == 0 && y < 0) return Status::InvalidArgument("ZeroDivisionError: zero to a negative power");
      if (x < 0 && y != std::floor(y)) return Status::InvalidArgument("ValueError: the result is a complex number, "
                                                                      "which replay does not compute");
      double r = std::pow(x, y);
      if (std::isinf(r) && !std::isinf(x)) return Status::InvalidArgument("OverflowError: numerical result out of range");
      return Value::Real(r);
    }
    int64_t x = a.kind == K::kBool ? a.boolean : a.integer;
    int64_t y = b.kind == K::kBool ? b.boolean : b.integer;
    int64_t r = 1;
    for (int64_t k = 0; k < y; ++k) {
      if (__builtin_mul_overflow(r, x, &r)) {
        return Status::InvalidArgument("OverflowError: the result does not fit in 64 bits (replay computes with 64-bit "
                                       "integers)");
      }
      if (r == 0 || r == 1) break;  // stays there
      if (r == -1 && x == -1) {
        r = (y - k - 1) % 2 == 0 ? -1 : 1;
        break;
      }
    }
    return Value::Int(r);
  }

  StatusOr<Value> Arith(const std::string& op, const Value& a, const Value& b) {
    if (skip_) return Value::None();
    TRACETAPE_RETURN_IF_ERROR(IfRedacted(a));
    TRACETAPE_RETURN_IF_ERROR(IfRedacted(b));
    auto seq = SequenceArith(op, a, b);
    if (!seq.ok()) return seq.status();
    if (*seq) return **seq;
    if (!Numeric(a) || !Numeric(b)) {
      return Status(Type("unsupported operand type(s) for " + op + ": '" + KindName(a) + "' and '" + KindName(b) + "'"));
    }
    // An int past 64 bits is known by its digits only: with another int the
    // result would be inexact (with a float, Python converts it too).
    if ((a.big_int || b.big_int) && a.kind != K::kFloat && b.kind != K::kFloat) {
      return Status::InvalidArgument("OverflowError: an int past 64 bits: replay computes with 64-bit integers "
                                     "(compare it, or print it, instead)");
    }
    if (op == "**") return Power(a, b);
    bool ints = a.kind != K::kFloat && b.kind != K::kFloat && !a.big_int && !b.big_int;
    if (ints && op != "/") {
      int64_t x = a.kind == K::kBool ? a.boolean : a.integer;
      int64_t y = b.kind == K::kBool ? b.boolean : b.integer;
      if ((op == "//" || op == "%") && y == 0) return Status(Status::InvalidArgument("ZeroDivisionError: integer division or modulo by zero"));
      const Status overflow = Status::InvalidArgument("OverflowError: the result does not fit in 64 bits (replay computes with 64-bit integers)");
      int64_t r;
      if (op == "+") return __builtin_add_overflow(x, y, &r) ? StatusOr<Value>(overflow) : StatusOr<Value>(Value::Int(r));
      if (op == "-") return __builtin_sub_overflow(x, y, &r) ? StatusOr<Value>(overflow) : StatusOr<Value>(Value::Int(r));
      if (op == "*") return __builtin_mul_overflow(x, y, &r) ? StatusOr<Value>(overflow) : StatusOr<Value>(Value::Int(r));
      if (y == -1) {  // INT64_MIN // -1 overflows (and traps); x % -1 is 0
        if (op == "%") return Value::Int(0);
        return __builtin_sub_overflow(int64_t{0}, x, &r) ? StatusOr<Value>(overflow) : StatusOr<Value>(Value::Int(r));
      }
      int64_t q = x / y;
      if ((x % y != 0) && ((x < 0) != (y < 0))) --q;  // Python floors
      if (op == "//") return Value::Int(q);
      return Value::Int(x - q * y);
    }
    double x = AsDouble(a), y = AsDouble(b);
    if ((op == "/" || op == "//" || op == "%") && y == 0) {
      return Status(Status::InvalidArgument("ZeroDivisionError: division by zero"));
    }
    if (op == "+") return Value::Real(x + y);
    if (op == "-") return Value::Real(x - y);
    if (op == "*") return Value::Real(x * y);
    if (op == "/") return Value::Real(x / y);
    if (op == "//") return Value::Real(std::floor(x / y));
    return Value::Real(x - std::floor(x / y) * y);
  }

  StatusOr<Value> Sum() {
    auto a = Term();
    while (a.ok() && (IsOp("+") || IsOp("-"))) {
      std::string op = t_[i_++].text;
      auto b = Term();
      if (!b.ok()) return b;
      a = Arith(op, *a, *b);
    }
    return a;
  }
  StatusOr<Value> Term() {
    auto a = Unary();
    while (a.ok() && (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%"))) {
      std::string op = t_[i_++].text;
      auto b = Unary();
      if (!b.ok()) return b;
      a = Arith(op, *a, *b);
    }
    return a;
  }
  StatusOr<Value> Unary() {
    Nest nest(&depth_);
    if (depth_ > kMaxNesting) return Syntax("too many nested parentheses");
    if (IsOp("-") || IsOp("+")) {
      const bool minus = IsOp("-");
      ++i_;
      auto a = Unary();
      if (!a.ok()) return a;
      if (!minus) return Numeric(*a) || skip_ ? *a : StatusOr<Value>(Type("bad operand type for unary +: '" + KindName(*a) + "'"));
      if (a->kind == K::kInt && !a->big_int && a->integer == INT64_MIN && !skip_) {
        Value r = Value::Int(0);  // -(-2**63): past 64 bits, known by its digits
        r.big_int = true;
        r.text = "9223372036854775808";
        r.real = 9223372036854775808.0;
        return r;
      }
      if (a->kind == K::kInt && a->big_int && !skip_) {
        Value r = *a;
        r.text = a->text.rfind('-', 0) == 0 ? a->text.substr(1) : "-" + a->text;
        r.real = -a->real;
        if (r.text == "-9223372036854775808") return Value::Int(INT64_MIN);  // fits after all
        return r;
      }
      return Arith("-", Value::Int(0), *a);
    }
    // `**` binds tighter than a unary minus on its left, looser on its right.
    auto a = Postfix();
    if (a.ok() && IsOp("**")) {
      ++i_;
      auto b = Unary();
      if (!b.ok()) return b;
      return Arith("**", *a, *b);
    }
    return a;
  }

  // Python's slice of a sequence. A container or string cut by the
  // recorder's bounds is sliced only where what was captured decides it.
  StatusOr<Value> Slice(const Value& v, const std::optional<Value>& start_v, const std::optional<Value>& stop_v,
                        const std::optional<Value>& step_v) {
    if (skip_) return Value::None();
    if (v.kind != K::kList && v.kind != K::kTuple && v.kind != K::kStr && v.kind != K::kBytes) {
      return Status(Type("'" + KindName(v) + "' object is not subscriptable"));
    }
    auto index = [](const std::optional<Value>& x, int64_t* out) {
      if (!x || x->kind == K::kNone) return true;
      if ((x->kind != K::kInt && x->kind != K::kBool) || x->big_int) return false;
      *out = x->kind == K::kBool ? x->boolean : x->integer;
      return true;
    };
    int64_t step = 1;
    if (!index(step_v, &step)) return Status(Type("slice indices must be integers or None"));
    if (step == 0) return Status::InvalidArgument("ValueError: slice step cannot be zero");
    std::vector<size_t> starts;
    if (v.kind == K::kStr) starts = CodePointStarts(v.str);
    const bool cut = v.truncated || (!v.items.empty() && v.items.back().kind == K::kEllipsis);
    const int64_t n = v.kind == K::kStr     ? static_cast<int64_t>(starts.size())
                      : v.kind == K::kBytes ? static_cast<int64_t>(v.str.size())
                                            : static_cast<int64_t>(v.items.size()) - (cut ? 1 : 0);
    int64_t start = step > 0 ? 0 : n - 1, stop = step > 0 ? n : -1;
    bool has_start = start_v && start_v->kind != K::kNone, has_stop = stop_v && stop_v->kind != K::kNone;
    if (!index(start_v, &start) || !index(stop_v, &stop)) return Status(Type("slice indices must be integers or None"));
    if (cut && (step < 0 || !has_stop || stop < 0 || stop > n || (has_start && start < 0))) {
      return Status::InvalidArgument("IndexError: the value was cut by the recorder's bounds: only " +
                                     std::to_string(n) + " items from the start were captured");
    }
    // PySlice_AdjustIndices.
    auto adjust = [&](int64_t x, bool given, int64_t dflt) {
      if (!given) return dflt;
      if (x < 0) {
        x += n;
        if (x < 0) x = step < 0 ? -1 : 0;
      } else if (x >= n) {
        x = step < 0 ? n - 1 : n;
      }
      return x;
    };
    start = adjust(start, has_start, step > 0 ? 0 : n - 1);
    stop = adjust(stop, has_stop, step > 0 ? n : -1);
    Value r;
    r.kind = v.kind;
    for (int64_t k = start; step > 0 ? k < stop : k > stop;) {
      if (v.kind == K::kStr) {
        size_t b = starts[static_cast<size_t>(k)];
        size_t e = static_cast<size_t>(k) + 1 < starts.size() ? starts[static_cast<size_t>(k) + 1] : v.str.size();
        r.str += v.str.substr(b, e - b);
      } else if (v.kind == K::kBytes) {
        r.str += v.str[static_cast<size_t>(k)];
      } else {
        r.items.push_back(v.items[static_cast<size_t>(k)]);
      }
      if (__builtin_add_overflow(k, step, &k)) break;  // past either end
    }
    return r;
  }

  StatusOr<Value> Index(const Value& v, const Value& key) {
    if (skip_) return Value::None();
    if (v.kind == K::kList || v.kind == K::kTuple || v.kind == K::kStr || v.kind == K::kBytes) {
      if (key.kind != K::kInt || key.big_int) return Status(Type("indices must be integers"));
      if ((v.kind == K::kStr || v.kind == K::kBytes) && v.truncated) {
        return Status::InvalidArgument("IndexError: the string was cut by the recorder's bounds");
      }
      std::vector<size_t> starts;
      if (v.kind == K::kStr) starts = CodePointStarts(v.str);
      int64_t n = v.kind == K::kStr     ? static_cast<int64_t>(starts.size())
                  : v.kind == K::kBytes ? static_cast<int64_t>(v.str.size())
                                        : static_cast<int64_t>(v.items.size());
      int64_t i = key.integer < 0 ? key.integer + n : key.integer;
      if (v.kind != K::kStr && !v.items.empty() && v.items.back().kind == K::kEllipsis) {
        if (i >= n - 1) return Status::InvalidArgument("IndexError: item " + std::to_string(key.integer) +
                                                     " was past the recorder's bounds (not captured)");
      }
      if (i < 0 || i >= n) return Status::InvalidArgument("IndexError: index out of range");
      if (v.kind == K::kBytes) return Value::Int(static_cast<unsigned char>(v.str[static_cast<size_t>(i)]));
      if (v.kind == K::kStr) {
        size_t b = starts[static_cast<size_t>(i)];
        size_t e = static_cast<size_t>(i) + 1 < starts.size() ? starts[static_cast<size_t>(i) + 1] : v.str.size();
        return Value::Str(v.str.substr(b, e - b));
      }
      return v.items[static_cast<size_t>(i)];
    }
    if (v.kind == K::kDict) {
      for (const auto& [k, val] : v.entries) {
        if (ValuesEqual(k, key)) return val;
      }
      if (v.truncated || !v.items.empty()) {
        return Status::InvalidArgument("KeyError: " + Repr(key) + " (the dict was past the recorder's bounds)");
      }
      return Status::InvalidArgument("KeyError: " + Repr(key));
    }
    if (v.kind == K::kObject && v.items.size() == 1 && v.attrs.empty()) return Index(v.items[0], key);
    return Status(Type("'" + KindName(v) + "' object is not subscriptable"));
  }

  StatusOr<Value> Postfix() {
    auto a = Atom();
    while (a.ok()) {
      if (IsOp(".")) {
        ++i_;
        if (t_[i_].type != Token::kName) return Syntax("expected an attribute name after '.'");
        std::string name = t_[i_++].text;
        if (IsOp("(")) return Status::InvalidArgument("calls are not available in replay: the program is not running");
        if (skip_) {
          a = Value::None();
          continue;
        }
        if (a->kind == K::kOpaque) {
          return Status::InvalidArgument("AttributeError: no captured attribute '" + name + "': the value was recorded as " +
                                         Shortened(a->text));
        }
        if (a->kind != K::kObject) {
          return Status::InvalidArgument("AttributeError: '" + KindName(*a) + "' value has no captured attribute '" +
                                         name + "'");
        }
        bool found = false;
        for (const auto& [k, v] : a->attrs) {
          if (k == name) {
            a = v;
            found = true;
            break;
          }
        }
        if (!found && a->cut) {
          return Status::InvalidArgument("AttributeError: '" + a->str + "' object's attribute '" + name +
                                         "' was past the recorder's bounds (its rendering was cut, not captured)");
        }
        if (!found) {
          return Status::InvalidArgument("AttributeError: '" + a->str + "' object has no captured attribute '" +
                                         name + "'");
        }
      } else if (IsOp("[")) {
        ++i_;
        std::optional<Value> parts[3];
        size_t colons = 0;
        for (size_t k = 0; k < 3; ++k) {
          if (!IsOp(":") && !IsOp("]")) {
            auto part = Conditional();
            if (!part.ok()) return part;
            parts[k] = *part;
          }
          if (k == 2 || !IsOp(":")) break;
          ++i_;
          ++colons;
        }
        if (!IsOp("]")) return Syntax("expected ']'");
        ++i_;
        if (colons > 0) {
          a = Slice(*a, parts[0], parts[1], parts[2]);
        } else {
          if (!parts[0]) return Syntax("expected an index");
          a = Index(*a, *parts[0]);
        }
      } else {
        break;
      }
    }
    return a;
  }

  StatusOr<Value> Atom() {
    const Token& t = t_[i_];
    if (t.type == Token::kNumber) {
      ++i_;
      std::string digits;
      for (char c : t.text) {
        if (c != '_') digits += c;
      }
      if (digits.size() > 2 && digits[0] == '0' && std::strchr("xXoObB", digits[1]) != nullptr) {
        const int base = digits[1] == 'x' || digits[1] == 'X' ? 16 : digits[1] == 'o' || digits[1] == 'O' ? 8 : 2;
        errno = 0;
        char* end = nullptr;
        unsigned long long u = std::strtoull(digits.c_str() + 2, &end, base);
        if (end != digits.c_str() + digits.size() || digits[2] == '-' || digits[2] == '+') {
          return Syntax("invalid number '" + t.text + "'");
        }
        if (errno == ERANGE || u > static_cast<unsigned long long>(INT64_MAX)) {
          if (skip_) return Value::None();  // a branch not taken
          return Status::InvalidArgument("OverflowError: '" + t.text + "' does not fit in 64 bits");
        }
        return Value::Int(static_cast<int64_t>(u));
      }
      Value v = ParseRendered(digits);
      if (v.kind != K::kInt && v.kind != K::kFloat) return Syntax("invalid number '" + t.text + "'");
      // Printed as Python would print the value, not as typed (2.5e3 -> 2500.0).
      if (v.kind == K::kFloat) v.text = FloatRepr(v.real);
      if (v.kind == K::kInt && !v.big_int) v.text = std::to_string(v.integer);
      return v;
    }
    if (t.type == Token::kString) {
      ++i_;
      Value v = ParseRendered(t.text);
      if (v.kind != K::kStr) return Syntax("invalid string literal");
      v.text.clear();
      v.text = Repr(v);
      return v;
    }
    if (IsOp("(") || IsOp("[")) {
      const bool list = IsOp("[");
      const char* close = list ? "]" : ")";
      ++i_;
      Value display;
      display.kind = list ? K::kList : K::kTuple;
      if (IsOp(close)) {  // () or []
        ++i_;
        return display;
      }
      auto v = Conditional();
      if (!v.ok()) return v;
      if (!list && !IsOp(",")) {  // parentheses around one value
        if (!IsOp(")")) return Syntax("expected ')'");
        ++i_;
        return v;
      }
      display.items.push_back(*v);
      TRACETAPE_RETURN_IF_ERROR(DisplayItems(close, &display.items));
      if (!IsOp(close)) return Syntax(std::string("expected '") + close + "'");
      ++i_;
      return display;
    }
    if (t.type == Token::kName) {
      std::string name = t.text;
      static const char* kKeywords[] = {"and", "or", "not", "in", "is", "if", "else", "elif", "lambda", "for",
                                        "while", "def", "class", "return", "import", "from", "as", "with", "yield",
                                        "await", "async", "del", "global", "nonlocal", "pass", "raise", "try",
                                        "except", "finally", "assert", "break", "continue"};
      for (const char* k : kKeywords) {
        if (name == k) return Syntax("invalid syntax at '" + name + "'");
      }
      ++i_;
      if (name == "None") return Value::None();
      if (name == "True") return Value::Bool(true);
      if (name == "False") return Value::Bool(false);
      if (name == "len" && IsOp("(")) {
        ++i_;
        auto v = Conditional();
        if (!v.ok()) return v;
        if (!IsOp(")")) return Syntax("expected ')'");
        ++i_;
        if (skip_) return Value::None();
        switch (v->kind) {
          case K::kStr:
          case K::kBytes:
            if (v->truncated) return Status::InvalidArgument("ValueError: the string was cut by the recorder's bounds");
            return Value::Int(static_cast<int64_t>(v->kind == K::kStr ? CodePointStarts(v->str).size() : v->str.size()));
          case K::kList:
          case K::kTuple:
          case K::kSet:
            if (!v->items.empty() && v->items.back().kind == K::kEllipsis) {
              return Status::InvalidArgument("ValueError: the container was cut by the recorder's bounds");
            }
            return Value::Int(static_cast<int64_t>(v->items.size()));
          case K::kDict:
            if (v->truncated || !v->items.empty()) {
              return Status::InvalidArgument("ValueError: the dict was cut by the recorder's bounds");
            }
            return Value::Int(static_cast<int64_t>(v->entries.size()));
          case K::kObject:
            // deque([...]): its items' length; range(START, STOP[, STEP]) computed.
            if (v->str == "deque" && !v->items.empty() && v->items[0].kind == K::kList) {
              const Value& items = v->items[0];
              if (!items.items.empty() && items.items.back().kind == K::kEllipsis) {
                return Status::InvalidArgument("ValueError: the container was cut by the recorder's bounds");
              }
              return Value::Int(static_cast<int64_t>(items.items.size()));
            }
            if (v->str == "range" && (v->items.size() == 2 || v->items.size() == 3) && v->attrs.empty()) {
              int64_t b[3] = {0, 0, 1};
              for (size_t k = 0; k < v->items.size(); ++k) {
                if (v->items[k].kind != K::kInt || v->items[k].big_int) {
                  return Status::InvalidArgument("OverflowError: a range past 64 bits");
                }
                b[k] = v->items[k].integer;
              }
              if (b[2] == 0) break;
              __int128 span = b[2] > 0 ? static_cast<__int128>(b[1]) - b[0] : static_cast<__int128>(b[0]) - b[1];
              __int128 step = b[2] > 0 ? b[2] : -static_cast<__int128>(b[2]);
              return Value::Int(span <= 0 ? 0 : static_cast<int64_t>((span + step - 1) / step));
            }
            break;
          default:
            break;
        }
        return Status(Type("object of type '" + KindName(*v) + "' has no len() that replay can compute"));
      }
      if (IsOp("(")) return Status::InvalidArgument("calls are not available in replay: the program is not running");
      if (skip_) return Value::None();
      if (!lookup_ || !*lookup_) return Status::InvalidArgument("NameError: name '" + name + "' is not defined");
      auto v = (*lookup_)(name);
      if (!v) return Status::InvalidArgument("NameError: name '" + name + "' was not captured at this event");
      return *v;
    }
    if (t.type == Token::kEnd) return Syntax("unexpected end of expression");
    return Syntax("unexpected '" + t.text + "'");
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  const NameLookup* lookup_;
};

}  // namespace

StatusOr<Value> Evaluate(const std::string& expression, const NameLookup& lookup) {
  // The whole expression's syntax first, as Python compiles before it runs:
  // `a = 1` is a SyntaxError, not a NameError for `a`.
  TRACETAPE_RETURN_IF_ERROR(CheckSyntax(expression));
  std::vector<Token> tokens;
  TRACETAPE_RETURN_IF_ERROR(Lexer(expression).Run(&tokens));
  return Evaluator(std::move(tokens), &lookup).Top();
}

Status CheckSyntax(const std::string& expression) {
  std::vector<Token> tokens;
  TRACETAPE_RETURN_IF_ERROR(Lexer(expression).Run(&tokens));
  NameLookup any = [](const std::string&) { return std::optional<Value>(Value::None()); };
  // Parsed with nothing evaluated (as a branch not taken): only the syntax
  // can fail, and the whole expression is checked.
  auto v = Evaluator(std::move(tokens), &any, /*syntax_only=*/true).Top();
  if (!v.ok() && v.status().message().rfind("SyntaxError", 0) == 0) return v.status();
  return Status::Ok();
}

}  // namespace tracetape::replayer
