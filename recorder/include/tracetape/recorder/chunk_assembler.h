// Turns the hook's raw records into self-contained tape chunks. Runs on the
// writer thread, never touches Python.
//
// It keeps a mirror of every recorded thread's call stack and each frame's
// locals, so that every chunk can start with a full checkpoint (start_state)
// and carry only deltas after it.
#ifndef TRACETAPE_RECORDER_CHUNK_ASSEMBLER_H_
#define TRACETAPE_RECORDER_CHUNK_ASSEMBLER_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "tracetape/format/status.h"
#include "tracetape/recorder/key_set.h"
#include "tracetape/recorder/raw_records.h"

namespace tracetape::recorder {

// Event kinds on tape; values are fixed by schema/tape.fbs.
enum class EventKind : uint8_t { kCall = 0, kLine = 1, kReturn = 2, kException = 3 };

struct ThreadInfo {
  uint32_t index = 0;
  uint64_t ident = 0;
  std::string name;
};

struct FileInfo {
  uint32_t id = 0;
  std::string path;
  std::string source_override;  // non-empty: embed this instead of reading path
};

class ChunkAssembler {
 public:
  struct Limits {
    size_t max_events = 65536;   // events per chunk
    size_t max_bytes = 1u << 20; // approximate encoded bytes per chunk
    // Approximate bytes of the chunk as the reader decodes it: strings at
    // full length (an edit of an earlier value is small on tape but not in
    // the reader), 12 per event. This, not max_bytes, is what bounds a goto's
    // work in the replayer; 1 MiB keeps chunks as they were in format 1.
    size_t max_string_bytes = 1u << 20;
  };
  ChunkAssembler() : ChunkAssembler(Limits()) {}
  explicit ChunkAssembler(Limits limits);

  // Applies one raw record (RawHeader included). A malformed record is an
  // internal error of the recorder, reported, never undefined behaviour.
  Status Apply(const uint8_t* record, size_t size) {
    // Events, nearly every record, straight to ApplyEvent (inline: without
    // ApplyRecord's frame, which the definitions' cases need).
    if (size >= sizeof(RawHeader)) {
      RawHeader h;
      std::memcpy(&h, record, sizeof(h));
      if (h.tag == static_cast<uint8_t>(RawTag::kEvent)) return ApplyEvent(record, size, /*adopt=*/false);
    }
    return ApplyRecord(record, size);
  }

  // True when a record must start a new chunk (an adopted frame changes the
  // checkpoint, which only a chunk boundary can express).
  bool NeedsBoundaryBefore(const uint8_t* record, size_t size) const {
    // Inline: asked before every record. An adoption or an unwind starts a
    // chunk (it changes the checkpoint); nothing else does. (The thread
    // index column is 16 bits wide; the hook stops numbering at 65535.)
    if (size < sizeof(RawHeader)) return false;
    RawHeader h;
    std::memcpy(&h, record, sizeof(h));
    if (h.tag == static_cast<uint8_t>(RawTag::kAdopt) || h.tag == static_cast<uint8_t>(RawTag::kUnwind) ||
        h.tag == static_cast<uint8_t>(RawTag::kDetach)) {
      return !Empty();
    }
    return false;
  }

  bool Full() const {
    return kinds_.size() >= limits_.max_events || approx_bytes_ >= bytes_capacity_ ||
           string_bytes_ >= string_capacity_;
  }
  bool Empty() const { return kinds_.empty(); }
  size_t pending_events() const { return kinds_.size(); }

  // Serialises the current chunk as a FlatBuffer and starts the next one,
  // whose checkpoint is the mirror's present state.
  std::string Seal();

  std::vector<FileInfo> TakeNewFiles();

  // What the last sealed chunk contains (for the footer's summaries).
  struct Summary {
    std::vector<uint64_t> line_keys;  // sorted (code << 32) | line
    std::vector<uint32_t> call_codes; // sorted
  };
  const Summary& last_summary() const { return last_summary_; }

  // Every code and file defined so far, for the footer.
  struct CodeDef {
    uint32_t id;
    uint32_t file;
    int32_t first_line;
    const std::string* name;
    const std::string* qualname;
    const std::vector<std::string>* args;
  };
  std::vector<CodeDef> AllCodes() const;
  std::vector<std::pair<uint32_t, std::string>> AllFiles() const;

  uint64_t total_events() const { return first_event_ + kinds_.size(); }
  uint64_t dropped_events() const { return dropped_total_; }
  uint64_t chunks_sealed() const { return seq_; }
  const std::map<uint32_t, ThreadInfo>& threads() const { return threads_; }

 private:
  struct Local {
    uint32_t name = 0;  // name id
    std::string value;  // rendered
    // The id of `value` in the string table of chunk `sid_chunk` (it was
    // interned there): a change is stored as an edit of it without
    // hashing the old value again to find it.
    uint32_t sid = 0;
    uint64_t sid_chunk = ~uint64_t{0};
    // `value` is out of date: the text is strings_[sid] (sid_chunk is this
    // chunk), not copied at each change; MaterializeLocals copies it before
    // the table is let go. Only while the chunk has events.
    bool stale = false;
  };
  struct Frame {
    uint32_t code = 0;
    int32_t line = 0;
    std::vector<Local> locals;
  };
  struct CodeInfo {
    uint32_t file = 0;
    int32_t first_line = 0;
    std::string name;
    std::string qualname;
    std::vector<std::string> args;
  };

  Status ApplyEvent(const uint8_t* record, size_t size, bool adopt);
  Status ApplyRecord(const uint8_t* record, size_t size);  // any record: Apply
  // Intern() of the text of an int the hook sent as a word, remembered by
  // value (the same ints recur: arguments, counters, return values).
  uint32_t InternInt(int64_t word, uint32_t base);
  static void SetLocal(Frame* frame, uint32_t name, std::string_view value, bool unbound);
  static constexpr uint32_t kNoBase = 0xffffffffu;
  // `base`: the id of a string `s` is likely a small edit of, or kNoBase.
  uint32_t Intern(std::string_view s, uint32_t base);
  uint32_t Lookup(std::string_view s) const;  // kNoBase if not interned
  void InternCheckpoint();
  uint32_t InternName(uint32_t name_id);
  void BeginChunk();

  Limits limits_;
  // Definitions, for the whole recording.
  std::map<uint32_t, ThreadInfo> threads_;
  std::unordered_map<uint32_t, FileInfo> files_;
  std::unordered_map<uint32_t, CodeInfo> codes_;
  std::unordered_map<uint32_t, std::string> names_;
  std::vector<FileInfo> new_files_;
  // Mirror of the recorded program's state.
  // Writes the stale locals' texts back into them (Local::stale).
  void MaterializeLocals();
  std::map<uint32_t, std::vector<Frame>> stacks_;
  // Emptied locals of returned frames, for the next calls.
  static constexpr size_t kMaxSpareLocals = 256;
  std::vector<std::vector<Local>> spare_locals_;

  // The chunk under construction.
  uint64_t seq_ = 0;
  uint64_t first_event_ = 0;
  uint64_t dropped_before_ = 0;
  uint64_t dropped_total_ = 0;
  std::map<uint32_t, uint32_t> detached_;  // thread -> frames detached before this chunk
  size_t approx_bytes_ = 0;   // encoded
  size_t string_bytes_ = 0;   // decoded string table
  uint32_t checkpoint_strings_ = 0;  // strings_[0, this) are the checkpoint's
  // What approx_bytes_ and string_bytes_ may reach before the chunk is full,
  // from the limits and the checkpoint's own size (see Full).
  size_t bytes_capacity_ = 0;
  size_t string_capacity_ = 0;
  std::string string_data_;  // strings_, packed (format::PackString)
  std::map<uint32_t, std::vector<Frame>> start_state_;
  std::vector<std::string> strings_;
  // Which table strings_ is: bumped when it is cleared, so that the ids
  // int_strings_ remembers from an earlier one are not taken for its.
  uint32_t strings_gen_ = 1;
  struct IntString {
    int64_t word = 0;
    uint32_t sid = 0;
    uint32_t gen = 0;  // strings_gen_ when remembered; 0: never
  };
  static constexpr size_t kIntStrings = 256;  // direct-mapped
  IntString int_strings_[kIntStrings] = {};
  // strings_ by content: open addressing over string ids (kNoBase: empty),
  // with each string's hash kept beside it; no node or key copy per string.
  std::vector<uint32_t> string_slots_;
  std::vector<uint64_t> string_hashes_;  // parallel to strings_
  uint32_t FindString(std::string_view s, uint64_t hash) const;
  void IndexString(uint32_t id, uint64_t hash);
  // name id -> chunk string id (kNoBase: not yet in this chunk); the ids
  // the hook gives are dense, the rare large one goes to the map.
  static constexpr uint32_t kDenseNames = 1u << 16;
  std::vector<uint32_t> name_sids_;
  std::unordered_map<uint32_t, uint32_t> name_string_ids_;
  KeySet codes_used_;
  KeySet line_keys_;      // (code << 32) | line
  KeySet call_codes_set_;
  Summary last_summary_;
  KeySet threads_used_;
  // Per event: whether a code id is defined (ids are dense), and the stack of
  // the last event's thread (std::map nodes do not move).
  std::vector<bool> code_defined_;
  uint32_t last_thread_ = 0;
  std::vector<Frame>* last_stack_ = nullptr;
  std::vector<uint8_t> kinds_;
  std::vector<uint16_t> event_threads_;
  std::vector<int32_t> lines_;
  std::vector<uint32_t> call_codes_;
  std::vector<uint32_t> delta_events_;
  std::vector<std::pair<uint32_t, uint32_t>> delta_bindings_;
  std::vector<uint32_t> value_events_;
  std::vector<uint32_t> value_strings_;
};

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_CHUNK_ASSEMBLER_H_
