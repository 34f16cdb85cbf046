// Reconstructs the program's state event by event: each thread's stack of
// recorded frames with their locals, from a chunk's checkpoint and deltas.
#ifndef TRACETAPE_REPLAYER_TIMELINE_H_
#define TRACETAPE_REPLAYER_TIMELINE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tracetape/replayer/tape.h"

namespace tracetape::replayer {

struct LiveFrame {
  const CodeDef* code = nullptr;
  int32_t line = 0;
  std::vector<Binding> locals;  // insertion order; chunk string ids
};

// The state after one event, as seen from that event's thread.
struct EventState {
  uint64_t index = 0;
  uint32_t thread = 0;
  EventKind kind = EventKind::kLine;
  const CodeDef* code = nullptr;
  int32_t line = 0;
  uint32_t depth = 0;           // recorded frames on the stack, this one included
  const LiveFrame* frame = nullptr;
  uint32_t value = kNoValue;    // chunk string id
  const Binding* deltas = nullptr;  // the bindings this event changed
  size_t ndeltas = 0;
};

// Walks one decoded chunk. The chunk must outlive the walker.
class ChunkWalker {
 public:
  explicit ChunkWalker(const DecodedChunk& chunk);
  bool HasNext() const { return next_ < chunk_.size(); }
  size_t position() const { return next_; }
  // Applies the next event. Corrupt if the event contradicts the stack (a
  // return with no frame, for instance).
  Status Step(EventState* out);
  const std::map<uint32_t, std::vector<LiveFrame>>& stacks() const { return stacks_; }
  const std::string& str(uint32_t id) const { return chunk_.strings[id]; }

 private:
  const DecodedChunk& chunk_;
  size_t next_ = 0;
  size_t next_call_ = 0;
  bool pop_pending_ = false;
  uint32_t pop_thread_ = 0;
  std::map<uint32_t, std::vector<LiveFrame>> stacks_;
};

}  // namespace tracetape::replayer

#endif  // TRACETAPE_REPLAYER_TIMELINE_H_
