// A set of 64-bit keys for the writer's per-chunk summaries: an insert per
// event must cost a few instructions (a std::set insert was the writer's
// largest single cost), and the keys are read once, sorted, when the chunk
// is sealed. Open addressing, linear probing, kept at most half full.
#ifndef TRACETAPE_RECORDER_KEY_SET_H_
#define TRACETAPE_RECORDER_KEY_SET_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tracetape::recorder {

class KeySet {
 public:
  KeySet() : table_(kMinCapacity, kEmpty) {}

  void insert(uint64_t key) {
    // Runs of one key (a loop's line, one thread) stop here, inline. last_
    // is kEmpty only before the first insert, where the slow path decides.
    if (key == last_ && key != kEmpty) return;
    InsertSlow(key);
  }

  bool contains(uint64_t key) const {
    if (key == kEmpty) return has_empty_key_;
    size_t mask = table_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      if (table_[i] == key) return true;
      if (table_[i] == kEmpty) return false;
    }
  }

  size_t size() const { return size_ + (has_empty_key_ ? 1 : 0); }

  void clear() {
    if (size_ == 0 && !has_empty_key_) return;
    // A table that grew for one busy chunk shrinks back, so that clearing
    // stays proportional to what the next chunk uses.
    if (table_.size() > 4 * kMinCapacity && size_ * 8 < table_.size()) {
      table_.assign(kMinCapacity, kEmpty);
    } else {
      std::fill(table_.begin(), table_.end(), kEmpty);
    }
    size_ = 0;
    has_empty_key_ = false;
    last_ = kEmpty;
  }

  // The keys in ascending order.
  template <typename T>
  std::vector<T> Sorted() const {
    std::vector<T> out;
    out.reserve(size());
    for (uint64_t k : table_) {
      if (k != kEmpty) out.push_back(static_cast<T>(k));
    }
    if (has_empty_key_) out.push_back(static_cast<T>(kEmpty));
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static constexpr size_t kMinCapacity = 64;

  static size_t Hash(uint64_t key) {
    // Fibonacci hashing, high bits folded down: code ids and line numbers
    // are small and dense.
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }

  __attribute__((noinline)) void InsertSlow(uint64_t key) {
    if (key == kEmpty) {
      has_empty_key_ = true;
      return;
    }
    size_t mask = table_.size() - 1;
    for (size_t i = Hash(key) & mask;; i = (i + 1) & mask) {
      if (table_[i] == key) {
        last_ = key;
        return;
      }
      if (table_[i] == kEmpty) {
        table_[i] = key;
        last_ = key;
        if (++size_ * 2 > table_.size()) Grow();
        return;
      }
    }
  }

  void Grow() {
    std::vector<uint64_t> old(table_.size() * 2, kEmpty);
    old.swap(table_);
    size_t mask = table_.size() - 1;
    for (uint64_t k : old) {
      if (k == kEmpty) continue;
      size_t i = Hash(k) & mask;
      while (table_[i] != kEmpty) i = (i + 1) & mask;
      table_[i] = k;
    }
  }

  std::vector<uint64_t> table_;
  size_t size_ = 0;
  bool has_empty_key_ = false;
  uint64_t last_ = kEmpty;  // the last key inserted, if not kEmpty
};

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_KEY_SET_H_
