#include "tracetape/replayer/expr.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
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
        while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '.' ||
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
        static const char* kOps[] = {"==", "!=", "<=", ">=", "//", "<", ">", "+", "-", "*", "/", "%",
                                     "(", ")", "[", "]", ".", ","};
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
  Evaluator(std::vector<Token> tokens, const NameLookup* lookup) : t_(std::move(tokens)), lookup_(lookup) {}

  StatusOr<Value> Top() {
    auto v = Or();
    if (!v.ok()) return v;
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
    switch (container.kind) {
      case K::kList:
      case K::kTuple:
      case K::kSet:
        for (const auto& x : container.items) {
          if (ValuesEqual(x, item)) return true;
        }
        return false;
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
      bool r;
      if (op == "==" || op == "!=") {
        r = ValuesEqual(left, *b) == (op == "==");
      } else if (op == "in" || op == "not in") {
        auto c = Contains(*b, left);
        if (!c.ok()) return c.status();
        r = *c == (op == "in");
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

  StatusOr<Value> Arith(const std::string& op, const Value& a, const Value& b) {
    if (skip_) return Value::None();
    if (op == "+" && a.kind == K::kStr && b.kind == K::kStr) return Value::Str(a.str + b.str);
    if (!Numeric(a) || !Numeric(b)) {
      return Status(Type("unsupported operand type(s) for " + op + ": '" + KindName(a) + "' and '" + KindName(b) + "'"));
    }
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
    if (IsOp("-")) {
      ++i_;
      auto a = Unary();
      if (!a.ok()) return a;
      return Arith("-", Value::Int(0), *a);
    }
    return Postfix();
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
        auto key = Or();
        if (!key.ok()) return key;
        if (!IsOp("]")) return Syntax("expected ']'");
        ++i_;
        a = Index(*a, *key);
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
      Value v = ParseRendered(t.text);
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
    if (IsOp("(")) {
      ++i_;
      auto v = Or();
      if (!v.ok()) return v;
      if (!IsOp(")")) return Syntax("expected ')'");
      ++i_;
      return v;
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
        auto v = Or();
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
          default:
            return Status(Type("object of type '" + KindName(*v) + "' has no len()"));
        }
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
  std::vector<Token> tokens;
  TRACETAPE_RETURN_IF_ERROR(Lexer(expression).Run(&tokens));
  return Evaluator(std::move(tokens), &lookup).Top();
}

Status CheckSyntax(const std::string& expression) {
  std::vector<Token> tokens;
  TRACETAPE_RETURN_IF_ERROR(Lexer(expression).Run(&tokens));
  NameLookup any = [](const std::string&) { return std::optional<Value>(Value::None()); };
  auto v = Evaluator(std::move(tokens), &any).Top();
  if (!v.ok() && v.status().message().rfind("SyntaxError", 0) == 0) return v.status();
  return Status::Ok();
}

}  // namespace tracetape::replayer
