#include "tracetape/replayer/timeline.h"

namespace tracetape::replayer {

ChunkWalker::ChunkWalker(const DecodedChunk& chunk) : chunk_(chunk) {
  for (const auto& [thread, frames] : chunk.start_state) {
    auto& stack = stacks_[thread];
    for (const auto& f : frames) stack.push_back(LiveFrame{&chunk.codes.at(f.code), f.line, f.locals});
  }
}

Status ChunkWalker::Step(EventState* out) {
  if (pop_pending_) {
    stacks_[pop_thread_].pop_back();
    pop_pending_ = false;
  }
  if (next_ >= chunk_.size()) return Status::InvalidArgument("no more events in this chunk");
  size_t i = next_++;
  uint32_t thread = chunk_.thread[i];
  auto kind = static_cast<EventKind>(chunk_.kind[i]);
  auto& stack = stacks_[thread];
  if (kind == EventKind::kCall) {
    stack.push_back(LiveFrame{&chunk_.codes.at(chunk_.call_code[i]), chunk_.line[i], {}});
  } else if (stack.empty()) {
    return Status::Corrupt("event " + std::to_string(chunk_.first_event + i) + " (" + EventKindName(kind) +
                           ") has no frame on thread " + std::to_string(thread));
  }
  LiveFrame& frame = stack.back();
  frame.line = chunk_.line[i];
  for (uint32_t d = chunk_.delta_begin[i]; d < chunk_.delta_begin[i + 1]; ++d) {
    const Binding& b = chunk_.deltas[d];
    bool found = false;
    for (auto it = frame.locals.begin(); it != frame.locals.end(); ++it) {
      if (it->name == b.name) {  // names are interned once per chunk
        if (b.value == kUnbound) {
          frame.locals.erase(it);
        } else {
          it->value = b.value;
        }
        found = true;
        break;
      }
    }
    if (!found && b.value != kUnbound) frame.locals.push_back(b);
  }
  out->index = chunk_.first_event + i;
  out->thread = thread;
  out->kind = kind;
  out->code = frame.code;
  out->line = frame.line;
  out->depth = static_cast<uint32_t>(stack.size());
  out->frame = &frame;
  out->value = chunk_.value[i];
  out->deltas = chunk_.deltas.data() + chunk_.delta_begin[i];
  out->ndeltas = chunk_.delta_begin[i + 1] - chunk_.delta_begin[i];
  if (kind == EventKind::kReturn) {
    pop_pending_ = true;
    pop_thread_ = thread;
  }
  return Status::Ok();
}

}  // namespace tracetape::replayer
